/**
 * ResourceConstraints filters out clusters that cannot run even one replica's GPUs: the count of
 * the model placement.resourceConstraints.gpu (or the template's nvidia.com/gpu) asks for, free on
 * one node. It reads the cluster's `gpuShapeName` resource-model shape when published (node-aware)
 * and otherwise the free GPUs of the model in status.gpus.
 */
import { gpuReplicas } from '../estimator.ts';
import type { ClusterFilterPlugin } from '../interfaces.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

export function resourceConstraints(args: Record<string, unknown> = {}): ClusterFilterPlugin {
  checkKeys(args, [], 'ResourceConstraints args');
  return {
    name: 'ResourceConstraints',
    preFilter(cycle) {
      return cycle.requirements.gpu ? Status.success : Status.skip;
    },
    filter(cycle, cluster) {
      const gpu = cycle.requirements.gpu!;
      if (gpuReplicas(cluster, gpu) >= 1) return Status.success;
      const what = `${gpu.count} free ${gpu.model ?? ''}${gpu.model ? ' ' : ''}GPU(s) on a node`;
      const has = gpu.model ? cluster.gpus[gpu.model] : undefined;
      const detail = gpu.model && !has ? `has no ${gpu.model} GPUs` : `lacks ${what}${has ? ` (${has.allocatable - has.allocated} of ${has.allocatable} free in the cluster)` : ''}`;
      return Status.unschedulable(`without ${what}`, detail);
    },
  } satisfies ClusterFilterPlugin;
}
