/**
 * Framework runs one profile's plugins over a pod: PreFilter, Filter over a rotating window of
 * nodes until enough feasible ones are found (percentageOfNodesToScore), PostFilter when none
 * is, then PreScore, Score, NormalizeScore and a weighted sum; Reserve and Bind come after the
 * driver assumes the pod. Buffers for feasible nodes and scores live as long as the framework,
 * so a cycle allocates little beyond what plugins need.
 */
import type { Snapshot } from './cache.ts';
import type { ProfileConfiguration } from './config.ts';
import { CycleState } from './cycle-state.ts';
import { NodeStatuses, type AnyPlugin, type Binder, type BindPlugin, type DisruptionBudget, type FilterPlugin, type FrameworkHandle, type PluginFactory, type PostFilterPlugin, type PostFilterResult, type PreFilterPlugin, type PreScorePlugin, type ReservePlugin, type ScorePlugin } from './interfaces.ts';
import type { NodeInfo } from './node-info.ts';
import type { PodInfo } from './pod-info.ts';
import { inTreeRegistry } from './plugins/registry.ts';
import { Resources } from './resources.ts';
import { Status } from './status.ts';

/** Nodes to filter before stopping: all below 100 nodes, else a percentage (adaptive when 0) but at least 100. */
export function numFeasibleNodesToFind(percentage: number, numAllNodes: number): number {
  if (numAllNodes < 100 || percentage >= 100) return numAllNodes;
  let pct = percentage;
  if (pct <= 0) {
    pct = 50 - numAllNodes / 125;
    if (pct < 5) pct = 5;
  }
  const n = Math.floor((numAllNodes * pct) / 100);
  return n < 100 ? 100 : n;
}

/** The outcome of one scheduling cycle (before binding). */
export interface ScheduleResult {
  /** Success with `nodeName`; otherwise why not (Unschedulable, UnschedulableAndUnresolvable or Error). */
  status: Status;
  nodeName?: string;
  /** Nodes the filters ran on. */
  evaluatedNodes: number;
  feasibleNodes: number;
  /** Rejected nodes' statuses, by node name (only when the pod did not fit). */
  statuses?: NodeStatuses;
  /** What PostFilter (preemption) found, when it ran. */
  postFilter?: PostFilterResult;
  /** Plugins that rejected the pod on some node. */
  rejectedBy?: Set<string>;
  state: CycleState;
}

export interface FrameworkOptions {
  snapshot: Snapshot;
  binder?: Binder;
  /** Global percentageOfNodesToScore (0 = adaptive); the profile's own wins. */
  percentageOfNodesToScore?: number;
  disruptionBudgets?: () => readonly DisruptionBudget[];
  /**
   * Pods nominated to a node by preemption, which lower-or-equal priority pods must leave room
   * for, by node name. Without it each node's own `nominatedPods` are read (the Scheduler keeps
   * those, which spares a lookup per node in every filter pass).
   */
  nominatedPods?: ReadonlyMap<string, readonly PodInfo[]>;
  random?: () => number;
  registry?: Readonly<Record<string, PluginFactory>>;
}

export class Framework implements FrameworkHandle {
  readonly profile: ProfileConfiguration;
  readonly snapshot: Snapshot;
  readonly binder: Binder | undefined;
  readonly random: () => number;
  readonly plugins = new Map<string, AnyPlugin>();
  readonly percentage: number;
  #preFilter: PreFilterPlugin[];
  #filter: FilterPlugin[];
  #preFilterWithExtensions: PreFilterPlugin[];
  #postFilter: PostFilterPlugin[];
  #preScore: PreScorePlugin[];
  #score: ScorePlugin[];
  #weights: Float64Array;
  #reserve: ReservePlugin[];
  #bind: BindPlugin[];
  #budgets: () => readonly DisruptionBudget[];
  #nominated: ReadonlyMap<string, readonly PodInfo[]> | undefined;
  #nextStart = 0;
  #feasible: NodeInfo[] = [];
  #scoreBuffers: Float64Array[];
  #total = new Float64Array(0);
  /** Pods' summed requests for judging nominated pods by arithmetic; cycles run one at a time. */
  #scratch = new Resources();

  constructor(profile: ProfileConfiguration, options: FrameworkOptions) {
    this.profile = profile;
    this.snapshot = options.snapshot;
    this.binder = options.binder;
    this.random = options.random ?? Math.random;
    this.percentage = profile.percentageOfNodesToScore ?? options.percentageOfNodesToScore ?? 0;
    this.#budgets = options.disruptionBudgets ?? (() => []);
    this.#nominated = options.nominatedPods;
    const registry = options.registry ?? inTreeRegistry;
    const get = (name: string): AnyPlugin => {
      let p = this.plugins.get(name);
      if (!p) {
        const factory = registry[name];
        if (!factory) throw new Error(`unknown plugin "${name}"`);
        p = factory(profile.pluginArgs[name] ?? {}, this);
        this.plugins.set(name, p);
      }
      return p;
    };
    const at = <T>(point: keyof ProfileConfiguration['points']) => profile.points[point].map(get) as T[];
    this.#preFilter = at<PreFilterPlugin>('preFilter');
    this.#filter = at<FilterPlugin>('filter');
    this.#preFilterWithExtensions = this.#preFilter.filter((p) => p.addPod || p.removePod);
    this.#postFilter = at<PostFilterPlugin>('postFilter');
    this.#preScore = at<PreScorePlugin>('preScore');
    this.#score = at<ScorePlugin>('score');
    this.#weights = Float64Array.from(this.#score.map((p) => profile.weights[p.name] ?? 1));
    this.#reserve = at<ReservePlugin>('reserve');
    this.#bind = at<BindPlugin>('bind');
    this.#scoreBuffers = this.#score.map(() => new Float64Array(0));
  }

  get schedulerName(): string {
    return this.profile.schedulerName;
  }

  disruptionBudgets(): readonly DisruptionBudget[] {
    return this.#budgets();
  }

  /** Runs the enabled filters not skipped in `state`; the first rejection wins. */
  runFilters(state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const filters = this.#filters(state);
    for (let i = 0; i < filters.length; i++) {
      const f = filters[i]!;
      const s = f.filter(state, pod, node);
      if (s.code !== 'Success') {
        if (s.plugin === undefined && !Object.isFrozen(s)) s.plugin = f.name;
        return s;
      }
    }
    return Status.success;
  }

  runPreFilterAddPod(state: CycleState, pod: PodInfo, added: PodInfo, node: NodeInfo): void {
    const list = this.#extensions(state);
    for (let i = 0; i < list.length; i++) list[i]!.addPod?.(state, pod, added, node);
  }

  runPreFilterRemovePod(state: CycleState, pod: PodInfo, removed: PodInfo, node: NodeInfo): void {
    const list = this.#extensions(state);
    for (let i = 0; i < list.length; i++) list[i]!.removePod?.(state, pod, removed, node);
  }

  /**
   * Works out, once per cycle, which Filter plugins and PreFilter extensions are in force after
   * PreFilter's skips, and whether the filters can judge pod changes by arithmetic.
   */
  #plan(state: CycleState): void {
    const filters = this.#filter.filter((f) => !state.skipFilter.has(f.name));
    const extensions = this.#preFilterWithExtensions.filter((p) => !state.skipFilter.has(p.name));
    const podFilters = filters.filter((f) => !f.nodeOnly);
    state.filters = filters;
    state.preFilterExtensions = extensions;
    state.podFilters = extensions.length === 0 && podFilters.every((f) => f.filterWithDelta) ? podFilters : null;
  }

  #filters(state: CycleState): FilterPlugin[] {
    if (state.filters === undefined) this.#plan(state);
    return state.filters as FilterPlugin[];
  }

  /** The PreFilter plugins with addPod/removePod not skipped in `state`. */
  #extensions(state: CycleState): PreFilterPlugin[] {
    if (state.preFilterExtensions === undefined) this.#plan(state);
    return state.preFilterExtensions as PreFilterPlugin[];
  }

  /** The filters that read placed pods, when all of them judge by arithmetic; null when some cannot. */
  #podFilters(state: CycleState): FilterPlugin[] | null {
    if (state.podFilters === undefined) this.#plan(state);
    return state.podFilters as FilterPlugin[] | null;
  }

  /** Runs `filters`' filterWithDelta in order; the first rejection wins. */
  #judgeDelta(filters: FilterPlugin[], state: CycleState, pod: PodInfo, node: NodeInfo, delta: Resources): Status {
    for (let i = 0; i < filters.length; i++) {
      const f = filters[i]!;
      const s = f.filterWithDelta!(state, pod, node, delta);
      if (s.code !== 'Success') {
        if (s.plugin === undefined && !Object.isFrozen(s)) s.plugin = f.name;
        return s;
      }
    }
    return Status.success;
  }

  runFiltersWithDelta(state: CycleState, pod: PodInfo, node: NodeInfo, delta: Resources, podsOnly = false): Status | undefined {
    const podFilters = this.#podFilters(state);
    if (!podFilters) return undefined;
    if (podsOnly) {
      const s = this.#judgeDelta(podFilters, state, pod, node, delta);
      if (s.code !== 'Success') return s;
    } else {
      const filters = this.#filters(state);
      for (let i = 0; i < filters.length; i++) {
        const f = filters[i]!;
        const s = f.nodeOnly ? f.filter(state, pod, node) : f.filterWithDelta!(state, pod, node, delta);
        if (s.code !== 'Success') {
          if (s.plugin === undefined && !Object.isFrozen(s)) s.plugin = f.name;
          return s;
        }
      }
    }
    const others = this.nominatedPodsFor(pod, node);
    if (!others) return Status.success;
    // Filters marked nodeOnly passed above and cannot change with more pods; judge the rest with the nominated pods too.
    const withOthers = this.#scratch;
    withOthers.copyFrom(delta);
    for (let i = 0; i < others.length; i++) withOthers.add(others[i]!.requests);
    withOthers.pods += others.length;
    return this.#judgeDelta(podFilters, state, pod, node, withOthers);
  }

  /**
   * Runs `fn` as if `added` were on `node` and `removed` gone from it, with PreFilter data updated
   * to match, then puts everything back. Plain nodes are changed in place and restored (no copy);
   * nodes with NUMA or GPU pinning are copied, since re-adding a pod could pin it elsewhere.
   */
  withPodsChanged<T>(state: CycleState, pod: PodInfo, node: NodeInfo, added: readonly PodInfo[], removed: readonly PodInfo[], fn: (state: CycleState, node: NodeInfo) => T): T {
    const needsState = this.#hasPreFilterExtensions(state);
    const s = needsState ? state.clone() : state;
    const target = node.numa || node.gpu ? node.clone() : node;
    for (const p of removed) {
      target.removePod(p);
      if (needsState) this.runPreFilterRemovePod(s, pod, p, target);
    }
    for (const p of added) {
      target.addPod(p);
      if (needsState) this.runPreFilterAddPod(s, pod, p, target);
    }
    try {
      return fn(s, target);
    } finally {
      if (target === node) {
        for (const p of added) node.removePod(p);
        // fn may have put some removed pods back; add only the ones still missing.
        const pods = node.pods;
        for (const p of removed) {
          let i = pods.length - 1;
          while (i >= 0 && pods[i] !== p) i--;
          if (i < 0) node.addPod(p);
        }
      }
    }
  }

  #hasPreFilterExtensions(state: CycleState): boolean {
    return this.#extensions(state).length > 0;
  }

  /** Runs the filters, first with the pods nominated to `node` (of at least the pod's priority) counted as if placed. */
  runFiltersWithNominatedPods(state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    return this.#filterNode(state, pod, node, undefined);
  }

  #filterNode(state: CycleState, pod: PodInfo, node: NodeInfo, filters: FilterPlugin[] | undefined): Status {
    // Without the nominated pods first: most rejections show there, and cost no copy.
    if (!filters) {
      const s = this.runFilters(state, pod, node);
      if (s.code !== 'Success') return s;
    } else {
      for (let j = 0; j < filters.length; j++) {
        const f = filters[j]!;
        const s = f.filter(state, pod, node);
        if (s.code !== 'Success') {
          if (s.plugin === undefined && !Object.isFrozen(s)) s.plugin = f.name;
          return s;
        }
      }
    }
    const others = this.nominatedPodsFor(pod, node);
    if (!others) return Status.success;
    const podFilters = this.#podFilters(state);
    if (podFilters) {
      // Filters marked nodeOnly passed above and cannot change with more pods; judge the rest by arithmetic.
      const added = this.#scratch;
      added.clear();
      for (let i = 0; i < others.length; i++) added.add(others[i]!.requests);
      added.pods = others.length;
      return this.#judgeDelta(podFilters, state, pod, node, added);
    }
    return this.withPodsChanged(state, pod, node, others, [], (s, n) => this.runFilters(s, pod, n));
  }

  nominatedPodsFor(pod: PodInfo, node: NodeInfo): readonly PodInfo[] | undefined {
    const nominated = this.#nominated ? (this.#nominated.size > 0 ? this.#nominated.get(node.name) : undefined) : node.nominatedPods;
    if (!nominated || nominated.length === 0) return undefined;
    if (nominated.length === 1) {
      const p = nominated[0]!;
      return p.priority >= pod.priority && p.key !== pod.key ? nominated : undefined;
    }
    return this.#othersOf(nominated, pod);
  }

  /** The pods of `nominated` that `pod` must leave room for: others, of at least its priority. */
  #othersOf(nominated: readonly PodInfo[], pod: PodInfo): readonly PodInfo[] | undefined {
    let n = 0;
    for (let i = 0; i < nominated.length; i++) {
      const p = nominated[i]!;
      if (p.priority >= pod.priority && p.key !== pod.key) n++;
    }
    if (n === nominated.length) return nominated;
    if (n === 0) return undefined;
    const others: PodInfo[] = [];
    for (const p of nominated) if (p.priority >= pod.priority && p.key !== pod.key) others.push(p);
    return others;
  }

  /** One scheduling cycle for `pod`; `nominatedNodeName` is tried first when given. */
  schedulePod(pod: PodInfo, nominatedNodeName?: string): ScheduleResult {
    const state = new CycleState();
    const nodes = this.snapshot.nodes;
    const n = nodes.length;
    if (n === 0) return { status: Status.unschedulable('no nodes available to schedule pods'), evaluatedNodes: 0, feasibleNodes: 0, state };

    for (const p of this.#preFilter) {
      const s = p.preFilter(state, pod, this.snapshot);
      if (s.code === 'Skip') {
        state.skipFilter.add(p.name);
        continue;
      }
      if (s.code !== 'Success') {
        if (s.plugin === undefined && !Object.isFrozen(s)) s.plugin = p.name;
        return { status: s, evaluatedNodes: 0, feasibleNodes: 0, state, rejectedBy: new Set([p.name]) };
      }
    }
    this.#plan(state);
    const filters = state.filters as FilterPlugin[];

    if (nominatedNodeName) {
      const node = this.snapshot.get(nominatedNodeName);
      if (node && this.#filterNode(state, pod, node, filters).isSuccess()) {
        return { status: Status.success, nodeName: node.name, evaluatedNodes: 1, feasibleNodes: 1, state };
      }
    }

    const want = numFeasibleNodesToFind(this.percentage, n);
    const feasible = this.#feasible;
    feasible.length = 0;
    let statuses: NodeStatuses | undefined;
    let processed = 0;
    const start = this.#nextStart % n;
    for (let i = 0; i < n; i++) {
      let idx = start + i;
      if (idx >= n) idx -= n;
      const node = nodes[idx]!;
      processed++;
      const s = this.#filterNode(state, pod, node, filters);
      if (s.code === 'Success') {
        feasible.push(node);
        if (feasible.length >= want) break;
      } else {
        (statuses ??= new NodeStatuses()).add(node, s);
      }
    }
    this.#nextStart = (start + processed) % n;

    if (feasible.length === 0) {
      const rejected = statuses ?? new NodeStatuses();
      const rejectedBy = new Set<string>();
      let anyError: Status | undefined;
      for (const s of rejected.statuses) {
        if (s.plugin) rejectedBy.add(s.plugin);
        if (s.code === 'Error') anyError ??= s;
      }
      if (anyError) return { status: anyError, evaluatedNodes: processed, feasibleNodes: 0, statuses: rejected, state, rejectedBy };
      let postFilter: PostFilterResult | undefined;
      for (const p of this.#postFilter) {
        const r = p.postFilter(state, pod, rejected);
        if (r.status.plugin === undefined && !Object.isFrozen(r.status)) r.status.plugin = p.name;
        postFilter = r;
        if (r.status.isSuccess() || r.status.code === 'Error') break;
      }
      const message = diagnose(n, rejected, postFilter);
      return { status: Status.unschedulable(message), evaluatedNodes: processed, feasibleNodes: 0, statuses: rejected, state, rejectedBy, ...(postFilter ? { postFilter } : {}) };
    }
    if (feasible.length === 1) return { status: Status.success, nodeName: feasible[0]!.name, evaluatedNodes: processed, feasibleNodes: 1, state };
    const chosen = this.#prioritize(state, pod, feasible);
    if (typeof chosen !== 'string') return { status: chosen, evaluatedNodes: processed, feasibleNodes: feasible.length, state };
    return { status: Status.success, nodeName: chosen, evaluatedNodes: processed, feasibleNodes: feasible.length, state };
  }

  #prioritize(state: CycleState, pod: PodInfo, feasible: NodeInfo[]): string | Status {
    for (const p of this.#preScore) {
      const s = p.preScore(state, pod, feasible);
      if (s.code === 'Skip') state.skipScore.add(p.name);
      else if (s.code !== 'Success') {
        if (s.plugin === undefined && !Object.isFrozen(s)) s.plugin = p.name;
        return s;
      }
    }
    const count = feasible.length;
    if (this.#total.length < count) {
      this.#total = new Float64Array(count * 2);
      this.#scoreBuffers = this.#scoreBuffers.map(() => new Float64Array(count * 2));
    }
    const total = this.#total;
    total.fill(0, 0, count);
    for (let j = 0; j < this.#score.length; j++) {
      const p = this.#score[j]!;
      if (state.skipScore.size > 0 && state.skipScore.has(p.name)) continue;
      const buf = this.#scoreBuffers[j]!;
      for (let i = 0; i < count; i++) buf[i] = p.score(state, pod, feasible[i]!);
      p.normalizeScore?.(state, pod, buf, count);
      const w = this.#weights[j]!;
      for (let i = 0; i < count; i++) total[i] += buf[i]! * w;
    }
    // Highest total wins; ties are broken uniformly at random (reservoir sampling).
    let best = 0;
    let ties = 1;
    for (let i = 1; i < count; i++) {
      if (total[i]! > total[best]!) {
        best = i;
        ties = 1;
      } else if (total[i] === total[best]) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    return feasible[best]!.name;
  }

  /** Runs Reserve plugins; on a failure, unreserves the ones that ran and returns it. */
  runReserve(state: CycleState, pod: PodInfo, nodeName: string): Status {
    for (let i = 0; i < this.#reserve.length; i++) {
      const s = this.#reserve[i]!.reserve(state, pod, nodeName);
      if (!s.isSuccess()) {
        for (let j = i; j >= 0; j--) this.#reserve[j]!.unreserve(state, pod, nodeName);
        if (s.plugin === undefined && !Object.isFrozen(s)) s.plugin = this.#reserve[i]!.name;
        return s;
      }
    }
    return Status.success;
  }

  runUnreserve(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (let j = this.#reserve.length - 1; j >= 0; j--) this.#reserve[j]!.unreserve(state, pod, nodeName);
  }

  /** Runs Bind plugins in order until one does not Skip. */
  async runBind(state: CycleState, pod: PodInfo, nodeName: string): Promise<Status> {
    for (const p of this.#bind) {
      const s = await p.bind(state, pod, nodeName);
      if (s.code === 'Skip') continue;
      if (s.plugin === undefined && !Object.isFrozen(s)) s.plugin = p.name;
      return s;
    }
    return Status.error('no bind plugin bound the pod');
  }
}

/** kube-scheduler's event message: `0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {a: b}.` */
export function diagnose(total: number, statuses: NodeStatuses, postFilter?: PostFilterResult): string {
  // Rejections are mostly the same shared Status over and over: count runs of one object first.
  const byStatus = new Map<Status, number>();
  const list = statuses.statuses;
  for (let i = 0; i < list.length; ) {
    const s = list[i]!;
    let j = i + 1;
    while (j < list.length && list[j] === s) j++;
    byStatus.set(s, (byStatus.get(s) ?? 0) + (j - i));
    i = j;
  }
  const counts = new Map<string, number>();
  for (const [s, n] of byStatus) for (const r of s.reasons.length ? s.reasons : [s.code]) counts.set(r, (counts.get(r) ?? 0) + n);
  const parts = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([r, c]) => `${c} ${r}`);
  let message = `0/${total} nodes are available${parts.length ? `: ${parts.join(', ')}` : ''}.`;
  if (postFilter) {
    if (postFilter.nominatedNodeName) message += ` Preemption: nominated node ${postFilter.nominatedNodeName}, ${postFilter.victims?.length ?? 0} victim(s).`;
    else if (postFilter.status.reasons.length) message += ` ${postFilter.status.message()}.`;
  }
  return message;
}
