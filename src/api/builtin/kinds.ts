/**
 * The built-in Kubernetes kinds Nephele knows (the hub serves some, a simulated member cluster all), with the name of the @kubernetes/client-node model
 * that describes each. This table is the one place that decides which upstream kinds exist here:
 * the published OpenAPI and validation both read it.
 */

export interface BuiltinKind {
  /** API group; '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** The @kubernetes/client-node model class; its list model is the same name with `List` appended. */
  model: string;
  /** A review kind (SelfSubjectAccessReview): created and answered, never listed, so it has no list model. */
  review?: true;
}

export const builtinKinds = [
  { group: '', version: 'v1', kind: 'Namespace', model: 'V1Namespace' },
  { group: '', version: 'v1', kind: 'ConfigMap', model: 'V1ConfigMap' },
  { group: '', version: 'v1', kind: 'Secret', model: 'V1Secret' },
  { group: '', version: 'v1', kind: 'Service', model: 'V1Service' },
  { group: '', version: 'v1', kind: 'Event', model: 'CoreV1Event' },
  { group: '', version: 'v1', kind: 'Node', model: 'V1Node' },
  { group: '', version: 'v1', kind: 'Pod', model: 'V1Pod' },
  { group: '', version: 'v1', kind: 'LimitRange', model: 'V1LimitRange' },
  { group: '', version: 'v1', kind: 'ResourceQuota', model: 'V1ResourceQuota' },
  { group: 'apps', version: 'v1', kind: 'Deployment', model: 'V1Deployment' },
  { group: 'apps', version: 'v1', kind: 'StatefulSet', model: 'V1StatefulSet' },
  { group: 'apps', version: 'v1', kind: 'DaemonSet', model: 'V1DaemonSet' },
  { group: 'apps', version: 'v1', kind: 'ReplicaSet', model: 'V1ReplicaSet' },
  { group: 'batch', version: 'v1', kind: 'Job', model: 'V1Job' },
  { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', model: 'V1Lease' },
  { group: 'scheduling.k8s.io', version: 'v1', kind: 'PriorityClass', model: 'V1PriorityClass' },
  { group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', model: 'V1PodDisruptionBudget' },
  { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration', model: 'V1MutatingWebhookConfiguration' },
  { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingWebhookConfiguration', model: 'V1ValidatingWebhookConfiguration' },
  { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', model: 'V1CustomResourceDefinition' },
  { group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview', model: 'V1SelfSubjectAccessReview', review: true },
  { group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectRulesReview', model: 'V1SelfSubjectRulesReview', review: true },
  { group: 'authentication.k8s.io', version: 'v1', kind: 'SelfSubjectReview', model: 'V1SelfSubjectReview', review: true },
] as const satisfies readonly BuiltinKind[];

/** `apps/v1` for a group and version, `v1` for the core group. */
export function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

/** The (apiVersion, kind) pairs of every built-in kind, in table order. */
export const supportedBuiltinKinds: ReadonlyArray<{ apiVersion: string; kind: string }> = builtinKinds.map((k) => ({
  apiVersion: apiVersionOf(k.group, k.version),
  kind: k.kind,
}));
