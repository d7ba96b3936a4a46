/**
 * PodDisruptionBudgets (policy/v1) as preemption reads them: which pods a budget covers and how
 * many of them may still be disrupted, worked out from the pods the scheduler's cache holds.
 */
import type { KubeObject } from '../machinery/object.ts';
import type { DisruptionBudget } from './interfaces.ts';
import { compileSelector, type PodInfo } from './pod-info.ts';

type Json = Record<string, unknown>;

/** Parses a PodDisruptionBudget; a budget without a selector covers no pod, as in policy/v1. */
export function disruptionBudget(pdb: KubeObject): DisruptionBudget {
  const spec = (pdb.spec ?? {}) as Json;
  const namespace = pdb.metadata.namespace ?? 'default';
  const selector = compileSelector(spec.selector);
  const amount = (v: unknown) => (typeof v === 'number' || typeof v === 'string' ? v : undefined);
  const budget: DisruptionBudget = {
    key: `${namespace}/${pdb.metadata.name ?? ''}`,
    namespace,
    matches: (p: PodInfo) => p.namespace === namespace && selector.matches(p.labels),
  };
  const minAvailable = amount(spec.minAvailable);
  const maxUnavailable = amount(spec.maxUnavailable);
  if (minAvailable !== undefined) budget.minAvailable = minAvailable;
  if (maxUnavailable !== undefined) budget.maxUnavailable = maxUnavailable;
  return budget;
}

function resolve(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value.trim());
  if (!m) return Number(value) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/**
 * How many more pods each budget allows to be disrupted, given the pods placed now. Pods counted
 * are the running (non-terminating) ones the budget selects; minAvailable percentages round up and
 * maxUnavailable percentages round up too, as the disruption controller does.
 */
export function disruptionsAllowed(budgets: readonly DisruptionBudget[], pods: Iterable<PodInfo>): Map<string, number> {
  const healthy = new Map<string, number>();
  for (const b of budgets) healthy.set(b.key, 0);
  if (budgets.length > 0) {
    for (const p of pods) {
      if (p.terminating) continue;
      for (const b of budgets) if (b.matches(p)) healthy.set(b.key, healthy.get(b.key)! + 1);
    }
  }
  const allowed = new Map<string, number>();
  for (const b of budgets) {
    const count = healthy.get(b.key)!;
    let desired = 0;
    if (b.minAvailable !== undefined) desired = resolve(b.minAvailable, count, true);
    else if (b.maxUnavailable !== undefined) desired = count - resolve(b.maxUnavailable, count, true);
    allowed.set(b.key, Math.max(0, count - desired));
  }
  return allowed;
}
