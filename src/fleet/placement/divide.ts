/**
 * Division of replicas among the selected clusters. `divideByWeight` is the arithmetic every
 * mode shares: shares in proportion to weights, none above its cluster's cap, whole replicas by
 * largest remainder and then by name, so the same inputs always give the same split.
 * `divideReplicas` applies a mode (Karmada's four plus objective weights) and, for the modes that
 * follow capacity, keeps the previous decision steady: scale down in proportion to what each
 * cluster has, scale up by dividing only the new replicas, and leave an unchanged count alone.
 */
import { Status } from './status.ts';

/** Relative tolerance when comparing fractional parts, so float noise never decides a tie. */
const tieEpsilon = 1e-9;

/**
 * Splits `total` in proportion to `weights` with share i at most `caps[i]` (water-filling: a
 * capped cluster keeps its cap and the rest is split again among the others). Entries with a zero
 * weight or cap get nothing. The leftover whole replicas go to the largest fractional parts, ties
 * broken by name. Returns the shares; they sum to `total`, or to less when the caps of the
 * weighted entries do not hold it.
 */
export function divideByWeight(total: number, weights: readonly number[], caps: readonly number[], names: readonly string[]): number[] {
  const n = weights.length;
  const shares = new Array<number>(n).fill(0);
  let remaining = total;
  let active: number[] = [];
  for (let i = 0; i < n; i++) if (weights[i]! > 0 && caps[i]! > 0) active.push(i);
  while (remaining > 0 && active.length > 0) {
    let sum = 0;
    for (const i of active) sum += weights[i]!;
    const uncapped: number[] = [];
    let capped = 0;
    for (const i of active) {
      const ideal = (remaining * weights[i]!) / sum;
      if (ideal >= caps[i]! - tieEpsilon) {
        shares[i] = caps[i]!;
        capped += caps[i]!;
      } else {
        uncapped.push(i);
      }
    }
    if (capped > 0) {
      remaining -= capped;
      active = uncapped;
      continue;
    }
    const fractions = new Map<number, number>();
    let given = 0;
    for (const i of active) {
      const ideal = (remaining * weights[i]!) / sum;
      const whole = Math.floor(ideal + tieEpsilon);
      shares[i] = whole;
      given += whole;
      fractions.set(i, ideal - whole);
    }
    const left = remaining - given;
    if (left > 0) {
      const order = [...active].sort((a, b) => {
        const d = fractions.get(b)! - fractions.get(a)!;
        if (Math.abs(d) > tieEpsilon) return d;
        return names[a]! < names[b]! ? -1 : names[a]! > names[b]! ? 1 : 0;
      });
      for (let k = 0; k < left; k++) shares[order[k]!]! += 1;
    }
    remaining = 0;
  }
  return shares;
}

/** How replicas are divided: the policy's replicaScheduling read into one of these. */
export type DivisionMode = 'Duplicated' | 'StaticWeight' | 'DynamicWeight' | 'ObjectiveWeight' | 'Aggregated';

/** A selected cluster as division sees it. */
export interface DivisionCandidate {
  name: string;
  /** Replicas the cluster has room for now (the estimate). */
  available: number;
  /** Replicas it holds in the previous decision (0 when none). */
  previous: number;
  /** Weight of a static weight rule (StaticWeight only). */
  staticWeight: number;
  /** The combined objective score, 0..100 (ObjectiveWeight; DynamicWeight when objectives are set). */
  objective: number;
}

export interface DivisionOptions {
  /** Ignore the previous decision and divide afresh. */
  fresh: boolean;
  /** Place more replicas on a cluster than it has room for rather than report a shortfall. */
  overcommit: boolean;
  /** DynamicWeight: scale each cluster's available replicas by its objective score. */
  objectiveScaled: boolean;
}

export interface DivisionResult {
  replicas: Map<string, number>;
  /** Success, or Unschedulable when the clusters cannot hold every replica. */
  status: Status;
}

function shortfall(placed: number, wanted: number, what: string): Status {
  return Status.unschedulable(`they can take only ${placed} of ${wanted} ${what}`);
}

/**
 * Divides `total` replicas among `candidates` (in rank order, best first) by `mode`. The room a
 * cluster has is its available replicas plus those it already holds (the estimate counts them as
 * allocated).
 */
export function divideReplicas(mode: DivisionMode, candidates: readonly DivisionCandidate[], total: number, options: DivisionOptions): DivisionResult {
  const names = candidates.map((c) => c.name);
  const result = new Map<string, number>();
  const finish = (shares: readonly number[], base: readonly number[] | undefined, wanted: number, what: string): DivisionResult => {
    let placed = 0;
    for (let i = 0; i < candidates.length; i++) {
      const r = shares[i]! + (base?.[i] ?? 0);
      placed += shares[i]!;
      if (r > 0) result.set(names[i]!, r);
    }
    return { replicas: result, status: placed < wanted ? shortfall(placed, wanted, what) : Status.success };
  };
  const room = (c: DivisionCandidate, steady: boolean) => (options.overcommit ? Number.POSITIVE_INFINITY : steady ? c.available : c.available + c.previous);

  if (mode === 'Duplicated' || total === 0) {
    for (const c of candidates) result.set(c.name, total);
    return { replicas: result, status: Status.success };
  }

  if (mode === 'StaticWeight') {
    const anyWeight = candidates.some((c) => c.staticWeight > 0);
    const weights = candidates.map((c) => (anyWeight ? c.staticWeight : 1));
    const caps = candidates.map((c) => room(c, false));
    return finish(divideByWeight(total, weights, caps, names), undefined, total, 'replicas');
  }

  // Steady assignment, as Karmada does for capacity-driven modes.
  const previous = candidates.map((c) => c.previous);
  const assigned = previous.reduce((a, b) => a + b, 0);
  const steady = !options.fresh && assigned > 0;
  if (steady && assigned === total) return finish(previous, undefined, total, 'replicas');
  if (steady && assigned > total) return finish(divideByWeight(total, previous, previous, names), undefined, total, 'replicas');
  const wanted = steady ? total - assigned : total;
  const caps = candidates.map((c) => room(c, steady));

  let weights: number[];
  if (mode === 'Aggregated') {
    // As few clusters as possible: those already used first, then in rank order, until they hold the replicas.
    const order = candidates.map((_, i) => i).sort((a, b) => Number(previous[b]! > 0) - Number(previous[a]! > 0) || a - b);
    weights = new Array<number>(candidates.length).fill(0);
    let held = 0;
    for (const i of order) {
      if (held >= wanted) break;
      if (caps[i]! <= 0) continue;
      weights[i] = Number.isFinite(caps[i]!) ? caps[i]! : 1;
      held += caps[i]!;
    }
  } else if (mode === 'DynamicWeight') {
    weights = candidates.map((c, i) => (Number.isFinite(caps[i]!) ? caps[i]! : c.available) * (options.objectiveScaled ? c.objective : 1));
  } else {
    weights = candidates.map((c) => c.objective);
  }
  if (!weights.some((w) => w > 0)) weights = candidates.map(() => 1);
  const shares = divideByWeight(wanted, weights, caps, names);
  // Clusters weighted 0 (no objective data) still take what the weighted ones cannot hold.
  const placed = shares.reduce((a, b) => a + b, 0);
  if (placed < wanted) {
    const spare = caps.map((cap, i) => cap - shares[i]!);
    const extra = divideByWeight(wanted - placed, spare.map((s) => (s > 0 ? 1 : 0)), spare, names);
    for (let i = 0; i < shares.length; i++) shares[i]! += extra[i]!;
  }
  return finish(shares, steady ? previous : undefined, wanted, steady ? 'new replicas' : 'replicas');
}
