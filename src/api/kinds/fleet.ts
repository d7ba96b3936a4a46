/**
 * fleet.nephele.dev/v1alpha1: Cluster (a member cluster, cluster-scoped) and Fleet (a named
 * group of clusters). One TypeBox definition per kind gives the TypeScript type, the validator
 * and the published OpenAPI schema. Their controllers come with the fleet domain; the hub serves
 * and validates the objects now.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject } from '../../machinery/object.ts';
import { builtinOpenAPI } from '../builtin/index.ts';
import type { PrinterColumn, ResourceType } from '../resource-type.ts';
import { compileSchema } from '../schema-validator.ts';

export const fleetGroup = 'fleet.nephele.dev';
export const fleetVersion = 'v1alpha1';

export const Condition = Type.Object({
  type: Type.String({ description: 'Type of the condition, e.g. Ready.' }),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')], { description: 'True, False or Unknown.' }),
  reason: Type.Optional(Type.String({ description: 'One CamelCase word saying why the condition last changed.' })),
  message: Type.Optional(Type.String({ description: 'A human-readable explanation.' })),
  lastTransitionTime: Type.Optional(Type.String({ format: 'date-time', description: 'When the status last changed.' })),
  observedGeneration: Type.Optional(Type.Integer({ description: 'The metadata.generation the condition was computed from.' })),
}, { additionalProperties: false });

export const ResourceList = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]), { description: 'Resource quantities by name (cpu, memory, pods, nvidia.com/gpu, ...).' });

export const Taint = Type.Object({
  key: Type.String(),
  value: Type.Optional(Type.String()),
  effect: Type.Union([Type.Literal('NoSchedule'), Type.Literal('PreferNoSchedule'), Type.Literal('NoExecute')]),
  timeAdded: Type.Optional(Type.String({ format: 'date-time' })),
}, { additionalProperties: false, description: 'A taint keeps workloads off the cluster unless they tolerate it.' });

const ObjectReference = Type.Object({
  namespace: Type.String({ description: 'Namespace of the Secret.' }),
  name: Type.String({ description: 'Name of the Secret.' }),
  key: Type.Optional(Type.String({ description: 'Key in the Secret holding the kubeconfig; defaults to "kubeconfig".' })),
}, { additionalProperties: false });

const ClusterSpec = Type.Object({
  mode: Type.Optional(Type.Union([Type.Literal('Push'), Type.Literal('Pull'), Type.Literal('Simulated')], { description: 'How the hub reaches the cluster: Push (the hub connects with a kubeconfig), Pull (an agent next to the cluster connects to the hub) or Simulated (the hub runs a simulated cluster in-process).' })),
  access: Type.Optional(Type.Union([Type.Literal('ReadWrite'), Type.Literal('ReadOnly')], { description: 'ReadWrite (the default): this hub places workloads on the cluster. ReadOnly: the cluster is shared with another hub that owns its workloads; this hub only observes it (status, capacity, what others allocated) and never writes to it. ReadOnly needs Push or Pull mode.' })),
  provider: Type.Optional(Type.String({ description: 'Cloud provider or site (aws, gcp, azure, onprem, edge).' })),
  region: Type.Optional(Type.String({ description: 'Region the cluster runs in.' })),
  zone: Type.Optional(Type.String({ description: 'Zone the cluster runs in.' })),
  kubeconfigSecretRef: Type.Optional(ObjectReference),
  simulation: Type.Optional(Type.Object({
    nodes: Type.Integer({ minimum: 0, maximum: 10000, description: 'Number of simulated nodes.' }),
    instanceTypes: Type.Optional(Type.Array(Type.String(), { description: 'Instance types the node pool is built from.' })),
    seed: Type.Optional(Type.Integer({ description: 'Seed for the simulation, so runs repeat.' })),
    speed: Type.Optional(Type.Number({ minimum: 0.001, description: 'Cluster seconds per real second.' })),
    startLatencySeconds: Type.Optional(Type.Number({ minimum: 0, description: 'Time from binding to Running.' })),
  }, { additionalProperties: false, description: 'Makes the hub run a simulated member cluster in-process.' })),
  energy: Type.Optional(Type.Object({
    carbonIntensityGramsPerKWh: Type.Optional(Type.Number({ minimum: 0, description: 'Grid carbon intensity in gCO2e/kWh.' })),
    pue: Type.Optional(Type.Number({ minimum: 1, description: 'Power usage effectiveness of the data centre.' })),
  }, { additionalProperties: false })),
  latency: Type.Optional(Type.Record(Type.String(), Type.Number({ minimum: 0 }), { description: 'Round-trip latency in milliseconds from named user regions.' })),
  taints: Type.Optional(Type.Array(Taint)),
  pricing: Type.Optional(Type.Object({
    cpuCoreHourUSD: Type.Optional(Type.Number({ minimum: 0, description: 'Overrides the price read from the nodes.' })),
  }, { additionalProperties: false })),
}, { additionalProperties: false, description: 'Desired state of a member cluster.' });

const GpuSummary = Type.Object({
  capacity: Type.Integer({ minimum: 0 }),
  allocatable: Type.Integer({ minimum: 0 }),
  allocated: Type.Integer({ minimum: 0 }),
}, { additionalProperties: false });

const ResourceModelEntry = Type.Object({
  name: Type.String({ description: 'Name of the pod shape (small, medium, large, gpu-1, ...).' }),
  requests: ResourceList,
  maxReplicas: Type.Integer({ minimum: 0, description: 'How many more pods of this shape the cluster\'s scheduler would place now.' }),
}, { additionalProperties: false });

const ClusterStatus = Type.Object({
  conditions: Type.Optional(Type.Array(Condition)),
  kubernetesVersion: Type.Optional(Type.String()),
  nodeCount: Type.Optional(Type.Integer({ minimum: 0 })),
  readyNodeCount: Type.Optional(Type.Integer({ minimum: 0 })),
  capacity: Type.Optional(ResourceList),
  allocatable: Type.Optional(ResourceList),
  allocated: Type.Optional(ResourceList),
  gpus: Type.Optional(Type.Record(Type.String(), GpuSummary, { description: 'GPUs by model: capacity, allocatable and allocated.' })),
  resourceModel: Type.Optional(Type.Array(ResourceModelEntry, { description: 'How many more pods of given shapes fit, from the cluster scheduler\'s what-if.' })),
  pricing: Type.Optional(Type.Object({
    cpuCoreHourUSD: Type.Optional(Type.Number({ minimum: 0, description: 'Mean hourly price of one vCPU over the cluster\'s nodes.' })),
    memoryGiBHourUSD: Type.Optional(Type.Number({ minimum: 0 })),
    gpuHourUSD: Type.Optional(Type.Number({ minimum: 0 })),
  }, { additionalProperties: false })),
  hub: Type.Optional(Type.Boolean({ description: 'The member is itself a Nephele hub with members of its own.' })),
  lastHeartbeatTime: Type.Optional(Type.String({ format: 'date-time' })),
}, { additionalProperties: false, description: 'Observed state of a member cluster.' });

export const LabelSelector = Type.Object({
  matchLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
  matchExpressions: Type.Optional(Type.Array(Type.Object({
    key: Type.String(),
    operator: Type.Union([Type.Literal('In'), Type.Literal('NotIn'), Type.Literal('Exists'), Type.Literal('DoesNotExist')]),
    values: Type.Optional(Type.Array(Type.String())),
  }, { additionalProperties: false }))),
}, { additionalProperties: false });

const FleetSpec = Type.Object({
  clusters: Type.Optional(Type.Array(Type.String(), { description: 'Member clusters by name.' })),
  clusterSelector: Type.Optional(LabelSelector),
}, { additionalProperties: false, description: 'Which clusters belong to the fleet: those named, plus those the selector matches.' });

const FleetStatus = Type.Object({
  clusters: Type.Optional(Type.Array(Type.String())),
  readyClusters: Type.Optional(Type.Integer({ minimum: 0 })),
  conditions: Type.Optional(Type.Array(Condition)),
}, { additionalProperties: false });

export function kindSchema(kind: string, description: string, spec: TSchema, status: TSchema) {
  return Type.Object({
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
    spec: Type.Optional(spec),
    status: Type.Optional(status),
  }, { description: `${kind}: ${description}` });
}

export const ClusterSchema = kindSchema('Cluster', 'a member cluster of the fleet, real or simulated.', ClusterSpec, ClusterStatus);
export const FleetSchema = kindSchema('Fleet', 'a named group of member clusters.', FleetSpec, FleetStatus);
export type ClusterSpec = Static<typeof ClusterSpec>;
export type ClusterStatus = Static<typeof ClusterStatus>;
export type FleetSpec = Static<typeof FleetSpec>;

/** Published schema: the TypeBox schema with metadata pointing at ObjectMeta and the GVK added. */
function published(schema: TSchema, kind: string, group: string): object {
  const copy = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  const properties = copy.properties as Record<string, unknown>;
  properties.metadata = { allOf: [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' }], description: 'Standard object metadata.' };
  copy['x-kubernetes-group-version-kind'] = [{ group, version: fleetVersion, kind }];
  return copy;
}

export function condition(obj: KubeObject, type: string): string {
  const status = isPlainObject(obj.status) ? obj.status : {};
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const found = conditions.find((c) => isPlainObject(c) && c.type === type) as Record<string, unknown> | undefined;
  return found ? String(found.status) : 'Unknown';
}

export interface NepheleKindOptions {
  group?: string;
  namespaced?: boolean;
  /** Whether the kind has a status subresource (default true). */
  status?: boolean;
}

/** A Nephele kind served from a TypeBox schema: validation, published OpenAPI and printer columns. */
export function nepheleType(kind: string, plural: string, shortNames: string[], schema: TSchema, columns: PrinterColumn[], options: NepheleKindOptions = {}): ResourceType {
  return fleetType(kind, plural, shortNames, schema, columns, options);
}

function fleetType(kind: string, plural: string, shortNames: string[], schema: TSchema, columns: PrinterColumn[], options: NepheleKindOptions = {}): ResourceType {
  const group = options.group ?? fleetGroup;
  const root = `${group.split('.').reverse().join('.')}.${fleetVersion}.${kind}`;
  const metaSchemas = Object.fromEntries(Object.entries(builtinOpenAPI().schemas).filter(([name]) => name.startsWith('io.k8s.apimachinery.pkg.apis.meta.v1.')));
  const validator = compileSchema(schema);
  return {
    group,
    version: fleetVersion,
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    shortNames,
    categories: ['nephele'],
    namespaced: options.namespaced ?? false,
    schema: { root, components: { ...metaSchemas, [root]: published(schema, kind, group) } },
    printerColumns: [...columns, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
    subresources: { status: options.status ?? true },
    fieldLabels: {},
    origin: 'nephele',
    validate: (obj) => validator(obj),
  };
}

export function fleetResourceTypes(): ResourceType[] {
  return [
    fleetType('Cluster', 'clusters', ['mc'], ClusterSchema, [
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', value: (o) => condition(o, 'Ready') },
      { name: 'Mode', type: 'string', jsonPath: '.spec.mode' },
      { name: 'Access', type: 'string', jsonPath: '.spec.access', priority: 1, value: (o) => (isPlainObject(o.spec) && typeof o.spec.access === 'string' ? o.spec.access : 'ReadWrite') },
      { name: 'Provider', type: 'string', jsonPath: '.spec.provider' },
      { name: 'Region', type: 'string', jsonPath: '.spec.region' },
      { name: 'Nodes', type: 'integer', jsonPath: '.status.nodeCount' },
      { name: 'Version', type: 'string', jsonPath: '.status.kubernetesVersion', priority: 1 },
      { name: 'Zone', type: 'string', jsonPath: '.spec.zone', priority: 1 },
    ]),
    fleetType('Fleet', 'fleets', ['fl'], FleetSchema, [
      { name: 'Clusters', type: 'integer', jsonPath: '.status.clusters', value: (o) => (isPlainObject(o.status) && Array.isArray(o.status.clusters) ? o.status.clusters.length : 0) },
      { name: 'Ready', type: 'integer', jsonPath: '.status.readyClusters' },
    ]),
  ];
}
