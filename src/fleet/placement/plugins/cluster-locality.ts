/**
 * ClusterLocality scores 100 for clusters in the previous decision and 0 for the rest, so that
 * nothing moves without a reason: a new cluster must beat a current one by more than this
 * plugin's weight to take its place.
 */
import type { ClusterScorePlugin } from '../interfaces.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

export function clusterLocality(args: Record<string, unknown> = {}): ClusterScorePlugin {
  checkKeys(args, [], 'ClusterLocality args');
  return {
    name: 'ClusterLocality',
    preScore(cycle) {
      return cycle.previous.size > 0 ? Status.success : Status.skip;
    },
    score(cycle, cluster) {
      return cycle.previous.has(cluster.name) ? 100 : 0;
    },
  } satisfies ClusterScorePlugin;
}
