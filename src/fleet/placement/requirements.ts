/**
 * What one replica of a resource template needs, read from the template and the placement:
 * the replica count (spec.replicas; 0 for kinds without one, which are not divided), the
 * per-replica requests summed over the pod's containers (an init container's requests count when
 * larger, as in Kubernetes), and the GPUs each replica needs (model and count).
 */
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject } from '../../machinery/object.ts';
import { parseQuantity } from '../../machinery/quantity.ts';
import type { PlacementSpec } from '../../api/kinds/policy.ts';
import { gpuResource, PlacementInputError } from './cluster-info.ts';

export interface GpuRequirement {
  /** The GPU model every replica needs; any model when undefined. */
  model: string | undefined;
  /** GPUs per replica, all on one node. */
  count: number;
}

export interface ReplicaRequirements {
  /** Replicas of the template; 0 when it has no spec.replicas (not divisible: every chosen cluster gets the object). */
  replicas: number;
  /** Requests of one replica in base units (cores, bytes, counts), by resource name. */
  resources: Readonly<Record<string, number>>;
  /** The GPUs one replica needs, or undefined when it needs none. */
  gpu: GpuRequirement | undefined;
}

function record(v: unknown): Record<string, unknown> {
  return isPlainObject(v) ? v : {};
}

/** The pod spec inside a template: workloads, CronJobs and bare Pods; undefined for other kinds. */
function podSpecOf(template: KubeObject): Record<string, unknown> | undefined {
  const spec = record(template.spec);
  if (template.kind === 'Pod') return spec;
  if (isPlainObject(spec.jobTemplate)) return record(record(record(spec.jobTemplate).spec).template).spec as Record<string, unknown> | undefined;
  const podTemplate = spec.template;
  return isPlainObject(podTemplate) && isPlainObject(podTemplate.spec) ? podTemplate.spec : undefined;
}

function containerRequests(container: unknown, where: string): Record<string, number> {
  const resources = record(record(container).resources);
  const requests = record(resources.requests);
  const limits = record(resources.limits);
  const out: Record<string, number> = {};
  // A limit without a request is the request, as Kubernetes defaults it.
  for (const [key, value] of Object.entries({ ...limits, ...requests })) {
    if (typeof value !== 'string' && typeof value !== 'number') throw new PlacementInputError(`${where}.resources: ${key} must be a quantity, got ${JSON.stringify(value)}`);
    try {
      out[key] = parseQuantity(value);
    } catch (err) {
      throw new PlacementInputError(`${where}.resources.${key}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** The requirements of one replica of `template` under `placement`; throws PlacementInputError on malformed input. */
export function replicaRequirements(template: KubeObject, placement: PlacementSpec): ReplicaRequirements {
  const spec = record(template.spec);
  const what = `${String(template.kind ?? 'resource')} ${template.metadata?.namespace ? `${template.metadata.namespace}/` : ''}${template.metadata?.name ?? ''}`.trim();
  let replicas = 0;
  if (spec.replicas !== undefined && spec.replicas !== null) {
    if (typeof spec.replicas !== 'number' || !Number.isInteger(spec.replicas) || spec.replicas < 0) {
      throw new PlacementInputError(`${what}: spec.replicas must be a non-negative integer, got ${JSON.stringify(spec.replicas)}`);
    }
    replicas = spec.replicas;
  }

  const resources: Record<string, number> = {};
  const podSpec = podSpecOf(template);
  if (podSpec) {
    const containers = Array.isArray(podSpec.containers) ? podSpec.containers : [];
    containers.forEach((c, i) => {
      for (const [k, v] of Object.entries(containerRequests(c, `${what}: containers[${i}]`))) resources[k] = (resources[k] ?? 0) + v;
    });
    const inits = Array.isArray(podSpec.initContainers) ? podSpec.initContainers : [];
    inits.forEach((c, i) => {
      for (const [k, v] of Object.entries(containerRequests(c, `${what}: initContainers[${i}]`))) resources[k] = Math.max(resources[k] ?? 0, v);
    });
  }

  const constraint = placement.resourceConstraints?.gpu;
  const templateGpus = resources[gpuResource] ?? 0;
  let gpu: GpuRequirement | undefined;
  if (constraint || templateGpus > 0) {
    const count = Math.max(constraint?.count ?? 0, Math.ceil(templateGpus));
    gpu = { model: constraint?.model, count };
    resources[gpuResource] = count;
  }
  return { replicas, resources, gpu };
}
