/**
 * How many more replicas of a given shape a cluster can take. The default estimator prefers the
 * cluster's own answer (status.resourceModel, from its scheduler's what-if: node-aware) when a
 * shape matches the replica exactly, and otherwise does arithmetic on the cluster totals:
 * (allocatable - allocated) / request for every requested resource and free pods, the minimum
 * over them, and GPUs of the required model from status.gpus. Arithmetic on totals ignores
 * fragmentation across nodes, so it is an upper bound; shapes are exact.
 */
import type { ClusterInfo, ResourceShape } from './cluster-info.ts';
import { gpuResource } from './cluster-info.ts';
import type { GpuRequirement, ReplicaRequirements } from './requirements.ts';

/** Replicas a cluster can take; a non-negative integer, at most `unlimitedReplicas`. */
export type ReplicaEstimator = (cluster: ClusterInfo, requirements: ReplicaRequirements) => number;

/** What an estimate is when nothing limits it (a replica that requests nothing on a cluster without a pod limit). */
export const unlimitedReplicas = 2 ** 31 - 1;

/**
 * The name of the resource-model shape that says how many replicas needing `count` GPUs (of
 * `model`, when given) on one node the cluster can take: `gpu-4` or `gpu-4-A100-40GB`. Cluster
 * status writers publish such shapes; the GPU filter and the estimator read them.
 */
export function gpuShapeName(count: number, model?: string): string {
  return model ? `gpu-${count}-${model}` : `gpu-${count}`;
}

const epsilon = 1e-9;

function sameShape(shape: ResourceShape, resources: Readonly<Record<string, number>>): boolean {
  for (const key in shape.requests) {
    const want = resources[key] ?? 0;
    if (Math.abs(shape.requests[key]! - want) > epsilon * Math.max(1, want)) return false;
  }
  for (const key in resources) {
    if (resources[key]! > 0 && shape.requests[key] === undefined) return false;
  }
  return true;
}

/**
 * Replicas needing `gpu` a cluster can take by its GPUs alone: the `gpuShapeName` shape when
 * published (node-aware), else the free GPUs of the model (any model when none is named) divided
 * by the count, else the free `nvidia.com/gpu` of the totals when no model is named.
 */
export function gpuReplicas(cluster: ClusterInfo, gpu: GpuRequirement): number {
  const shapeName = gpuShapeName(gpu.count, gpu.model);
  for (const shape of cluster.resourceModel) if (shape.name === shapeName) return shape.maxReplicas;
  if (gpu.model !== undefined) {
    const g = cluster.gpus[gpu.model];
    return g ? Math.max(0, Math.floor((g.allocatable - g.allocated) / gpu.count)) : 0;
  }
  let total = 0;
  let any = false;
  for (const model in cluster.gpus) {
    const g = cluster.gpus[model]!;
    any = true;
    total += Math.max(0, Math.floor((g.allocatable - g.allocated) / gpu.count));
  }
  if (any) return total;
  const allocatable = cluster.allocatable?.[gpuResource] ?? 0;
  return Math.max(0, Math.floor((allocatable - (cluster.allocated[gpuResource] ?? 0)) / gpu.count + epsilon));
}

/** The default ReplicaEstimator; 0 for a cluster that reports no allocatable resources. */
export const defaultReplicaEstimator: ReplicaEstimator = (cluster, requirements) => {
  const resources = requirements.resources;
  for (const shape of cluster.resourceModel) {
    if (sameShape(shape, resources)) return Math.min(shape.maxReplicas, unlimitedReplicas);
  }
  const allocatable = cluster.allocatable;
  if (!allocatable) return 0;
  let bound = unlimitedReplicas;
  for (const key in resources) {
    const request = resources[key]!;
    if (request <= 0 || key === gpuResource) continue;
    const total = allocatable[key];
    if (total === undefined) return 0;
    const free = total - (cluster.allocated[key] ?? 0);
    bound = Math.min(bound, Math.floor(free / request + epsilon));
  }
  const pods = allocatable.pods;
  if (pods !== undefined) bound = Math.min(bound, Math.floor(pods - (cluster.allocated.pods ?? 0)));
  if (requirements.gpu) bound = Math.min(bound, gpuReplicas(cluster, requirements.gpu));
  return Math.max(0, bound);
};
