/**
 * One small interface per extension point, as in the in-cluster scheduler, but for clusters: a
 * plugin is an object with a `name` and the methods of the points it serves (PreFilter, Filter,
 * PreScore, Score); the framework finds them by shape. Outcomes are returned Status values.
 * Selection (spread constraints) and division of replicas are fixed steps after scoring, as in
 * Karmada, since their semantics are the policy's, not a plugin's.
 */
import type { PlacementSpec } from '../../api/kinds/policy.ts';
import type { ClusterInfo } from './cluster-info.ts';
import type { ReplicaRequirements } from './requirements.ts';
import type { Status } from './status.ts';

/** The cluster affinity in force for one attempt: `clusterAffinity`, or one term of `clusterAffinities`. */
export interface AffinityTerm {
  affinityName?: string;
  clusterNames?: string[];
  exclude?: string[];
  labelSelector?: unknown;
  fieldSelector?: { matchExpressions: Array<{ key: 'provider' | 'region' | 'zone'; operator: 'In' | 'NotIn'; values: string[] }> };
}

/**
 * What plugins see of one placement attempt. `data` carries what PreFilter and PreScore compute
 * once for the attempt, keyed by plugin name; it dies with the attempt.
 */
export interface PlacementCycle {
  readonly placement: PlacementSpec;
  readonly requirements: ReplicaRequirements;
  /** The affinity term being tried; undefined when the placement has none. */
  readonly affinity: AffinityTerm | undefined;
  /** Replicas per cluster in the previous decision (clusters with 0 are listed too when they were targets). */
  readonly previous: ReadonlyMap<string, number>;
  readonly data: Map<string, unknown>;
}

export interface PlacementPlugin {
  readonly name: string;
}

export interface ClusterFilterPlugin extends PlacementPlugin {
  /** Computes per-attempt data; Skip means this plugin's Filter is not needed for this placement. */
  preFilter?(cycle: PlacementCycle): Status;
  /** Success, or Unschedulable with a countable reason and a per-cluster detail. */
  filter(cycle: PlacementCycle, cluster: ClusterInfo): Status;
}

/** The objectives of placement.objectives a score plugin can measure. */
export type Objective = 'cost' | 'energy' | 'latency';

export interface ClusterScorePlugin extends PlacementPlugin {
  /**
   * Set on objective plugins. Their score is a raw measure where lower is better (USD, grams,
   * milliseconds; NaN when the cluster does not report it); the framework normalises it across
   * the feasible clusters and weighs it by the placement's objective weight. Other plugins score
   * 0..100 directly and are weighed by the profile.
   */
  readonly objective?: Objective;
  /** Computes per-attempt data over the feasible clusters; Skip means this plugin does not score this placement. */
  preScore?(cycle: PlacementCycle, clusters: readonly ClusterInfo[]): Status;
  score(cycle: PlacementCycle, cluster: ClusterInfo): number;
}

export type AnyPlacementPlugin = PlacementPlugin & Partial<ClusterFilterPlugin & ClusterScorePlugin>;

/** Builds a plugin from its args; throws an Error whose message names the bad arg. */
export type PlacementPluginFactory = (args: Record<string, unknown>) => AnyPlacementPlugin;

/** A placement profile: the filters in the order they run and the non-objective score plugins with their weights. */
export interface PlacementProfile {
  filters: readonly string[];
  scores: ReadonlyArray<{ name: string; weight: number }>;
  /** Args per plugin name. */
  pluginArgs?: Readonly<Record<string, Record<string, unknown>>>;
}
