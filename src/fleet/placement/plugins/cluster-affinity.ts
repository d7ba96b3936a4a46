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
      cycle.data.set(name, compileClusterTerm(term, where));
      return Status.success;
    },
    filter(cycle, cluster) {
      const why = (cycle.data.get(name) as ClusterMatcher)(cluster);
      return why === undefined ? Status.success : Status.unschedulable('not matched by the cluster affinity', `cluster affinity: ${why}`);
    },
  } satisfies ClusterFilterPlugin;
}
