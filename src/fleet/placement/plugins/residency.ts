/**
 * Residency filters out clusters outside placement.residency: a region not in `regions` or a
 * provider not in `providers`. It is a hard rule for compliance: no objective can outweigh it, and
 * a cluster that does not say where it is counts as outside.
 */
import type { ClusterFilterPlugin } from '../interfaces.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

export function residency(args: Record<string, unknown> = {}): ClusterFilterPlugin {
  checkKeys(args, [], 'Residency args');
  return {
    name: 'Residency',
    preFilter(cycle) {
      const r = cycle.placement.residency;
      return r && (r.regions !== undefined || r.providers !== undefined) ? Status.success : Status.skip;
    },
    filter(cycle, cluster) {
      const { regions, providers } = cycle.placement.residency!;
      if (regions !== undefined && (cluster.region === undefined || !regions.includes(cluster.region))) {
        return Status.unschedulable('outside the allowed regions', `region ${cluster.region ?? '(none)'} is not an allowed region [${regions.join(', ')}]`);
      }
      if (providers !== undefined && (cluster.provider === undefined || !providers.includes(cluster.provider))) {
        return Status.unschedulable('outside the allowed providers', `provider ${cluster.provider ?? '(none)'} is not an allowed provider [${providers.join(', ')}]`);
      }
      return Status.success;
    },
  } satisfies ClusterFilterPlugin;
}
