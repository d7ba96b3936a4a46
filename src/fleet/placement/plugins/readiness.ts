/**
 * Readiness filters out clusters whose Ready condition is not True (False, Unknown, or not
 * reported yet), giving the condition's reason and message.
 */
import type { ClusterFilterPlugin } from '../interfaces.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

export function readiness(args: Record<string, unknown> = {}): ClusterFilterPlugin {
  checkKeys(args, [], 'Readiness args');
  return {
    name: 'Readiness',
    filter(_cycle, cluster) {
      const ready = cluster.ready;
      if (ready.status === 'True') return Status.success;
      const why = [ready.reason, ready.message].filter(Boolean).join(': ');
      return Status.unschedulable('NotReady', `Ready=${ready.status}${why ? ` (${why})` : ''}`);
    },
  } satisfies ClusterFilterPlugin;
}
