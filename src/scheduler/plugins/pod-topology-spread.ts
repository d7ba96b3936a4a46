/**
 * PodTopologySpread keeps matching pods spread across topology domains (zones, hosts). For
 * DoNotSchedule constraints it filters out nodes where placing the pod would make the domain's
 * count exceed the smallest domain's by more than maxSkew (minDomains counts missing domains as
 * empty); for ScheduleAnyway constraints it scores nodes in less crowded domains higher.
 */
import type { Snapshot } from '../cache.ts';
import type { CycleState } from '../cycle-state.ts';
import type { FilterPlugin, PreFilterPlugin, PreScorePlugin, ScorePlugin } from '../interfaces.ts';
import { maxNodeScore } from '../interfaces.ts';
import type { NodeInfo } from '../node-info.ts';
import { tolerates, type PodInfo, type SpreadConstraint } from '../pod-info.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';
import { matchesNodeSelectorAndAffinity } from './node-affinity.ts';

const filterKey = 'PodTopologySpread/filter';
const scoreKey = 'PodTopologySpread/score';

/** Matching-pod counts per domain, one map per constraint. */
class SpreadCounts {
  constraints: SpreadConstraint[];
  counts: Array<Map<string, number>>;
  minMatch: number[];

  constructor(constraints: SpreadConstraint[], counts: Array<Map<string, number>>) {
    this.constraints = constraints;
    this.counts = counts;
    this.minMatch = constraints.map(() => 0);
    this.refreshMin();
  }

  refreshMin(): void {
    for (let i = 0; i < this.constraints.length; i++) {
      const c = this.constraints[i]!;
      const counts = this.counts[i]!;
      let min = Infinity;
      for (const v of counts.values()) if (v < min) min = v;
      this.minMatch[i] = counts.size < c.minDomains || min === Infinity ? 0 : min;
    }
  }

  clone(): SpreadCounts {
    return new SpreadCounts(this.constraints, this.counts.map((m) => new Map(m)));
  }
}

function nodeCounts(pod: PodInfo, c: SpreadConstraint, node: NodeInfo): number {
  let n = 0;
  const pods = node.pods;
  for (let i = 0; i < pods.length; i++) {
    const p = pods[i]!;
    if (p.namespace === pod.namespace && !p.terminating && c.selector.matches(p.labels)) n++;
  }
  return n;
}

/** True when `node` is a domain member for `pod`'s constraints: it has every key and passes the inclusion policies. */
function eligible(pod: PodInfo, constraints: SpreadConstraint[], node: NodeInfo): boolean {
  for (const c of constraints) {
    if (node.labels[c.topologyKey] === undefined) return false;
    if (c.nodeAffinityPolicy === 'Honor' && !matchesNodeSelectorAndAffinity(pod, node)) return false;
    if (c.nodeTaintsPolicy === 'Honor') {
      for (const taint of node.taints) {
        if ((taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !pod.tolerations.some((t) => tolerates(t, taint))) return false;
      }
    }
  }
  return true;
}

function countAll(pod: PodInfo, constraints: SpreadConstraint[], nodes: readonly NodeInfo[]): SpreadCounts {
  const counts = constraints.map(() => new Map<string, number>());
  for (const node of nodes) {
    if (!eligible(pod, constraints, node)) continue;
    for (let i = 0; i < constraints.length; i++) {
      const c = constraints[i]!;
      const value = node.labels[c.topologyKey]!;
      const m = counts[i]!;
      m.set(value, (m.get(value) ?? 0) + (node.pods.length === 0 ? 0 : nodeCounts(pod, c, node)));
    }
  }
  return new SpreadCounts(constraints, counts);
}

function update(state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo, delta: number): void {
  const s = state.read<SpreadCounts>(filterKey);
  if (!s || other.namespace !== pod.namespace || !eligible(pod, s.constraints, node)) return;
  for (let i = 0; i < s.constraints.length; i++) {
    const c = s.constraints[i]!;
    if (!c.selector.matches(other.labels)) continue;
    const value = node.labels[c.topologyKey]!;
    s.counts[i]!.set(value, (s.counts[i]!.get(value) ?? 0) + delta);
  }
  s.refreshMin();
}

export function podTopologySpread(rawArgs: Record<string, unknown> = {}): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin {
  checkKeys(rawArgs, ['defaultingType', 'defaultConstraints'], 'PodTopologySpread args');
  let snapshot: Snapshot | undefined;
  return {
    name: 'PodTopologySpread',
    preFilter(state, pod, snap) {
      snapshot = snap;
      const hard = pod.spreadConstraints.filter((c) => c.whenUnsatisfiable === 'DoNotSchedule');
      if (hard.length === 0) return Status.skip;
      state.write(filterKey, countAll(pod, hard, snap.nodes));
      return Status.success;
    },
    addPod(state, pod, added, node) {
      update(state, pod, added, node, 1);
    },
    removePod(state, pod, removed, node) {
      update(state, pod, removed, node, -1);
    },
    filter(state, pod, node) {
      const s = state.read<SpreadCounts>(filterKey);
      if (!s) return Status.success;
      for (let i = 0; i < s.constraints.length; i++) {
        const c = s.constraints[i]!;
        const value = node.labels[c.topologyKey];
        if (value === undefined) return Status.unresolvable("node(s) didn't match pod topology spread constraints (missing required label)");
        const self = c.selector.matches(pod.labels) ? 1 : 0;
        const skew = (s.counts[i]!.get(value) ?? 0) + self - s.minMatch[i]!;
        if (skew > c.maxSkew) return Status.unschedulable("node(s) didn't match pod topology spread constraints");
      }
      return Status.success;
    },
    preScore(state, pod) {
      const soft = pod.spreadConstraints.filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
      if (soft.length === 0 || !snapshot) return Status.skip;
      const counts = countAll(pod, soft, snapshot.nodes);
      const weights = counts.counts.map((m) => Math.log(m.size + 2));
      state.write(scoreKey, { counts, weights });
      return Status.success;
    },
    score(state, _pod, node) {
      const s = state.read<{ counts: SpreadCounts; weights: number[] }>(scoreKey)!;
      let score = 0;
      for (let i = 0; i < s.counts.constraints.length; i++) {
        const c = s.counts.constraints[i]!;
        const value = node.labels[c.topologyKey];
        if (value === undefined) return -1;
        score += ((s.counts.counts[i]!.get(value) ?? 0) + c.maxSkew - 1) * s.weights[i]!;
      }
      return score;
    },
    normalizeScore(_state, _pod, scores, count) {
      let min = Infinity;
      let max = 0;
      for (let i = 0; i < count; i++) {
        const v = scores[i]!;
        if (v < 0) continue;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      for (let i = 0; i < count; i++) {
        const v = scores[i]!;
        if (v < 0) scores[i] = 0;
        else scores[i] = max === 0 ? maxNodeScore : (maxNodeScore * (max + min - v)) / max;
      }
    },
  } satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin;
}
