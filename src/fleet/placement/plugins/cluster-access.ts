/**
 * ClusterAccess filters out clusters registered `spec.access: ReadOnly`: they are shared with
 * another hub that owns their workloads, and this hub only observes them.
 */
import type { ClusterFilterPlugin } from '../interfaces.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

export function clusterAccess(args: Record<string, unknown> = {}): ClusterFilterPlugin {
  checkKeys(args, [], 'ClusterAccess args');
  return {
    name: 'ClusterAccess',
    filter(_cycle, cluster) {
      if (cluster.access !== 'ReadOnly') return Status.success;
      return Status.unschedulable('ReadOnly', 'the cluster is registered ReadOnly on this hub: another hub places workloads there');
    },
  } satisfies ClusterFilterPlugin;
}
