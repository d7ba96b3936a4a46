/**
 * The fleet domain: member cluster registration and status, placement, distribution and
 * failover. `fleetControllers` lists the controllers the hub runs (leader-only), in start order.
 */
import type { FleetController } from './context.ts';
import { clusterController, fleetController } from './clusters/index.ts';
import { distributionControllers } from './distribution/index.ts';

export { MemberConnections, type ConnectionListener } from './connections.ts';
export { executionNamespace, fleetRefs, type FleetContext, type FleetController } from './context.ts';
export {
  applyWork, pruneWork, workStatus, clusterAgent, clusterController, fleetController, simulatedDownAnnotation, notReadyTaintKey, unreachableTaintKey,
  clusterCleanupFinalizer, agentCleanupFinalizer, workNameLabel, workNamespaceLabel, isClusterReady,
  type ApplyWorkOptions, type ClusterAgentOptions, type ClusterControllerOptions, type ManifestIdentifier, type ManifestStatus, type WorkStatusSummary,
} from './clusters/index.ts';

/** The hub's fleet controllers; each area adds its own here. */
export function fleetControllers(): FleetController[] {
  return [
    clusterController(),
    fleetController(),
    ...distributionControllers(),
  ];
}
