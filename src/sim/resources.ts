/** The ResourceRefs the simulator's controllers read and write through an ObjectClient. */
import type { ResourceRef } from '../client/index.ts';

const core = (kind: string, plural: string, namespaced = true): ResourceRef => ({ group: '', version: 'v1', kind, plural, namespaced });
const apps = (kind: string, plural: string): ResourceRef => ({ group: 'apps', version: 'v1', kind, plural, namespaced: true });

export const podsRef = core('Pod', 'pods');
export const nodesRef = core('Node', 'nodes', false);
export const namespacesRef = core('Namespace', 'namespaces', false);
export const eventsRef = core('Event', 'events');
export const limitRangesRef = core('LimitRange', 'limitranges');
export const resourceQuotasRef = core('ResourceQuota', 'resourcequotas');
export const deploymentsRef = apps('Deployment', 'deployments');
export const replicaSetsRef = apps('ReplicaSet', 'replicasets');
export const statefulSetsRef = apps('StatefulSet', 'statefulsets');
export const daemonSetsRef = apps('DaemonSet', 'daemonsets');
export const jobsRef: ResourceRef = { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true };
export const leasesRef: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true };
export const priorityClassesRef: ResourceRef = { group: 'scheduling.k8s.io', version: 'v1', kind: 'PriorityClass', plural: 'priorityclasses', namespaced: false };
export const podDisruptionBudgetsRef: ResourceRef = { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true };
