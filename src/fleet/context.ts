/**
 * What the hub's fleet controllers are given: a client to the hub's own API (in process), the
 * connections to member clusters, the hub's home (simulated members live under
 * HOME/clusters/NAME), its clock and timers, metrics and events. Each fleet controller is a
 * function of this context returning a runnable the hub's manager starts under leader election.
 */
import type { Registry } from 'prom-client';
import type { ObjectClient, ResourceRef } from '../client/index.ts';
import type { ControllerLog, EventRecorder, Runnable, Scheduler } from '../controller/index.ts';
import type { MemberConnections } from './connections.ts';

export interface FleetContext {
  client: ObjectClient;
  members: MemberConnections;
  home: string;
  scheduler: Scheduler;
  metrics: Registry;
  recorder(component: string): EventRecorder;
  log: ControllerLog;
  /** The hub's resource for an apiVersion and kind (templates of any served kind), if it serves one. */
  resourceFor(apiVersion: string, kind: string): ResourceRef | undefined;
}

export type FleetController = (context: FleetContext) => Runnable;

export const fleetRefs = {
  clusters: { group: 'fleet.nephele.dev', version: 'v1alpha1', kind: 'Cluster', plural: 'clusters', namespaced: false },
  fleets: { group: 'fleet.nephele.dev', version: 'v1alpha1', kind: 'Fleet', plural: 'fleets', namespaced: false },
  resourceBindings: { group: 'fleet.nephele.dev', version: 'v1alpha1', kind: 'ResourceBinding', plural: 'resourcebindings', namespaced: true },
  works: { group: 'fleet.nephele.dev', version: 'v1alpha1', kind: 'Work', plural: 'works', namespaced: true },
  distributionPolicies: { group: 'policy.nephele.dev', version: 'v1alpha1', kind: 'DistributionPolicy', plural: 'distributionpolicies', namespaced: true },
  clusterDistributionPolicies: { group: 'policy.nephele.dev', version: 'v1alpha1', kind: 'ClusterDistributionPolicy', plural: 'clusterdistributionpolicies', namespaced: false },
  overridePolicies: { group: 'policy.nephele.dev', version: 'v1alpha1', kind: 'OverridePolicy', plural: 'overridepolicies', namespaced: true },
  clusterOverridePolicies: { group: 'policy.nephele.dev', version: 'v1alpha1', kind: 'ClusterOverridePolicy', plural: 'clusteroverridepolicies', namespaced: false },
} as const;

/** The namespace on the hub that holds the Work objects for one member cluster. */
export function executionNamespace(cluster: string): string {
  return `nephele-cluster-${cluster}`;
}
