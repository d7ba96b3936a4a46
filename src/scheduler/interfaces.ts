/**
 * One small interface per extension point, as kube-scheduler's framework has them. A plugin is an
 * object with a `name` and the methods of the points it serves; the framework finds them by shape.
 * Outcomes are returned Status values. Score returns a bare number (0..100 before normalizing):
 * it runs for every feasible node, and an allocation there would cost the cycle.
 */
import type { KubeObject } from '../machinery/object.ts';
import type { Snapshot } from './cache.ts';
import type { CycleState } from './cycle-state.ts';
import type { NodeInfo } from './node-info.ts';
import type { PodInfo } from './pod-info.ts';
import type { Resources } from './resources.ts';
import { Status } from './status.ts';

/** The highest score a Score plugin gives, after NormalizeScore. */
export const maxNodeScore = 100;

export interface Plugin {
  readonly name: string;
}

export interface PreFilterPlugin extends Plugin {
  /** Computes per-cycle data; Skip means this plugin's Filter is not needed for this pod. */
  preFilter(state: CycleState, pod: PodInfo, snapshot: Snapshot): Status;
  /** Updates this plugin's cycle data as if `added` were on `node` (preemption and nominated pods). */
  addPod?(state: CycleState, pod: PodInfo, added: PodInfo, node: NodeInfo): void;
  /** Updates this plugin's cycle data as if `removed` were gone from `node`. */
  removePod?(state: CycleState, pod: PodInfo, removed: PodInfo, node: NodeInfo): void;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status;
  /**
   * True when the verdict reads only the pod and the node's own fields (name, labels, taints,
   * cordon), never the pods placed on it: adding or removing pods cannot change it, so the
   * framework need not run it again on a node changed only by pods.
   */
  readonly nodeOnly?: boolean;
  /**
   * The verdict `filter` would give on `node` with pods added or taken off, given only their
   * summed requests in `delta` (and the change in pod count in `delta.pods`), without changing
   * the node. For filters that read nothing of placed pods but their count and requests; it lets
   * preemption's dry runs and nominated pods be judged by arithmetic.
   */
  filterWithDelta?(state: CycleState, pod: PodInfo, node: NodeInfo, delta: Resources): Status;
}

/** What a PostFilter plugin found: a node to nominate and the pods to remove from it. */
export interface PostFilterResult {
  status: Status;
  nominatedNodeName?: string;
  victims?: PodInfo[];
}

/**
 * The nodes a cycle rejected, each with its status, in the order filtered. Kept as two arrays
 * (a Map of thousands of entries per failed cycle costs more than the filtering); `get` builds
 * an index on first use.
 */
export class NodeStatuses {
  readonly nodes: NodeInfo[] = [];
  readonly statuses: Status[] = [];
  #index: Map<string, number> | undefined;

  add(node: NodeInfo, status: Status): void {
    this.nodes.push(node);
    this.statuses.push(status);
    this.#index = undefined;
  }

  get size(): number {
    return this.nodes.length;
  }

  /** The status a node was rejected with, or undefined when it was not. */
  get(nodeName: string): Status | undefined {
    if (!this.#index) {
      this.#index = new Map();
      for (let i = 0; i < this.nodes.length; i++) this.#index.set(this.nodes[i]!.name, i);
    }
    const i = this.#index.get(nodeName);
    return i === undefined ? undefined : this.statuses[i];
  }

  *[Symbol.iterator](): IterableIterator<[string, Status]> {
    for (let i = 0; i < this.nodes.length; i++) yield [this.nodes[i]!.name, this.statuses[i]!];
  }
}

export interface PostFilterPlugin extends Plugin {
  /** Runs when no node passed Filter; `statuses` holds every rejected node with its status. */
  postFilter(state: CycleState, pod: PodInfo, statuses: NodeStatuses): PostFilterResult;
}

export interface PreScorePlugin extends Plugin {
  /** Computes per-cycle scoring data over the feasible nodes; Skip means Score is not needed. */
  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): Status;
}

export interface ScorePlugin extends Plugin {
  score(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  /** Rescales `scores[0..count)` (one per feasible node, in order) to 0..maxNodeScore in place. */
  normalizeScore?(state: CycleState, pod: PodInfo, scores: Float64Array, count: number): void;
}

export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: PodInfo, nodeName: string): Status;
  /** Undoes reserve; must be idempotent and must not fail. */
  unreserve(state: CycleState, pod: PodInfo, nodeName: string): void;
}

export interface BindPlugin extends Plugin {
  /** Binds; Skip passes the pod on to the next Bind plugin. */
  bind(state: CycleState, pod: PodInfo, nodeName: string): Promise<Status>;
}

export type AnyPlugin = Plugin & Partial<PreFilterPlugin & FilterPlugin & PostFilterPlugin & PreScorePlugin & ScorePlugin & ReservePlugin & BindPlugin>;

/**
 * Binder is how the scheduler reaches the cluster: the simulator implements it with the pods'
 * binding subresource and pod deletion; the benchmark with maps in memory.
 */
export interface Binder {
  bind(pod: KubeObject, nodeName: string): Promise<void>;
  /** Deletes a preemption victim. */
  deletePod(victim: KubeObject): Promise<void>;
  /** Records the node a preempting pod was nominated to (status.nominatedNodeName); optional. */
  nominate?(pod: KubeObject, nodeName: string | undefined): Promise<void>;
}

/** A policy/v1 PodDisruptionBudget, parsed. */
export interface DisruptionBudget {
  key: string;
  namespace: string;
  matches(pod: PodInfo): boolean;
  /** minAvailable or maxUnavailable as written: a count or a percentage string. */
  minAvailable?: number | string;
  maxUnavailable?: number | string;
}

/** What plugins may use of the framework that runs them. */
export interface FrameworkHandle {
  readonly snapshot: Snapshot;
  /** Runs every enabled Filter plugin for `pod` on `node` (skipping those PreFilter skipped). */
  runFilters(state: CycleState, pod: PodInfo, node: NodeInfo): Status;
  /** Like runFilters, but first as if the pods nominated to `node` with at least the pod's priority were placed. */
  runFiltersWithNominatedPods(state: CycleState, pod: PodInfo, node: NodeInfo): Status;
  /**
   * The pods nominated to `node` that runFiltersWithNominatedPods counts as placed for `pod`
   * (others of at least its priority), or undefined when there are none.
   */
  nominatedPodsFor(pod: PodInfo, node: NodeInfo): readonly PodInfo[] | undefined;
  /**
   * What runFiltersWithNominatedPods would say of `node` with pods summing to `delta` added (or,
   * negative, taken off), judged by arithmetic without changing the node; `podsOnly` skips the
   * filters marked nodeOnly (for callers that know they passed on this node). Undefined when
   * some filter in force this cycle cannot judge that way, or PreFilter data would need
   * updating (InterPodAffinity, PodTopologySpread): then change the node with withPodsChanged.
   */
  runFiltersWithDelta(state: CycleState, pod: PodInfo, node: NodeInfo, delta: Resources, podsOnly?: boolean): Status | undefined;
  /**
   * Calls `fn` with `node` changed as if `added` were placed and `removed` gone (and the cycle
   * state updated to match), then restores the node's pods. `fn` may add back pods of `removed`
   * (and remove them again); it must not keep the node or state.
   */
  withPodsChanged<T>(state: CycleState, pod: PodInfo, node: NodeInfo, added: readonly PodInfo[], removed: readonly PodInfo[], fn: (state: CycleState, node: NodeInfo) => T): T;
  /** Runs the PreFilter plugins' addPod/removePod extensions. */
  runPreFilterAddPod(state: CycleState, pod: PodInfo, added: PodInfo, node: NodeInfo): void;
  runPreFilterRemovePod(state: CycleState, pod: PodInfo, removed: PodInfo, node: NodeInfo): void;
  /** The disruption budgets in force. */
  disruptionBudgets(): readonly DisruptionBudget[];
  /** The binder, for the default Bind plugin. */
  readonly binder: Binder | undefined;
  /** A number in [0, 1): tie-breaks and sampling offsets; injectable for reproducible tests. */
  random(): number;
}

/** Builds a plugin from its (already shape-checked) args; throws an Error whose message names the bad arg. */
export type PluginFactory = (args: Record<string, unknown>, handle: FrameworkHandle) => AnyPlugin;
