/**
 * TaintToleration filters out nodes with NoSchedule or NoExecute taints the pod does not tolerate,
 * and scores nodes lower the more PreferNoSchedule taints the pod does not tolerate.
 */
import type { FilterPlugin, PreScorePlugin, ScorePlugin } from '../interfaces.ts';
import { maxNodeScore } from '../interfaces.ts';
import { tolerates, type Toleration } from '../pod-info.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

const preferKey = 'TaintToleration/prefer';

export function taintToleration(rawArgs: Record<string, unknown> = {}): FilterPlugin & PreScorePlugin & ScorePlugin {
  checkKeys(rawArgs, [], 'TaintToleration args');
  return {
    name: 'TaintToleration',
    nodeOnly: true,
    filter(_state, pod, node) {
      const taints = node.taints;
      for (let i = 0; i < taints.length; i++) {
        const taint = taints[i]!;
        if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
        let ok = false;
        for (const t of pod.tolerations) {
          if (tolerates(t, taint)) {
            ok = true;
            break;
          }
        }
        if (!ok) return Status.unresolvable(`node(s) had untolerated taint {${taint.key}: ${taint.value}}`);
      }
      return Status.success;
    },
    preScore(state, pod, nodes) {
      let anyPrefer = false;
      for (const n of nodes) {
        if (n.taints.length > 0 && n.taints.some((t) => t.effect === 'PreferNoSchedule')) {
          anyPrefer = true;
          break;
        }
      }
      if (!anyPrefer) return Status.skip;
      state.write(preferKey, pod.tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule'));
      return Status.success;
    },
    score(state, _pod, node) {
      if (node.taints.length === 0) return 0;
      const tolerations = state.read<Toleration[]>(preferKey) ?? [];
      let count = 0;
      for (const taint of node.taints) {
        if (taint.effect === 'PreferNoSchedule' && !tolerations.some((t) => tolerates(t, taint))) count++;
      }
      return count;
    },
    normalizeScore(_state, _pod, scores, count) {
      let max = 0;
      for (let i = 0; i < count; i++) if (scores[i]! > max) max = scores[i]!;
      for (let i = 0; i < count; i++) scores[i] = max === 0 ? maxNodeScore : maxNodeScore - (scores[i]! * maxNodeScore) / max;
    },
  } satisfies FilterPlugin & PreScorePlugin & ScorePlugin;
}
