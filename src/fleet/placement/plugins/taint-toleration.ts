/**
 * TaintToleration filters out clusters with a NoSchedule or NoExecute taint that
 * placement.clusterTolerations does not tolerate. PreferNoSchedule taints do not filter.
 */
import type { ClusterTolerationSpec } from '../../../api/kinds/policy.ts';
import type { ClusterTaint } from '../cluster-info.ts';
import type { ClusterFilterPlugin } from '../interfaces.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

/** True when `toleration` tolerates `taint`, with Kubernetes' rules (empty key with Exists tolerates everything). */
export function tolerates(toleration: ClusterTolerationSpec, taint: ClusterTaint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

export function taintToleration(args: Record<string, unknown> = {}): ClusterFilterPlugin {
  checkKeys(args, [], 'TaintToleration args');
  return {
    name: 'TaintToleration',
    filter(cycle, cluster) {
      const tolerations = cycle.placement.clusterTolerations ?? [];
      for (const taint of cluster.taints) {
        if (taint.effect === 'PreferNoSchedule') continue;
        if (!tolerations.some((t) => tolerates(t, taint))) {
          return Status.unschedulable('had untolerated taints', `untolerated taint {${taint.key}${taint.value ? `=${taint.value}` : ''}:${taint.effect}}`);
        }
      }
      return Status.success;
    },
  } satisfies ClusterFilterPlugin;
}
