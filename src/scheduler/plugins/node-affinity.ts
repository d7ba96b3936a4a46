/**
 * NodeAffinity filters on the pod's nodeSelector and required node affinity, and scores nodes by
 * the summed weights of the preferred terms they match.
 */
import type { FilterPlugin, PreFilterPlugin, PreScorePlugin, ScorePlugin } from '../interfaces.ts';
import { maxNodeScore } from '../interfaces.ts';
import type { NodeInfo } from '../node-info.ts';
import { nodeMatchesTerm, type PodInfo } from '../pod-info.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

/** True when `node` satisfies the pod's nodeSelector and required node affinity. */
export function matchesNodeSelectorAndAffinity(pod: PodInfo, node: NodeInfo): boolean {
  for (const [k, v] of pod.nodeSelector) if (node.labels[k] !== v) return false;
  if (pod.requiredNodeTerms) {
    let any = false;
    for (const term of pod.requiredNodeTerms) {
      if (nodeMatchesTerm(term, node.name, node.labels)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

export function nodeAffinity(rawArgs: Record<string, unknown> = {}): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin {
  checkKeys(rawArgs, [], 'NodeAffinity args');
  return {
    name: 'NodeAffinity',
    nodeOnly: true,
    preFilter(_state, pod) {
      return pod.nodeSelector.length === 0 && pod.requiredNodeTerms === null ? Status.skip : Status.success;
    },
    filter(_state, pod, node) {
      return matchesNodeSelectorAndAffinity(pod, node) ? Status.success : Status.unresolvable("node(s) didn't match Pod's node affinity/selector");
    },
    preScore(_state, pod) {
      return pod.preferredNodeTerms.length === 0 ? Status.skip : Status.success;
    },
    score(_state, pod, node) {
      let sum = 0;
      for (const p of pod.preferredNodeTerms) if (nodeMatchesTerm(p.term, node.name, node.labels)) sum += p.weight;
      return sum;
    },
    normalizeScore(_state, _pod, scores, count) {
      let max = 0;
      for (let i = 0; i < count; i++) if (scores[i]! > max) max = scores[i]!;
      if (max === 0) return;
      for (let i = 0; i < count; i++) scores[i] = (scores[i]! * maxNodeScore) / max;
    },
  } satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin;
}
