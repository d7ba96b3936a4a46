/**
 * Fluent fixtures for scheduler tests and benchmarks: `makePod().name('a').requests({ cpu: '500m' }).obj()`,
 * `makeNode().name('n1').capacity({ cpu: '4', memory: '8Gi' }).obj()`.
 */
import type { KubeObject } from '../machinery/object.ts';

type Json = Record<string, unknown>;

export class PodBuilder {
  #pod: KubeObject & { spec: Json } = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pod', namespace: 'default', uid: '' }, spec: { containers: [{ name: 'c', image: 'pause' }] } };

  #container(): Json {
    return (this.#pod.spec.containers as Json[])[0]!;
  }

  name(name: string): this {
    this.#pod.metadata.name = name;
    this.#pod.metadata.uid = `uid-${name}`;
    return this;
  }

  namespace(ns: string): this {
    this.#pod.metadata.namespace = ns;
    return this;
  }

  labels(labels: Record<string, string>): this {
    this.#pod.metadata.labels = { ...this.#pod.metadata.labels, ...labels };
    return this;
  }

  annotations(annotations: Record<string, string>): this {
    this.#pod.metadata.annotations = { ...this.#pod.metadata.annotations, ...annotations };
    return this;
  }

  requests(requests: Record<string, string | number>): this {
    const c = this.#container();
    c.resources = { ...(c.resources as Json), requests: { ...((c.resources as Json)?.requests as Json), ...requests } };
    return this;
  }

  limits(limits: Record<string, string | number>): this {
    const c = this.#container();
    c.resources = { ...(c.resources as Json), limits: { ...((c.resources as Json)?.limits as Json), ...limits } };
    return this;
  }

  /** Requests equal to limits: a Guaranteed pod. */
  guaranteed(resources: Record<string, string | number>): this {
    return this.requests(resources).limits(resources);
  }

  hostPort(port: number, protocol = 'TCP'): this {
    const c = this.#container();
    c.ports = [...((c.ports as Json[]) ?? []), { containerPort: port, hostPort: port, protocol }];
    return this;
  }

  priority(priority: number): this {
    this.#pod.spec.priority = priority;
    return this;
  }

  preemptionPolicy(policy: 'Never' | 'PreemptLowerPriority'): this {
    this.#pod.spec.preemptionPolicy = policy;
    return this;
  }

  node(nodeName: string): this {
    this.#pod.spec.nodeName = nodeName;
    return this;
  }

  schedulerName(name: string): this {
    this.#pod.spec.schedulerName = name;
    return this;
  }

  nodeSelector(selector: Record<string, string>): this {
    this.#pod.spec.nodeSelector = selector;
    return this;
  }

  toleration(t: Json): this {
    this.#pod.spec.tolerations = [...((this.#pod.spec.tolerations as Json[]) ?? []), t];
    return this;
  }

  #affinity(kind: string): Json {
    const affinity = ((this.#pod.spec.affinity as Json) ??= {});
    return ((affinity[kind] as Json) ??= {});
  }

  /** Required node affinity: one term with `key In values`. */
  requiredNodeAffinity(key: string, operator: string, values: string[] = []): this {
    const na = this.#affinity('nodeAffinity');
    const req = ((na.requiredDuringSchedulingIgnoredDuringExecution as Json) ??= { nodeSelectorTerms: [] });
    (req.nodeSelectorTerms as Json[]).push({ matchExpressions: [{ key, operator, values }] });
    return this;
  }

  preferredNodeAffinity(weight: number, key: string, operator: string, values: string[] = []): this {
    const na = this.#affinity('nodeAffinity');
    const list = ((na.preferredDuringSchedulingIgnoredDuringExecution as Json[]) ??= []);
    list.push({ weight, preference: { matchExpressions: [{ key, operator, values }] } });
    return this;
  }

  /** A required pod affinity (`podAffinity`) or anti-affinity (`podAntiAffinity`) term on matchLabels. */
  podAffinity(kind: 'podAffinity' | 'podAntiAffinity', matchLabels: Record<string, string>, topologyKey: string, weight?: number): this {
    const a = this.#affinity(kind);
    const term = { labelSelector: { matchLabels }, topologyKey };
    if (weight === undefined) ((a.requiredDuringSchedulingIgnoredDuringExecution as Json[]) ??= []).push(term);
    else ((a.preferredDuringSchedulingIgnoredDuringExecution as Json[]) ??= []).push({ weight, podAffinityTerm: term });
    return this;
  }

  spread(maxSkew: number, topologyKey: string, matchLabels: Record<string, string>, whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway' = 'DoNotSchedule', minDomains?: number): this {
    const list = ((this.#pod.spec.topologySpreadConstraints as Json[]) ??= []);
    list.push({ maxSkew, topologyKey, whenUnsatisfiable, labelSelector: { matchLabels }, ...(minDomains ? { minDomains } : {}) });
    return this;
  }

  startTime(iso: string): this {
    this.#pod.status = { ...(this.#pod.status as Json), startTime: iso };
    return this;
  }

  obj(): KubeObject {
    return structuredClone(this.#pod);
  }
}

export class NodeBuilder {
  #node: KubeObject & { spec: Json; status: Json } = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node', labels: {} }, spec: {}, status: { allocatable: { cpu: '4', memory: '32Gi', pods: '110' } } };

  name(name: string): this {
    this.#node.metadata.name = name;
    this.#node.metadata.labels = { ...this.#node.metadata.labels, 'kubernetes.io/hostname': name };
    return this;
  }

  labels(labels: Record<string, string>): this {
    this.#node.metadata.labels = { ...this.#node.metadata.labels, ...labels };
    return this;
  }

  annotations(annotations: Record<string, string>): this {
    this.#node.metadata.annotations = { ...this.#node.metadata.annotations, ...annotations };
    return this;
  }

  /** Sets allocatable (and capacity) amounts, merged over the defaults (4 cpu, 32Gi, 110 pods). */
  capacity(resources: Record<string, string | number>): this {
    const merged = { ...(this.#node.status.allocatable as Json), ...resources };
    this.#node.status = { ...this.#node.status, allocatable: merged, capacity: merged };
    return this;
  }

  taint(key: string, value: string, effect: 'NoSchedule' | 'NoExecute' | 'PreferNoSchedule'): this {
    this.#node.spec.taints = [...((this.#node.spec.taints as Json[]) ?? []), { key, value, effect }];
    return this;
  }

  unschedulable(): this {
    this.#node.spec.unschedulable = true;
    return this;
  }

  obj(): KubeObject {
    return structuredClone(this.#node);
  }
}

export function makePod(): PodBuilder {
  return new PodBuilder();
}

export function makeNode(): NodeBuilder {
  return new NodeBuilder();
}
