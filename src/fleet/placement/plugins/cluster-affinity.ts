/**
 * ClusterAffinity filters out the clusters the affinity term in force does not select: not among
 * clusterNames (when given), in exclude, labels not matching labelSelector, or provider, region
 * or zone not matching fieldSelector. Every given part must hold.
 */
import { compileClusterTerm, type ClusterMatcher } from '../cluster-matcher.ts';
import type { ClusterFilterPlugin } from '../interfaces.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

const name = 'ClusterAffinity';

export function clusterAffinity(args: Record<string, unknown> = {}): ClusterFilterPlugin {
  checkKeys(args, [], `${name} args`);
  return {
    name,
    preFilter(cycle) {
      const term = cycle.affinity;
      if (!term) return Status.skip;
      const where = term.affinityName !== undefined ? `placement.clusterAffinities[${term.affinityName}]` : 'placement.clusterAffinity';
      cycle.data.set(name, { match: compileClusterTerm(term, where), statuses: new Map<string, Status>() });
      return Status.success;
    },
    filter(cycle, cluster) {
      const state = cycle.data.get(name) as { match: ClusterMatcher; statuses: Map<string, Status> };
      const why = state.match(cluster);
      if (why === undefined) return Status.success;
      // Most rejections share a cause; one Status per cause keeps a large fleet's cycle from allocating per cluster.
      let status = state.statuses.get(why);
      if (!status) state.statuses.set(why, (status = Status.unschedulable('not matched by the cluster affinity', `cluster affinity: ${why}`)));
      return status;
    },
  } satisfies ClusterFilterPlugin;
}
