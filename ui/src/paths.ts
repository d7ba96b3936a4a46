/** The API paths the portal lists and watches. */
export const paths = {
  clusters: '/apis/fleet.nephele.dev/v1alpha1/clusters',
  fleets: '/apis/fleet.nephele.dev/v1alpha1/fleets',
  bindings: '/apis/fleet.nephele.dev/v1alpha1/resourcebindings',
  events: '/api/v1/events',
  /** The member proxy (src/hub/portal.ts): a member's nodes and pods, listed through the hub. */
  memberNodes: (cluster: string) => `/apis/fleet.nephele.dev/v1alpha1/clusters/${encodeURIComponent(cluster)}/proxy/api/v1/nodes`,
  memberPods: (cluster: string) => `/apis/fleet.nephele.dev/v1alpha1/clusters/${encodeURIComponent(cluster)}/proxy/api/v1/pods`,
};

/** The policy kinds the Policies view shows, with their URL segment and whether they are namespaced. */
export const policyKinds = [
  { kind: 'DistributionPolicy', plural: 'distributionpolicies', namespaced: true },
  { kind: 'ClusterDistributionPolicy', plural: 'clusterdistributionpolicies', namespaced: false },
  { kind: 'OverridePolicy', plural: 'overridepolicies', namespaced: true },
  { kind: 'ClusterOverridePolicy', plural: 'clusteroverridepolicies', namespaced: false },
] as const;

export const policyGroupVersion = 'policy.nephele.dev/v1alpha1';

export function policyPath(plural: string): string {
  return `/apis/${policyGroupVersion}/${plural}`;
}
