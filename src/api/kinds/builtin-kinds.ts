/**
 * The built-in Kubernetes kinds the hub serves. Their schemas and validation come from the
 * upstream Kubernetes models (see ../builtin); this file adds what the API server needs around
 * them: names for discovery, printer columns, field selectors and defaults. Workload kinds are
 * stored as templates to distribute to member clusters; nothing runs on the hub.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject } from '../../machinery/object.ts';
import type { StatusCause } from '../../machinery/status-error.ts';
import { builtinOpenAPI, validateBuiltin } from '../builtin/index.ts';
import type { PrinterColumn, ResourceType } from '../resource-type.ts';

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
  scale?: boolean;
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
    group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', shortNames: ['deploy'], categories: ['all'], namespaced: true,
    schemaName: 'io.k8s.api.apps.v1.Deployment', status: true, scale: true,
    printerColumns: [
      { name: 'Ready', type: 'string', jsonPath: '.status.readyReplicas', value: (o) => `${Number(record(o.status).readyReplicas ?? 0)}/${Number(record(o.spec).replicas ?? 0)}` },
      replicasColumn('Up-to-date', '.status.updatedReplicas'),
      replicasColumn('Available', '.status.availableReplicas'),
      age,
      { name: 'Containers', type: 'string', jsonPath: '.spec.template.spec.containers[*].name', priority: 1, value: containerNames },
      { name: 'Images', type: 'string', jsonPath: '.spec.template.spec.containers[*].image', priority: 1, value: images },
      { name: 'Selector', type: 'string', jsonPath: '.spec.selector', priority: 1, value: selectorText },
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
      { name: 'Containers', type: 'string', jsonPath: '.spec.template.spec.containers[*].name', priority: 1, value: containerNames },
      { name: 'Images', type: 'string', jsonPath: '.spec.template.spec.containers[*].image', priority: 1, value: images },
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
    group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', categories: ['all'], namespaced: true,
    schemaName: 'io.k8s.api.batch.v1.Job', status: true,
    printerColumns: [
      { name: 'Status', type: 'string', jsonPath: '.status.conditions', value: jobStatus },
      { name: 'Completions', type: 'string', jsonPath: '.status.succeeded', value: (o) => `${Number(record(o.status).succeeded ?? 0)}/${Number(record(o.spec).completions ?? 1)}` },
      age,
      { name: 'Images', type: 'string', jsonPath: '.spec.template.spec.containers[*].image', priority: 1, value: images },
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
];

function jobStatus(obj: KubeObject): string {
  const conditions = list(record(obj.status).conditions).map(record);
  const done = conditions.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  if (done) return String(done.type);
  if (record(obj.spec).suspend === true) return 'Suspended';
  return 'Running';
}

/** The ResourceTypes of every built-in kind except CustomResourceDefinition (see crd.ts). */
export function builtinResourceTypes(): ResourceType[] {
  const { schemas } = builtinOpenAPI();
  return specs.map((spec) => builtinType(spec, schemas));
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
    subresources: {
      status: spec.status ?? false,
      ...(spec.scale ? { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } } : {}),
    },
    fieldLabels: spec.fieldLabels ?? {},
    origin: 'builtin',
    validate: (obj) => validateBuiltin(apiVersion, spec.kind, obj).map((c) => ({ reason: c.reason, field: c.field, message: c.message })),
    ...(spec.applyDefaults ? { applyDefaults: spec.applyDefaults } : {}),
    ...(spec.validateUpdate ? { validateUpdate: spec.validateUpdate } : {}),
  };
}

export type { BuiltinSpec };
