/**
 * InterPodAffinity places pods relative to other pods: required affinity (must share a topology
 * domain with a matching pod), required anti-affinity (must not), existing pods' required
 * anti-affinity against the incoming pod, and preferred terms of both sides as scores.
 */
import type { CycleState } from '../cycle-state.ts';
import type { FilterPlugin, FrameworkHandle, PreFilterPlugin, PreScorePlugin, ScorePlugin } from '../interfaces.ts';
import { maxNodeScore } from '../interfaces.ts';
import type { NodeInfo } from '../node-info.ts';
import { termMatches, type AffinityTerm, type PodInfo } from '../pod-info.ts';
import { Status } from '../status.ts';
import { checkKeys, numberArg } from './args.ts';

const filterKey = 'InterPodAffinity/filter';
const scoreKey = 'InterPodAffinity/score';

/** Counts per topology key, then per value. */
type TopologyCounts = Map<string, Map<string, number>>;

function bump(counts: TopologyCounts, key: string, value: string | undefined, delta: number): void {
  if (value === undefined) return;
  let m = counts.get(key);
  if (!m) counts.set(key, (m = new Map()));
  const next = (m.get(value) ?? 0) + delta;
  if (next === 0) m.delete(value);
  else m.set(value, next);
}

function copyCounts(c: TopologyCounts): TopologyCounts {
  return new Map([...c].map(([k, m]) => [k, new Map(m)]));
}

class AffinityState {
  /** Domains holding an existing pod whose required anti-affinity selects the incoming pod. */
  existingAnti: TopologyCounts = new Map();
  /** Per domain: existing pods matching all the incoming pod's required affinity terms. */
  affinity: TopologyCounts = new Map();
  /** Per domain: existing pods matching one of the incoming pod's required anti-affinity terms. */
  anti: TopologyCounts = new Map();

  clone(): AffinityState {
    const s = new AffinityState();
    s.existingAnti = copyCounts(this.existingAnti);
    s.affinity = copyCounts(this.affinity);
    s.anti = copyCounts(this.anti);
    return s;
  }
}

function matchesAll(terms: AffinityTerm[], p: PodInfo): boolean {
  for (const t of terms) if (!termMatches(t, p)) return false;
  return true;
}

function account(s: AffinityState, pod: PodInfo, existing: PodInfo, node: NodeInfo, delta: number): void {
  for (const t of existing.requiredAntiAffinity) {
    if (termMatches(t, pod)) bump(s.existingAnti, t.topologyKey, node.labels[t.topologyKey], delta);
  }
  if (pod.requiredAffinity.length > 0 && matchesAll(pod.requiredAffinity, existing)) {
    for (const t of pod.requiredAffinity) bump(s.affinity, t.topologyKey, node.labels[t.topologyKey], delta);
  }
  for (const t of pod.requiredAntiAffinity) {
    if (termMatches(t, existing)) bump(s.anti, t.topologyKey, node.labels[t.topologyKey], delta);
  }
}

function hasIn(counts: TopologyCounts, key: string, value: string | undefined): boolean {
  return value !== undefined && (counts.get(key)?.get(value) ?? 0) > 0;
}

export function interPodAffinity(rawArgs: Record<string, unknown> = {}, handle?: FrameworkHandle): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin {
  checkKeys(rawArgs, ['hardPodAffinityWeight', 'ignorePreferredTermsOfExistingPods'], 'InterPodAffinity args');
  const hardWeight = rawArgs.hardPodAffinityWeight === undefined ? 1 : numberArg(rawArgs.hardPodAffinityWeight, 'InterPodAffinity args.hardPodAffinityWeight', 0, 100);
  const ignoreExisting = rawArgs.ignorePreferredTermsOfExistingPods === true;

  return {
    name: 'InterPodAffinity',
    preFilter(state, pod, snapshot) {
      const withAnti = snapshot.nodesWithRequiredAntiAffinityPods();
      const own = pod.requiredAffinity.length > 0 || pod.requiredAntiAffinity.length > 0;
      if (!own && withAnti.length === 0) return Status.skip;
      const s = new AffinityState();
      if (own) {
        for (const node of snapshot.nodes) {
          const pods = node.pods;
          for (let i = 0; i < pods.length; i++) account(s, pod, pods[i]!, node, 1);
        }
      } else {
        for (const node of withAnti) for (const p of node.podsWithRequiredAntiAffinity) account(s, pod, p, node, 1);
      }
      if (!own && s.existingAnti.size === 0) return Status.skip;
      state.write(filterKey, s);
      return Status.success;
    },
    addPod(state, pod, added, node) {
      const s = state.read<AffinityState>(filterKey);
      if (s) account(s, pod, added, node, 1);
    },
    removePod(state, pod, removed, node) {
      const s = state.read<AffinityState>(filterKey);
      if (s) account(s, pod, removed, node, -1);
    },
    filter(state, pod, node) {
      const s = state.read<AffinityState>(filterKey);
      if (!s) return Status.success;
      for (const [key, values] of s.existingAnti) {
        const v = node.labels[key];
        if (v !== undefined && (values.get(v) ?? 0) > 0) return Status.unschedulable("node(s) didn't satisfy existing pods anti-affinity rules");
      }
      for (const t of pod.requiredAntiAffinity) {
        if (hasIn(s.anti, t.topologyKey, node.labels[t.topologyKey])) return Status.unschedulable("node(s) didn't match pod anti-affinity rules");
      }
      if (pod.requiredAffinity.length > 0) {
        let ok = true;
        for (const t of pod.requiredAffinity) {
          if (!hasIn(s.affinity, t.topologyKey, node.labels[t.topologyKey])) {
            ok = false;
            break;
          }
        }
        if (!ok) {
          // The first pod of a group that selects itself may go anywhere its terms' keys exist.
          const noneAnywhere = [...s.affinity.values()].every((m) => m.size === 0);
          const selfMatch = noneAnywhere && matchesAll(pod.requiredAffinity, pod) && pod.requiredAffinity.every((t) => node.labels[t.topologyKey] !== undefined);
          if (!selfMatch) return Status.unresolvable("node(s) didn't match pod affinity rules");
        }
      }
      return Status.success;
    },
    preScore(state, pod) {
      const snapshot = handle?.snapshot;
      if (!snapshot) return Status.skip;
      const ownPreferred = pod.preferredAffinity.length > 0 || pod.preferredAntiAffinity.length > 0;
      const nodes = ownPreferred ? snapshot.nodes : snapshot.nodesWithAffinityPods();
      if (nodes.length === 0) return Status.skip;
      const scores: TopologyCounts = new Map();
      for (const node of nodes) {
        const pods = ownPreferred ? node.pods : node.podsWithAffinity;
        for (const p of pods) {
          for (const t of pod.preferredAffinity) if (termMatches(t, p)) bump(scores, t.topologyKey, node.labels[t.topologyKey], t.weight);
          for (const t of pod.preferredAntiAffinity) if (termMatches(t, p)) bump(scores, t.topologyKey, node.labels[t.topologyKey], -t.weight);
          if (hardWeight > 0) for (const t of p.requiredAffinity) if (termMatches(t, pod)) bump(scores, t.topologyKey, node.labels[t.topologyKey], hardWeight);
          if (!ignoreExisting) {
            for (const t of p.preferredAffinity) if (termMatches(t, pod)) bump(scores, t.topologyKey, node.labels[t.topologyKey], t.weight);
            for (const t of p.preferredAntiAffinity) if (termMatches(t, pod)) bump(scores, t.topologyKey, node.labels[t.topologyKey], -t.weight);
          }
        }
      }
      let any = false;
      for (const m of scores.values()) if (m.size > 0) any = true;
      if (!any) return Status.skip;
      state.write(scoreKey, scores);
      return Status.success;
    },
    score(state: CycleState, _pod, node) {
      const scores = state.read<TopologyCounts>(scoreKey)!;
      let sum = 0;
      for (const [key, values] of scores) {
        const v = node.labels[key];
        if (v !== undefined) sum += values.get(v) ?? 0;
      }
      return sum;
    },
    normalizeScore(_state, _pod, scores, count) {
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < count; i++) {
        if (scores[i]! < min) min = scores[i]!;
        if (scores[i]! > max) max = scores[i]!;
      }
      const span = max - min;
      for (let i = 0; i < count; i++) scores[i] = span === 0 ? 0 : (maxNodeScore * (scores[i]! - min)) / span;
    },
  } satisfies PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin;
}
