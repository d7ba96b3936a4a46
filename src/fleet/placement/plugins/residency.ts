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
      if (!r || (r.regions === undefined && r.providers === undefined)) return Status.skip;
      cycle.data.set('Residency', new Map<string, Status>());
      return Status.success;
    },
    filter(cycle, cluster) {
      const { regions, providers } = cycle.placement.residency!;
      // One Status per offending region or provider: a large fleet shares a few.
      const statuses = cycle.data.get('Residency') as Map<string, Status>;
      if (regions !== undefined && (cluster.region === undefined || !regions.includes(cluster.region))) {
        const key = `r/${cluster.region ?? ''}`;
        let s = statuses.get(key);
        if (!s) statuses.set(key, (s = Status.unschedulable('outside the allowed regions', `region ${cluster.region ?? '(none)'} is not an allowed region [${regions.join(', ')}]`)));
        return s;
      }
      if (providers !== undefined && (cluster.provider === undefined || !providers.includes(cluster.provider))) {
        const key = `p/${cluster.provider ?? ''}`;
        let s = statuses.get(key);
        if (!s) statuses.set(key, (s = Status.unschedulable('outside the allowed providers', `provider ${cluster.provider ?? '(none)'} is not an allowed provider [${providers.join(', ')}]`)));
        return s;
      }
      return Status.success;
    },
  } satisfies ClusterFilterPlugin;
}
