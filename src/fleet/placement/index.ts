/**
 * Fleet placement: where a resource goes among the member clusters and how its replicas are
 * divided, as a pure library. Karmada's placement semantics (cluster affinity with ordered
 * fallbacks, tolerations, spread constraints, Duplicated / Divided by static weights, available
 * replicas or aggregation) plus objectives (cost, energy, latency) that shape both the choice and
 * the split, GPU constraints and data residency. The framework mirrors the in-cluster scheduler:
 * plugins at extension points returning Status values, a registry and profiles.
 */
export { schedulePlacement, type PlacementInput, type PlacementOptions, type PlacementResult, type TargetCluster } from './schedule.ts';
export { Status as PlacementStatus, type PlacementCode } from './status.ts';
export { clusterInfo, gpuResource, PlacementInputError, type ClusterInfo, type ClusterTaint, type GpuCounts, type ResourceShape } from './cluster-info.ts';
export { replicaRequirements, type ReplicaRequirements, type GpuRequirement } from './requirements.ts';
export { defaultReplicaEstimator, gpuReplicas, gpuShapeName, unlimitedReplicas, type ReplicaEstimator } from './estimator.ts';
export { divideByWeight, divideReplicas, type DivisionCandidate, type DivisionMode, type DivisionOptions, type DivisionResult } from './divide.ts';
export { selectClusters, spreadPlan, type RankedCluster, type SelectionResult, type SpreadPlan } from './select.ts';
export { compileClusterTerm, type ClusterMatcher } from './cluster-matcher.ts';
export type {
  AffinityTerm, AnyPlacementPlugin, ClusterFilterPlugin, ClusterScorePlugin, Objective, PlacementCycle, PlacementPlugin, PlacementPluginFactory, PlacementProfile,
} from './interfaces.ts';
export { placementRegistry, defaultPlacementProfile, objectivePlugins } from './plugins/registry.ts';
export { tolerates } from './plugins/taint-toleration.ts';
export { makeCluster, makeWorkload, ClusterBuilder, WorkloadBuilder } from './testing.ts';
export type { ExplanationEntry, PlacementSpec } from '../../api/kinds/policy.ts';
