/**
 * Member cluster registration and status: the cluster and fleet controllers the hub runs, the
 * pull agent, and applying Work to a member (shared by the hub's execution and the agent).
 */
export {
  clusterController, clusterMode, clusterCleanupFinalizer, clusterReasons, defaultKubeconfigKey, secretsRef,
  type ClusterControllerOptions, type ClusterMode,
} from './cluster-controller.ts';
export { fleetController, fleetMembers } from './fleet-controller.ts';
export { clusterAgent, agentCleanupFinalizer, type ClusterAgent, type ClusterAgentOptions } from './agent.ts';
export {
  applyWork, pruneWork, workStatus, appliedIdentifiers, manifestIdentifier, healthOf, defaultWorkFieldManager, workNameLabel, workNamespaceLabel,
  type ApplyWorkOptions, type ManifestError, type ManifestIdentifier, type ManifestStatus, type WorkStatusSummary,
} from './apply-work.ts';
export { FailableMemberClient, simulatedDownAnnotation } from './failable-member.ts';
export { MemberObserver, ModelQueue, type MemberObserverOptions, type MemberReport } from './observer.ts';
export { notReadyTaintKey, unreachableTaintKey, reconcileTaints, setCondition, findCondition, isClusterReady, type ClusterTaint, type Condition } from './conditions.ts';
export {
  summarizeResources, resourceModel, podRequests, standardShapes, gpuProductLabel, gpuResource, hourlyPriceAnnotation,
  type ClusterResourceSummary, type GpuModelSummary, type ResourceModelEntry, type ResourceShape,
} from './summary.ts';
