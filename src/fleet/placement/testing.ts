/**
 * Fluent builders of Cluster objects and workload templates for placement tests and benchmarks:
 * `makeCluster('a').region('us-east-1').capacity({ cpu: '100', memory: '400Gi' }).price(0.04).obj()`.
 * A built cluster is Ready unless `notReady` is called.
 */
import type { KubeObject } from '../../machinery/object.ts';

type Quantities = Record<string, string | number>;

export class ClusterBuilder {
  #name: string;
  #labels: Record<string, string> = {};
  #spec: Record<string, unknown> = {};
  #status: Record<string, unknown> = { conditions: [{ type: 'Ready', status: 'True' }] };

  constructor(name: string) {
    this.#name = name;
  }

  labels(labels: Record<string, string>): this {
    Object.assign(this.#labels, labels);
    return this;
  }

  provider(provider: string): this {
    this.#spec.provider = provider;
    return this;
  }

  region(region: string): this {
    this.#spec.region = region;
    return this;
  }

  zone(zone: string): this {
    this.#spec.zone = zone;
    return this;
  }

  taint(key: string, effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute', value?: string): this {
    const taints = (this.#spec.taints ??= []) as unknown[];
    taints.push({ key, effect, ...(value !== undefined ? { value } : {}) });
    return this;
  }

  /** Allocatable resources, with `allocated` already in use (default none). */
  capacity(allocatable: Quantities, allocated: Quantities = {}): this {
    this.#status.allocatable = allocatable;
    this.#status.allocated = allocated;
    return this;
  }

  gpus(model: string, allocatable: number, allocated = 0): this {
    const gpus = (this.#status.gpus ??= {}) as Record<string, unknown>;
    gpus[model] = { capacity: allocatable, allocatable, allocated };
    return this;
  }

  shape(name: string, requests: Quantities, maxReplicas: number): this {
    const model = (this.#status.resourceModel ??= []) as unknown[];
    model.push({ name, requests, maxReplicas });
    return this;
  }

  /** status.pricing.cpuCoreHourUSD (and optionally memory and GPU prices). */
  price(cpuCoreHourUSD: number, more: { memoryGiBHourUSD?: number; gpuHourUSD?: number } = {}): this {
    this.#status.pricing = { cpuCoreHourUSD, ...more };
    return this;
  }

  energy(carbonIntensityGramsPerKWh: number, pue?: number): this {
    this.#spec.energy = { carbonIntensityGramsPerKWh, ...(pue !== undefined ? { pue } : {}) };
    return this;
  }

  latency(fromUserRegions: Record<string, number>): this {
    this.#spec.latency = fromUserRegions;
    return this;
  }

  readOnly(): this {
    this.#spec.access = 'ReadOnly';
    return this;
  }

  notReady(reason = 'ClusterUnreachable', message = 'the member API server does not answer'): this {
    this.#status.conditions = [{ type: 'Ready', status: 'False', reason, message }];
    return this;
  }

  obj(): KubeObject {
    return structuredClone({
      apiVersion: 'fleet.nephele.dev/v1alpha1',
      kind: 'Cluster',
      metadata: { name: this.#name, labels: this.#labels },
      spec: this.#spec,
      status: this.#status,
    });
  }
}

export function makeCluster(name: string): ClusterBuilder {
  return new ClusterBuilder(name);
}

export class WorkloadBuilder {
  #kind = 'Deployment';
  #name = 'web';
  #replicas: number | undefined = 1;
  #requests: Quantities = {};
  #limits: Quantities = {};

  kind(kind: string): this {
    this.#kind = kind;
    return this;
  }

  name(name: string): this {
    this.#name = name;
    return this;
  }

  /** spec.replicas; undefined leaves it out (a kind that is not divided). */
  replicas(replicas: number | undefined): this {
    this.#replicas = replicas;
    return this;
  }

  requests(requests: Quantities): this {
    Object.assign(this.#requests, requests);
    return this;
  }

  limits(limits: Quantities): this {
    Object.assign(this.#limits, limits);
    return this;
  }

  obj(): KubeObject {
    const resources = { ...(Object.keys(this.#requests).length ? { requests: this.#requests } : {}), ...(Object.keys(this.#limits).length ? { limits: this.#limits } : {}) };
    return structuredClone({
      apiVersion: this.#kind === 'Job' ? 'batch/v1' : 'apps/v1',
      kind: this.#kind,
      metadata: { name: this.#name, namespace: 'default' },
      spec: {
        ...(this.#replicas !== undefined ? { replicas: this.#replicas } : {}),
        template: { spec: { containers: [{ name: 'main', image: 'registry.example/app:1', resources }] } },
      },
    });
  }
}

export function makeWorkload(): WorkloadBuilder {
  return new WorkloadBuilder();
}
