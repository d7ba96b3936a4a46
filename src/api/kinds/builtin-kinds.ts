/**
 * The built-in Kubernetes kinds the hub serves. Their schemas and validation come from the
 * upstream Kubernetes models (see ../builtin); this file adds what the API server needs around
 * them: names for discovery, printer columns, field selectors and defaults. On the hub, workload
 * kinds are stored as templates to distribute to member clusters and nothing runs; the member-cluster
 * kinds (Node, Pod, ReplicaSet, ...) are served only by simulated clusters (see hub.ts, `profile`).
 */
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject } from '../../machinery/object.ts';
import type { StatusCause } from '../../machinery/status-error.ts';
import { builtinOpenAPI, validateBuiltin } from '../builtin/index.ts';
import type { ActionSubresource, PrinterColumn, ResourceType } from '../resource-type.ts';

interface BuiltinSpec {
  group: string;
  version: string;
  kind: string;
  plural: string;
  shortNames?: string[];
  categories?: string[];
  namespaced: boolean;
  schemaName: string;
  printerColumns?: PrinterColumn[];
  status?: boolean;
  statusOnCreate?: boolean;
  /** A review kind: created only, answered by the API server, never stored (see ResourceType.review). */
  review?: boolean;
  scale?: boolean;
  /** Action subresources (pods/binding, pods/eviction); the cluster that serves the kind implements them. */
  actions?: ActionSubresource[];
  fieldLabels?: ResourceType['fieldLabels'];
  applyDefaults?: (obj: KubeObject) => void;
  validateUpdate?: (obj: KubeObject, old: KubeObject) => StatusCause[];
}

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since the object was created' };

function record(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function ensure(parent: Record<string, unknown>, field: string): Record<string, unknown> {
  if (!isPlainObject(parent[field])) parent[field] = {};
  return parent[field] as Record<string, unknown>;
}

/** Pod template defaults that Kubernetes fills in, so stored templates read like real ones. */
function defaultPodSpec(spec: Record<string, unknown>): void {
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const field of ['containers', 'initContainers']) {
    for (const container of list(spec[field])) {
      if (!isPlainObject(container)) continue;
      const image = typeof container.image === 'string' ? container.image : '';
      const tagged = /:[^/]+$/.test(image.split('@')[0] ?? '') && !image.endsWith(':latest');
      container.imagePullPolicy ??= tagged || image.includes('@') ? 'IfNotPresent' : 'Always';
      container.terminationMessagePath ??= '/dev/termination-log';
      container.terminationMessagePolicy ??= 'File';
      container.resources ??= {};
      for (const port of list(container.ports)) if (isPlainObject(port)) port.protocol ??= 'TCP';
    }
  }
}

/** A Pod's container that sets a limit but no request for a resource requests the limit, as Kubernetes defaults it. */
function defaultRequestsFromLimits(spec: Record<string, unknown>): void {
  for (const field of ['containers', 'initContainers']) {
    for (const container of list(spec[field])) {
      if (!isPlainObject(container) || !isPlainObject(container.resources) || !isPlainObject(container.resources.limits)) continue;
      const requests = isPlainObject(container.resources.requests) ? container.resources.requests : {};
      for (const [name, value] of Object.entries(container.resources.limits)) requests[name] ??= value;
      container.resources.requests = requests;
    }
  }
}

function defaultTemplate(obj: KubeObject): void {
  const spec = record(obj.spec);
  const template = record(spec.template);
  if (isPlainObject(template.spec)) defaultPodSpec(template.spec);
}

/** A count read from status; absent counts print as 0, as kubectl shows them for built-in kinds. */
function replicasColumn(name: string, jsonPath: string): PrinterColumn {
  const field = jsonPath.split('.').pop()!;
  return { name, type: 'integer', jsonPath, value: (o) => Number(record(o.status)[field] ?? 0) };
}

const webhooksColumn: PrinterColumn = { name: 'Webhooks', type: 'integer', jsonPath: '.webhooks', value: (o) => list(o.webhooks).length };

function images(obj: KubeObject): string {
  return list(record(record(record(obj.spec).template).spec).containers).map((c) => String(record(c).image ?? '')).join(',');
}

function containerNames(obj: KubeObject): string {
  return list(record(record(record(obj.spec).template).spec).containers).map((c) => String(record(c).name ?? '')).join(',');
}

function selectorText(obj: KubeObject): string {
  const selector = record(record(obj.spec).selector);
  const labels = isPlainObject(selector.matchLabels) ? selector.matchLabels : selector;
  return Object.entries(labels).filter(([, v]) => typeof v === 'string').map(([k, v]) => `${k}=${String(v)}`).join(',') || '<none>';
}

/** The `-o wide` columns of kinds that carry a pod template. */
const containersColumn: PrinterColumn = { name: 'Containers', type: 'string', jsonPath: '.spec.template.spec.containers[*].name', priority: 1, value: containerNames };
const imagesColumn: PrinterColumn = { name: 'Images', type: 'string', jsonPath: '.spec.template.spec.containers[*].image', priority: 1, value: images };
const templateColumns: PrinterColumn[] = [
  containersColumn,
  imagesColumn,
  { name: 'Selector', type: 'string', jsonPath: '.spec.selector', priority: 1, value: selectorText },
];

const specs: BuiltinSpec[] = [
  {
    group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', shortNames: ['ns'], namespaced: false,
    schemaName: 'io.k8s.api.core.v1.Namespace', status: true,
    printerColumns: [{ name: 'Status', type: 'string', jsonPath: '.status.phase' }, age],
    fieldLabels: { 'status.phase': (o) => String(record(o.status).phase ?? '') },
    applyDefaults(obj) {
      const spec = ensure(obj, 'spec');
      spec.finalizers ??= ['kubernetes'];
      const status = ensure(obj, 'status');
      if (!obj.metadata.deletionTimestamp) status.phase ??= 'Active';
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name ?? '' };
    },
  },
  {
    group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', shortNames: ['cm'], namespaced: true,
    schemaName: 'io.k8s.api.core.v1.ConfigMap',
    printerColumns: [{ name: 'Data', type: 'integer', jsonPath: '.data', value: (o) => Object.keys(record(o.data)).length + Object.keys(record(o.binaryData)).length }, age],
  },
  {
    group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true,
    schemaName: 'io.k8s.api.core.v1.Secret',
    printerColumns: [{ name: 'Type', type: 'string', jsonPath: '.type' }, { name: 'Data', type: 'integer', jsonPath: '.data', value: (o) => Object.keys(record(o.data)).length }, age],
    fieldLabels: { type: (o) => String(o.type ?? '') },
    applyDefaults(obj) {
      obj.type ??= 'Opaque';
      // stringData is write-only: it is folded into data (base64) as Kubernetes does.
      if (isPlainObject(obj.stringData)) {
        const data = ensure(obj, 'data');
        for (const [key, value] of Object.entries(obj.stringData)) data[key] = Buffer.from(String(value)).toString('base64');
        delete obj.stringData;
      }
    },
    validateUpdate(obj, old) {
      if (old.immutable === true && (JSON.stringify(obj.data) !== JSON.stringify(old.data) || obj.immutable !== true)) {
        return [{ reason: 'FieldValueForbidden', field: 'data', message: 'Forbidden: field is immutable when `immutable` is set' }];
      }
      if (old.type !== undefined && obj.type !== old.type) return [{ reason: 'FieldValueInvalid', field: 'type', message: `Invalid value: ${JSON.stringify(obj.type)}: field is immutable` }];
      return [];
    },
  },
  {
    group: '', version: 'v1', kind: 'Service', plural: 'services', shortNames: ['svc'], categories: ['all'], namespaced: true,
    schemaName: 'io.k8s.api.core.v1.Service', status: true,
    printerColumns: [
      { name: 'Type', type: 'string', jsonPath: '.spec.type' },
      { name: 'Cluster-IP', type: 'string', jsonPath: '.spec.clusterIP' },
      { name: 'External-IP', type: 'string', jsonPath: '.spec.externalIPs', value: (o) => list(record(o.spec).externalIPs).join(',') || '<none>' },
      { name: 'Port(s)', type: 'string', jsonPath: '.spec.ports', value: (o) => list(record(o.spec).ports).map((p) => `${String(record(p).port)}/${String(record(p).protocol ?? 'TCP')}`).join(',') || '<none>' },
      age,
      { name: 'Selector', type: 'string', jsonPath: '.spec.selector', priority: 1, value: (o) => Object.entries(record(record(o.spec).selector)).map(([k, v]) => `${k}=${String(v)}`).join(',') || '<none>' },
    ],
    applyDefaults(obj) {
      const spec = ensure(obj, 'spec');
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      for (const port of list(spec.ports)) {
        if (!isPlainObject(port)) continue;
        port.protocol ??= 'TCP';
        port.targetPort ??= port.port;
      }
    },
  },
  {
    group: '', version: 'v1', kind: 'Event', plural: 'events', shortNames: ['ev'], namespaced: true,
    schemaName: 'io.k8s.api.core.v1.Event',
    printerColumns: [
      { name: 'Last Seen', type: 'date', jsonPath: '.lastTimestamp', value: (o) => o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp },
      { name: 'Type', type: 'string', jsonPath: '.type' },
      { name: 'Reason', type: 'string', jsonPath: '.reason' },
      { name: 'Object', type: 'string', jsonPath: '.involvedObject', value: (o) => `${String(record(o.involvedObject).kind ?? '').toLowerCase()}/${String(record(o.involvedObject).name ?? '')}` },
      { name: 'Message', type: 'string', jsonPath: '.message' },
    ],
    fieldLabels: {
      'involvedObject.kind': (o) => String(record(o.involvedObject).kind ?? ''),
      'involvedObject.name': (o) => String(record(o.involvedObject).name ?? ''),
      'involvedObject.namespace': (o) => String(record(o.involvedObject).namespace ?? ''),
      'involvedObject.uid': (o) => String(record(o.involvedObject).uid ?? ''),
      reason: (o) => String(o.reason ?? ''),
      type: (o) => String(o.type ?? ''),
      source: (o) => String(record(o.source).component ?? ''),
    },
  },
  {
    group: '', version: 'v1', kind: 'Node', plural: 'nodes', shortNames: ['no'], namespaced: false,
    schemaName: 'io.k8s.api.core.v1.Node', status: true, statusOnCreate: true,
    printerColumns: [
      { name: 'Status', type: 'string', jsonPath: '.status.conditions', value: nodeStatus },
      { name: 'Roles', type: 'string', jsonPath: '.metadata.labels', value: nodeRoles },
      age,
      { name: 'Version', type: 'string', jsonPath: '.status.nodeInfo.kubeletVersion', value: (o) => String(record(record(o.status).nodeInfo).kubeletVersion ?? '') },
      { name: 'Internal-IP', type: 'string', jsonPath: '.status.addresses', priority: 1, value: (o) => nodeAddress(o, 'InternalIP') },
      { name: 'External-IP', type: 'string', jsonPath: '.status.addresses', priority: 1, value: (o) => nodeAddress(o, 'ExternalIP') },
      { name: 'OS-Image', type: 'string', jsonPath: '.status.nodeInfo.osImage', priority: 1, value: (o) => nodeInfo(o, 'osImage') },
      { name: 'Kernel-Version', type: 'string', jsonPath: '.status.nodeInfo.kernelVersion', priority: 1, value: (o) => nodeInfo(o, 'kernelVersion') },
      { name: 'Container-Runtime', type: 'string', jsonPath: '.status.nodeInfo.containerRuntimeVersion', priority: 1, value: (o) => nodeInfo(o, 'containerRuntimeVersion') },
    ],
    fieldLabels: { 'spec.unschedulable': (o) => String(record(o.spec).unschedulable === true) },
  },
  {
    group: '', version: 'v1', kind: 'Pod', plural: 'pods', shortNames: ['po'], categories: ['all'], namespaced: true,
    schemaName: 'io.k8s.api.core.v1.Pod', status: true,
    actions: [
      { name: 'binding', kind: { group: '', version: 'v1', kind: 'Binding' } },
      { name: 'eviction', kind: { group: 'policy', version: 'v1', kind: 'Eviction' } },
    ],
    printerColumns: [
      { name: 'Ready', type: 'string', jsonPath: '.status.containerStatuses', value: (o) => `${containerStatuses(o).filter((c) => c.ready === true).length}/${list(record(o.spec).containers).length}` },
      { name: 'Status', type: 'string', jsonPath: '.status.phase', value: podStatus },
      { name: 'Restarts', type: 'integer', jsonPath: '.status.containerStatuses', value: (o) => containerStatuses(o).reduce((n, c) => n + Number(c.restartCount ?? 0), 0) },
      age,
      { name: 'IP', type: 'string', jsonPath: '.status.podIP', priority: 1, value: (o) => String(record(o.status).podIP ?? '<none>') },
      { name: 'Node', type: 'string', jsonPath: '.spec.nodeName', priority: 1, value: (o) => String(record(o.spec).nodeName ?? '<none>') },
      { name: 'Nominated Node', type: 'string', jsonPath: '.status.nominatedNodeName', priority: 1, value: (o) => String(record(o.status).nominatedNodeName ?? '<none>') },
      { name: 'Readiness Gates', type: 'string', jsonPath: '.spec.readinessGates', priority: 1, value: readinessGates },
    ],
    fieldLabels: {
      'spec.nodeName': (o) => String(record(o.spec).nodeName ?? ''),
      'spec.schedulerName': (o) => String(record(o.spec).schedulerName ?? ''),
      'spec.serviceAccountName': (o) => String(record(o.spec).serviceAccountName ?? ''),
      'spec.restartPolicy': (o) => String(record(o.spec).restartPolicy ?? ''),
      'status.phase': (o) => String(record(o.status).phase ?? ''),
      'status.podIP': (o) => String(record(o.status).podIP ?? ''),
      'status.nominatedNodeName': (o) => String(record(o.status).nominatedNodeName ?? ''),
    },
    applyDefaults(obj) {
      const spec = ensure(obj, 'spec');
      defaultPodSpec(spec);
      defaultRequestsFromLimits(spec);
      // Kubernetes starts every Pod Pending; its status is the kubelet's (or the simulator's) to write.
      ensure(obj, 'status').phase ??= 'Pending';
    },
  },
  {
    group: '', version: 'v1', kind: 'LimitRange', plural: 'limitranges', shortNames: ['limits'], namespaced: true,
    schemaName: 'io.k8s.api.core.v1.LimitRange',
    printerColumns: [{ name: 'Created At', type: 'string', jsonPath: '.metadata.creationTimestamp' }],
  },
  {
    group: '', version: 'v1', kind: 'ResourceQuota', plural: 'resourcequotas', shortNames: ['quota'], namespaced: true,
    schemaName: 'io.k8s.api.core.v1.ResourceQuota', status: true,
    printerColumns: [
      age,
      { name: 'Request', type: 'string', jsonPath: '.status', value: (o) => quotaUsage(o, (k) => !k.startsWith('limits.')) },
      { name: 'Limit', type: 'string', jsonPath: '.status', value: (o) => quotaUsage(o, (k) => k.startsWith('limits.')) },
    ],
  },
  {
    group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', shortNames: ['deploy'], categories: ['all'], namespaced: true,
    schemaName: 'io.k8s.api.apps.v1.Deployment', status: true, scale: true,
    printerColumns: [
      { name: 'Ready', type: 'string', jsonPath: '.status.readyReplicas', value: (o) => `${Number(record(o.status).readyReplicas ?? 0)}/${Number(record(o.spec).replicas ?? 0)}` },
      replicasColumn('Up-to-date', '.status.updatedReplicas'),
      replicasColumn('Available', '.status.availableReplicas'),
      age,
      ...templateColumns,
    ],
    applyDefaults(obj) {
      const spec = ensure(obj, 'spec');
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      const strategy = ensure(spec, 'strategy');
      strategy.type ??= 'RollingUpdate';
      if (strategy.type === 'RollingUpdate') {
        const rolling = ensure(strategy, 'rollingUpdate');
        rolling.maxSurge ??= '25%';
        rolling.maxUnavailable ??= '25%';
      }
      defaultTemplate(obj);
    },
  },
  {
    group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', shortNames: ['sts'], categories: ['all'], namespaced: true,
    schemaName: 'io.k8s.api.apps.v1.StatefulSet', status: true, scale: true,
    printerColumns: [
      { name: 'Ready', type: 'string', jsonPath: '.status.readyReplicas', value: (o) => `${Number(record(o.status).readyReplicas ?? 0)}/${Number(record(o.spec).replicas ?? 0)}` },
      age,
      containersColumn,
      imagesColumn,
    ],
    applyDefaults(obj) {
      const spec = ensure(obj, 'spec');
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.revisionHistoryLimit ??= 10;
      const strategy = ensure(spec, 'updateStrategy');
      strategy.type ??= 'RollingUpdate';
      defaultTemplate(obj);
    },
  },
  {
    group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', shortNames: ['ds'], categories: ['all'], namespaced: true,
    schemaName: 'io.k8s.api.apps.v1.DaemonSet', status: true,
    printerColumns: [
      replicasColumn('Desired', '.status.desiredNumberScheduled'),
      replicasColumn('Current', '.status.currentNumberScheduled'),
      replicasColumn('Ready', '.status.numberReady'),
      replicasColumn('Up-to-date', '.status.updatedNumberScheduled'),
      replicasColumn('Available', '.status.numberAvailable'),
      { name: 'Node Selector', type: 'string', jsonPath: '.spec.template.spec.nodeSelector', value: (o) => Object.entries(record(record(record(record(o.spec).template).spec).nodeSelector)).map(([k, v]) => `${k}=${String(v)}`).join(',') || '<none>' },
      age,
    ],
    applyDefaults(obj) {
      const spec = ensure(obj, 'spec');
      spec.revisionHistoryLimit ??= 10;
      const strategy = ensure(spec, 'updateStrategy');
      strategy.type ??= 'RollingUpdate';
      defaultTemplate(obj);
    },
  },
  {
    group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', shortNames: ['rs'], categories: ['all'], namespaced: true,
    schemaName: 'io.k8s.api.apps.v1.ReplicaSet', status: true, scale: true,
    printerColumns: [
      { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas', value: (o) => Number(record(o.spec).replicas ?? 1) },
      replicasColumn('Current', '.status.replicas'),
      replicasColumn('Ready', '.status.readyReplicas'),
      age,
      ...templateColumns,
    ],
    applyDefaults(obj) {
      ensure(obj, 'spec').replicas ??= 1;
      defaultTemplate(obj);
    },
  },
  {
    group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', categories: ['all'], namespaced: true,
    schemaName: 'io.k8s.api.batch.v1.Job', status: true,
    printerColumns: [
      { name: 'Status', type: 'string', jsonPath: '.status.conditions', value: jobStatus },
      { name: 'Completions', type: 'string', jsonPath: '.status.succeeded', value: (o) => `${Number(record(o.status).succeeded ?? 0)}/${Number(record(o.spec).completions ?? 1)}` },
      age,
      imagesColumn,
    ],
    applyDefaults(obj) {
      const spec = ensure(obj, 'spec');
      spec.parallelism ??= 1;
      spec.completions ??= 1;
      spec.backoffLimit ??= 6;
      spec.completionMode ??= 'NonIndexed';
      spec.suspend ??= false;
      const template = ensure(spec, 'template');
      const podSpec = ensure(template, 'spec');
      podSpec.restartPolicy ??= 'Never';
      defaultTemplate(obj);
    },
  },
  {
    group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true,
    schemaName: 'io.k8s.api.coordination.v1.Lease',
    printerColumns: [{ name: 'Holder', type: 'string', jsonPath: '.spec.holderIdentity' }, age],
  },
  // Reviews: `kubectl auth can-i` and `kubectl auth whoami` create these; the handler answers them.
  { group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', namespaced: false, schemaName: 'io.k8s.api.authorization.v1.SelfSubjectAccessReview', review: true },
  { group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectRulesReview', plural: 'selfsubjectrulesreviews', namespaced: false, schemaName: 'io.k8s.api.authorization.v1.SelfSubjectRulesReview', review: true },
  { group: 'authentication.k8s.io', version: 'v1', kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', namespaced: false, schemaName: 'io.k8s.api.authentication.v1.SelfSubjectReview', review: true },
  {
    group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', shortNames: ['pdb'], namespaced: true,
    schemaName: 'io.k8s.api.policy.v1.PodDisruptionBudget', status: true,
    printerColumns: [
      { name: 'Min Available', type: 'string', jsonPath: '.spec.minAvailable', value: (o) => String(record(o.spec).minAvailable ?? 'N/A') },
      { name: 'Max Unavailable', type: 'string', jsonPath: '.spec.maxUnavailable', value: (o) => String(record(o.spec).maxUnavailable ?? 'N/A') },
      { name: 'Allowed Disruptions', type: 'integer', jsonPath: '.status.disruptionsAllowed', value: (o) => Number(record(o.status).disruptionsAllowed ?? 0) },
      age,
    ],
  },
  {
    group: 'scheduling.k8s.io', version: 'v1', kind: 'PriorityClass', plural: 'priorityclasses', shortNames: ['pc'], namespaced: false,
    schemaName: 'io.k8s.api.scheduling.v1.PriorityClass',
    printerColumns: [
      { name: 'Value', type: 'integer', jsonPath: '.value' },
      { name: 'Global-Default', type: 'boolean', jsonPath: '.globalDefault', value: (o) => o.globalDefault === true },
      age,
      { name: 'Preemption-Policy', type: 'string', jsonPath: '.preemptionPolicy', priority: 1 },
    ],
    applyDefaults(obj) {
      obj.preemptionPolicy ??= 'PreemptLowerPriority';
    },
  },
  {
    group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration', plural: 'mutatingwebhookconfigurations', namespaced: false,
    schemaName: 'io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration',
    printerColumns: [webhooksColumn, age],
  },
  {
    group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingWebhookConfiguration', plural: 'validatingwebhookconfigurations', namespaced: false,
    schemaName: 'io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration',
    printerColumns: [webhooksColumn, age],
  },
];

function nodeStatus(obj: KubeObject): string {
  const ready = list(record(obj.status).conditions).map(record).find((c) => c.type === 'Ready');
  const status = ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady';
  return record(obj.spec).unschedulable === true ? `${status},SchedulingDisabled` : status;
}

/** Roles as kubectl reads them: `node-role.kubernetes.io/<role>` labels, and the older `kubernetes.io/role`. */
function nodeRoles(obj: KubeObject): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(obj.metadata.labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/') && key.length > 'node-role.kubernetes.io/'.length) roles.add(key.slice('node-role.kubernetes.io/'.length));
    else if (key === 'kubernetes.io/role' && value !== '') roles.add(value);
  }
  return [...roles].sort().join(',') || '<none>';
}

function nodeAddress(obj: KubeObject, type: string): string {
  const address = list(record(obj.status).addresses).map(record).find((a) => a.type === type);
  return typeof address?.address === 'string' ? address.address : '<none>';
}

function nodeInfo(obj: KubeObject, field: string): string {
  const value = record(record(obj.status).nodeInfo)[field];
  return typeof value === 'string' && value !== '' ? value : '<unknown>';
}

function containerStatuses(obj: KubeObject): Array<Record<string, unknown>> {
  return list(record(obj.status).containerStatuses).map(record);
}

/** The Status column as kubectl computes it: the pod's reason, else a container's waiting or terminated reason, else the phase. */
function podStatus(obj: KubeObject): string {
  const status = record(obj.status);
  let reason = String(status.reason ?? status.phase ?? 'Pending');
  if (typeof status.reason !== 'string') {
    for (const container of containerStatuses(obj)) {
      const state = record(container.state);
      const waiting = record(state.waiting).reason;
      const terminated = record(state.terminated);
      if (typeof waiting === 'string' && waiting !== '') reason = waiting;
      else if (typeof terminated.reason === 'string' && terminated.reason !== '') reason = terminated.reason;
    }
  }
  if (obj.metadata.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function readinessGates(obj: KubeObject): string {
  const gates = list(record(obj.spec).readinessGates).map((g) => String(record(g).conditionType ?? ''));
  if (gates.length === 0) return '<none>';
  const conditions = list(record(obj.status).conditions).map(record);
  const met = gates.filter((type) => conditions.some((c) => c.type === type && c.status === 'True')).length;
  return `${met}/${gates.length}`;
}

/** `requests.cpu: 100m/1, pods: 2/10`: used over hard for the quota's resources, as kubectl prints them. */
function quotaUsage(obj: KubeObject, include: (resource: string) => boolean): string {
  const status = record(obj.status);
  const hard = record(status.hard ?? record(obj.spec).hard);
  const used = record(status.used);
  return Object.keys(hard).filter(include).sort().map((k) => `${k}: ${String(used[k] ?? '0')}/${String(hard[k])}`).join(', ');
}

function jobStatus(obj: KubeObject): string {
  const conditions = list(record(obj.status).conditions).map(record);
  const done = conditions.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  if (done) return String(done.type);
  if (record(obj.spec).suspend === true) return 'Suspended';
  return 'Running';
}

/** The kinds only a member cluster serves: what runs there (and what governs it), never stored on the hub. */
const memberClusterKinds = new Set(['Node', 'Pod', 'LimitRange', 'ResourceQuota', 'ReplicaSet', 'PriorityClass', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'PodDisruptionBudget']);

/**
 * The ResourceTypes of the built-in kinds except CustomResourceDefinition (see crd.ts): for the
 * `hub` profile (the default) those the hub serves, for `cluster` all of them, as a member cluster has.
 */
export function builtinResourceTypes(profile: 'hub' | 'cluster' = 'hub'): ResourceType[] {
  const { schemas } = builtinOpenAPI();
  return specs.filter((spec) => profile === 'cluster' || !memberClusterKinds.has(spec.kind)).map((spec) => builtinType(spec, schemas));
}

export function builtinType(spec: BuiltinSpec, schemas: Record<string, object>): ResourceType {
  const apiVersion = spec.group ? `${spec.group}/${spec.version}` : spec.version;
  return {
    group: spec.group,
    version: spec.version,
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    plural: spec.plural,
    singular: spec.kind.toLowerCase(),
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    namespaced: spec.namespaced,
    schema: { root: spec.schemaName, components: schemas },
    printerColumns: spec.printerColumns ?? [age],
    ...(spec.statusOnCreate ? { statusOnCreate: true } : {}),
    ...(spec.review ? { review: true } : {}),
    subresources: {
      status: spec.status ?? false,
      ...(spec.scale ? { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } } : {}),
      ...(spec.actions ? { actions: spec.actions } : {}),
    },
    fieldLabels: spec.fieldLabels ?? {},
    origin: 'builtin',
    validate: (obj) => validateBuiltin(apiVersion, spec.kind, obj).map((c) => ({ reason: c.reason, field: c.field, message: c.message })),
    ...(spec.applyDefaults ? { applyDefaults: spec.applyDefaults } : {}),
    ...(spec.validateUpdate ? { validateUpdate: spec.validateUpdate } : {}),
  };
}

export type { BuiltinSpec };
