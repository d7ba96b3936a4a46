/**
 * Conditions and taints of a Cluster, as plain values: setting a condition keeps its
 * lastTransitionTime unless its status changes, and the taints the hub manages are added with the
 * time they first appeared and removed without touching anyone else's.
 */
import type { ClusterSpec, ClusterStatus } from '../../api/kinds/fleet.ts';
import { isPlainObject, type KubeObject } from '../../machinery/object.ts';

export type Condition = NonNullable<ClusterStatus['conditions']>[number];
export type ClusterTaint = NonNullable<ClusterSpec['taints']>[number];

/** Taint of a Cluster whose Ready condition is not True. */
export const notReadyTaintKey = 'cluster.nephele.dev/not-ready';
/** Taint of a Cluster the hub (or its agent) cannot reach. */
export const unreachableTaintKey = 'cluster.nephele.dev/unreachable';

/**
 * `conditions` with `next` in place of the condition of its type. lastTransitionTime moves only
 * when the status changes; `now` is used then (and for a condition seen the first time).
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>, now: string): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const lastTransitionTime = previous && previous.status === next.status && previous.lastTransitionTime ? previous.lastTransitionTime : now;
  const condition: Condition = { ...next, lastTransitionTime };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

/** A Cluster whose Ready condition is True. */
export function isClusterReady(cluster: KubeObject): boolean {
  const conditions = isPlainObject(cluster.status) && Array.isArray(cluster.status.conditions) ? cluster.status.conditions as Condition[] : [];
  return findCondition(conditions, 'Ready')?.status === 'True';
}

/** The condition of `type`, or undefined. */
export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * The taints with exactly the managed keys in `wanted` (each NoExecute), keeping every other taint
 * as it is and the timeAdded of a managed taint that stays.
 */
export function reconcileTaints(taints: readonly ClusterTaint[] | undefined, wanted: readonly string[], now: string): ClusterTaint[] {
  const managed = new Set([notReadyTaintKey, unreachableTaintKey]);
  const out: ClusterTaint[] = [];
  for (const taint of taints ?? []) {
    if (!managed.has(taint.key)) out.push(taint);
    else if (wanted.includes(taint.key) && taint.effect === 'NoExecute' && !out.some((t) => t.key === taint.key && t.effect === 'NoExecute')) out.push(taint);
  }
  for (const key of wanted) {
    if (!out.some((t) => t.key === key && t.effect === 'NoExecute')) out.push({ key, effect: 'NoExecute', timeAdded: now });
  }
  return out;
}
