/**
 * Patch and list metadata of the built-in kinds' fields, as Kubernetes declares them in its Go types
 * (`patchStrategy`/`patchMergeKey` struct tags, `+listType`/`+listMapKey` markers) and publishes them
 * in OpenAPI as `x-kubernetes-patch-*` and `x-kubernetes-list-*`.
 *
 * This table is kept by hand because no installed package carries it: client-node's models are
 * generated through openapi-generator, which drops every `x-kubernetes-*` extension, and
 * kubernetes-models' validators drop them too. Strategic merge patch and server-side apply need it to
 * merge lists by key instead of replacing them, so a field missing here degrades to "replace the
 * whole list". Entries are keyed by schema name, then JSON field name.
 */

export interface PatchMetadata {
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
}

/** A list merged by key: `patchStrategy=merge` (or `strategy`), `patchMergeKey`, `listType=map` on `mapKeys`. */
function mergedByKey(mergeKey: string, mapKeys: string[] = [mergeKey], strategy = 'merge'): PatchMetadata {
  return {
    'x-kubernetes-list-map-keys': mapKeys,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-patch-merge-key': mergeKey,
    'x-kubernetes-patch-strategy': strategy,
  };
}

/** A list keyed for server-side apply only (`listType=map`), replaced whole by strategic merge patch. */
function keyed(...mapKeys: string[]): PatchMetadata {
  return { 'x-kubernetes-list-map-keys': mapKeys, 'x-kubernetes-list-type': 'map' };
}

/** A list replaced as a whole (`listType=atomic`). */
const atomic: PatchMetadata = { 'x-kubernetes-list-type': 'atomic' };

const containerLists: Record<string, PatchMetadata> = {
  args: atomic,
  command: atomic,
  env: mergedByKey('name'),
  envFrom: atomic,
  ports: mergedByKey('containerPort', ['containerPort', 'protocol']),
  resizePolicy: atomic,
  restartPolicyRules: atomic,
  volumeDevices: mergedByKey('devicePath'),
  volumeMounts: mergedByKey('mountPath'),
};

const core = 'io.k8s.api.core.v1';
const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const apps = 'io.k8s.api.apps.v1';
const batch = 'io.k8s.api.batch.v1';
const apiextensions = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1';
const admissionregistration = 'io.k8s.api.admissionregistration.v1';

export const patchMetadata: Readonly<Record<string, Readonly<Record<string, PatchMetadata>>>> = {
  [`${meta}.ObjectMeta`]: {
    finalizers: { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
    managedFields: atomic,
    ownerReferences: mergedByKey('uid'),
  },
  [`${meta}.LabelSelector`]: { matchExpressions: atomic },
  [`${meta}.LabelSelectorRequirement`]: { values: atomic },

  [`${core}.PodSpec`]: {
    containers: mergedByKey('name'),
    ephemeralContainers: mergedByKey('name'),
    hostAliases: mergedByKey('ip'),
    imagePullSecrets: mergedByKey('name'),
    initContainers: mergedByKey('name'),
    readinessGates: atomic,
    resourceClaims: mergedByKey('name', ['name'], 'merge,retainKeys'),
    schedulingGates: mergedByKey('name'),
    tolerations: atomic,
    topologySpreadConstraints: mergedByKey('topologyKey', ['topologyKey', 'whenUnsatisfiable']),
    volumes: mergedByKey('name', ['name'], 'merge,retainKeys'),
  },
  [`${core}.Container`]: containerLists,
  [`${core}.EphemeralContainer`]: containerLists,
  [`${core}.ServiceSpec`]: {
    clusterIPs: atomic,
    externalIPs: atomic,
    ipFamilies: atomic,
    loadBalancerSourceRanges: atomic,
    ports: mergedByKey('port', ['port', 'protocol']),
  },
  [`${core}.ServiceStatus`]: { conditions: mergedByKey('type') },
  [`${core}.LoadBalancerStatus`]: { ingress: atomic },
  [`${core}.NamespaceSpec`]: { finalizers: atomic },
  [`${core}.NamespaceStatus`]: { conditions: mergedByKey('type') },
  [`${core}.PodStatus`]: {
    conditions: mergedByKey('type'),
    containerStatuses: atomic,
    ephemeralContainerStatuses: atomic,
    hostIPs: mergedByKey('ip'),
    initContainerStatuses: atomic,
    podIPs: mergedByKey('ip'),
  },
  [`${core}.NodeSpec`]: { podCIDRs: { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' }, taints: atomic },
  [`${core}.NodeStatus`]: {
    addresses: mergedByKey('type'),
    conditions: mergedByKey('type'),
    images: atomic,
    volumesAttached: atomic,
    volumesInUse: atomic,
  },
  [`${core}.NodeSelector`]: { nodeSelectorTerms: atomic },
  [`${core}.NodeSelectorTerm`]: { matchExpressions: atomic, matchFields: atomic },
  [`${core}.LimitRangeSpec`]: { limits: atomic },
  [`${core}.ResourceQuotaSpec`]: { scopes: atomic },
  [`${core}.PersistentVolumeClaimSpec`]: { accessModes: atomic },
  [`${core}.PersistentVolumeClaimStatus`]: { accessModes: atomic, conditions: mergedByKey('type') },

  [`${apps}.DeploymentSpec`]: { strategy: { 'x-kubernetes-patch-strategy': 'retainKeys' } },
  [`${apps}.DeploymentStatus`]: { conditions: mergedByKey('type') },
  [`${apps}.StatefulSetSpec`]: { volumeClaimTemplates: atomic },
  [`${apps}.StatefulSetStatus`]: { conditions: mergedByKey('type') },
  [`${apps}.DaemonSetStatus`]: { conditions: mergedByKey('type') },
  [`${apps}.ReplicaSetStatus`]: { conditions: mergedByKey('type') },

  [`${batch}.JobStatus`]: {
    conditions: { 'x-kubernetes-list-type': 'atomic', 'x-kubernetes-patch-merge-key': 'type', 'x-kubernetes-patch-strategy': 'merge' },
  },
  [`${batch}.PodFailurePolicy`]: { rules: atomic },
  [`${batch}.SuccessPolicy`]: { rules: atomic },

  [`${admissionregistration}.MutatingWebhookConfiguration`]: { webhooks: mergedByKey('name') },
  [`${admissionregistration}.ValidatingWebhookConfiguration`]: { webhooks: mergedByKey('name') },
  [`${admissionregistration}.MutatingWebhook`]: { admissionReviewVersions: atomic, matchConditions: mergedByKey('name'), rules: atomic },
  [`${admissionregistration}.ValidatingWebhook`]: { admissionReviewVersions: atomic, matchConditions: mergedByKey('name'), rules: atomic },

  [`${apiextensions}.CustomResourceDefinitionSpec`]: { versions: atomic },
  [`${apiextensions}.CustomResourceDefinitionStatus`]: { conditions: keyed('type'), storedVersions: atomic },
};

/**
 * Defaults Kubernetes publishes for fields that are list-map keys. Server-side apply needs them
 * to key an item the client left them out of (a container port without `protocol` is TCP).
 */
export const keyFieldDefaults: Record<string, Record<string, unknown>> = {
  'io.k8s.api.core.v1.ContainerPort': { protocol: 'TCP' },
  'io.k8s.api.core.v1.ServicePort': { protocol: 'TCP' },
};
