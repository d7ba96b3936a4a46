/**
 * Selection of clusters under placement.spreadConstraints, with Karmada's semantics: a constraint
 * by cluster bounds how many clusters are chosen; a constraint by region, zone, provider or label
 * groups the clusters and bounds how many groups are used. Groups are ranked by their best
 * cluster's score (then the room they have, then name); the fewest groups from minGroups up that
 * satisfy the cluster constraint (and, when dividing, hold every replica) are taken; then each
 * chosen group's best cluster, then the rest of their clusters by rank up to the cluster
 * constraint's maxGroups.
 */
import type { SpreadConstraintSpec } from '../../api/kinds/policy.ts';
import type { ClusterInfo } from './cluster-info.ts';
import { PlacementInputError } from './cluster-info.ts';
import { groupOf } from './plugins/spread-constraint.ts';
import { Status } from './status.ts';

/** A feasible cluster, scored; candidates reach selection in rank order (best first). */
export interface RankedCluster {
  info: ClusterInfo;
  score: number;
  /** Replicas it can hold: available room plus what it holds in the previous decision. */
  capacity: number;
  /** Position in the ranking, 0 for the best. */
  rank: number;
}

export interface SelectionResult {
  selected: RankedCluster[];
  /** Why each feasible cluster that was not selected was left out. */
  notSelected: Map<string, string>;
  status: Status;
}

/** The spread constraints, checked: at most one by cluster and one by a group (region, zone, provider or label). */
export interface SpreadPlan {
  cluster: SpreadConstraintSpec | undefined;
  group: { constraint: SpreadConstraintSpec; key: { field: 'region' | 'zone' | 'provider' } | { label: string }; what: string } | undefined;
}

/** Checks the spread constraints once; throws PlacementInputError naming the bad entry. */
export function spreadPlan(constraints: readonly SpreadConstraintSpec[] | undefined): SpreadPlan {
  const plan: SpreadPlan = { cluster: undefined, group: undefined };
  (constraints ?? []).forEach((c, i) => {
    const where = `placement.spreadConstraints[${i}]`;
    if ((c.spreadByField === undefined) === (c.spreadByLabel === undefined)) throw new PlacementInputError(`${where}: set exactly one of spreadByField and spreadByLabel`);
    if (c.minGroups !== undefined && c.maxGroups !== undefined && c.minGroups > c.maxGroups) throw new PlacementInputError(`${where}: minGroups ${c.minGroups} is greater than maxGroups ${c.maxGroups}`);
    if (c.spreadByField === 'cluster') {
      if (plan.cluster) throw new PlacementInputError(`${where}: a second constraint by cluster; keep one`);
      plan.cluster = c;
      return;
    }
    if (plan.group) throw new PlacementInputError(`${where}: spreading by more than one of region, zone, provider and label at once is not supported; keep one of them (plus one by cluster)`);
    plan.group = c.spreadByLabel !== undefined
      ? { constraint: c, key: { label: c.spreadByLabel }, what: `label ${c.spreadByLabel} value` }
      : { constraint: c, key: { field: c.spreadByField as 'region' | 'zone' | 'provider' }, what: c.spreadByField! };
  });
  if (plan.cluster && plan.group && plan.cluster.maxGroups !== undefined && plan.cluster.maxGroups < (plan.group.constraint.minGroups ?? 1)) {
    throw new PlacementInputError(`placement.spreadConstraints: cluster maxGroups ${plan.cluster.maxGroups} is less than ${plan.group.what} minGroups ${plan.group.constraint.minGroups}; every group needs a cluster`);
  }
  return plan;
}

/**
 * Selects clusters from `ranked` (best first) under `plan`. `replicas` is what must fit when
 * `divided` (selection grows the number of groups to hold them, up to maxGroups).
 */
export function selectClusters(ranked: readonly RankedCluster[], plan: SpreadPlan, replicas: number, divided: boolean): SelectionResult {
  const notSelected = new Map<string, string>();
  const minClusters = plan.cluster?.minGroups ?? 1;
  const maxClusters = plan.cluster?.maxGroups ?? Number.POSITIVE_INFINITY;

  if (!plan.group) {
    if (plan.cluster && ranked.length < minClusters) {
      return { selected: [], notSelected, status: Status.unschedulable(`the spread constraints need at least ${minClusters} clusters`) };
    }
    const selected = ranked.slice(0, Math.min(ranked.length, maxClusters));
    for (const c of ranked.slice(selected.length)) notSelected.set(c.info.name, `ranked below the ${maxClusters} cluster(s) the spread constraints allow`);
    return { selected, notSelected, status: Status.success };
  }

  const { constraint, key, what } = plan.group;
  const byGroup = new Map<string, RankedCluster[]>();
  for (const c of ranked) {
    const g = groupOf(c.info, key)!;
    let list = byGroup.get(g);
    if (!list) byGroup.set(g, (list = []));
    list.push(c);
  }
  const groups = [...byGroup.entries()].map(([name, clusters]) => ({ name, clusters, best: clusters[0]!.score, capacity: clusters.reduce((a, c) => a + c.capacity, 0) }));
  groups.sort((a, b) => b.best - a.best || b.capacity - a.capacity || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const minGroups = constraint.minGroups ?? 1;
  if (groups.length < minGroups) {
    return { selected: [], notSelected, status: Status.unschedulable(`the spread constraints need at least ${minGroups} ${what}s but only ${groups.length} have feasible clusters`) };
  }
  const maxGroups = Math.min(groups.length, constraint.maxGroups ?? groups.length, maxClusters);
  let chosen = -1;
  let largestWithClusters = -1;
  let clusters = 0;
  let capacity = 0;
  for (let k = 1; k <= maxGroups; k++) {
    clusters += groups[k - 1]!.clusters.length;
    capacity += groups[k - 1]!.capacity;
    if (k < minGroups || clusters < minClusters) continue;
    largestWithClusters = k;
    if (!divided || capacity >= replicas) {
      chosen = k;
      break;
    }
  }
  if (largestWithClusters < 0) {
    return { selected: [], notSelected, status: Status.unschedulable(`the spread constraints need at least ${minClusters} clusters in at most ${maxGroups} ${what}s`) };
  }
  // When no allowed number of groups holds every replica, use as many as allowed; division reports the shortfall.
  if (chosen < 0) chosen = largestWithClusters;

  const selected: RankedCluster[] = [];
  const rest: RankedCluster[] = [];
  for (let g = 0; g < chosen; g++) {
    selected.push(groups[g]!.clusters[0]!);
    rest.push(...groups[g]!.clusters.slice(1));
  }
  rest.sort((a, b) => a.rank - b.rank);
  for (const c of rest) {
    if (selected.length < maxClusters) selected.push(c);
    else notSelected.set(c.info.name, `ranked below the ${maxClusters} cluster(s) the spread constraints allow`);
  }
  for (let g = chosen; g < groups.length; g++) {
    for (const c of groups[g]!.clusters) notSelected.set(c.info.name, `its ${what} ${groups[g]!.name} is not among the ${chosen} chosen`);
  }
  selected.sort((a, b) => a.rank - b.rank);
  return { selected, notSelected, status: Status.success };
}
