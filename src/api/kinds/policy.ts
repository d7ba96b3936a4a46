/**
 * policy.nephele.dev/v1alpha1: where workloads go (DistributionPolicy, namespaced, and
 * ClusterDistributionPolicy) and how they change per cluster (OverridePolicy and
 * ClusterOverridePolicy); and fleet.nephele.dev/v1alpha1 ResourceBinding (the scheduler's
 * decision for one resource, with its explanation) and Work (what one member cluster must run).
 *
 * The placement schema is Karmada's (resource selectors, cluster affinity with ordered
 * fallbacks, tolerations, spread constraints, replica scheduling) plus Nephele's objectives
 * (cost, energy, latency weights that shape the replica split), per-replica resource constraints
 * (GPU model and count) and data residency.
 */
import { Type, type Static } from '@sinclair/typebox';
import { isPlainObject } from '../../machinery/object.ts';
import type { ResourceType } from '../resource-type.ts';
import { Condition, LabelSelector, kindSchema, nepheleType } from './fleet.ts';

export const policyGroup = 'policy.nephele.dev';

const ResourceSelector = Type.Object({
  apiVersion: Type.String({ description: 'apiVersion of the resources to select, e.g. apps/v1.' }),
  kind: Type.String({ description: 'Kind of the resources to select, e.g. Deployment.' }),
  namespace: Type.Optional(Type.String({ description: 'Namespace; for a namespaced policy, its own namespace.' })),
  name: Type.Optional(Type.String({ description: 'One resource by name; all matching ones when absent.' })),
  labelSelector: Type.Optional(LabelSelector),
}, { additionalProperties: false });

const FieldSelector = Type.Object({
  matchExpressions: Type.Array(Type.Object({
    key: Type.Union([Type.Literal('provider'), Type.Literal('region'), Type.Literal('zone')]),
    operator: Type.Union([Type.Literal('In'), Type.Literal('NotIn')]),
    values: Type.Array(Type.String()),
  }, { additionalProperties: false })),
}, { additionalProperties: false, description: 'Selects clusters by spec.provider, spec.region and spec.zone.' });

const ClusterAffinity = Type.Object({
  clusterNames: Type.Optional(Type.Array(Type.String())),
  exclude: Type.Optional(Type.Array(Type.String(), { description: 'Clusters never to use.' })),
  labelSelector: Type.Optional(LabelSelector),
  fieldSelector: Type.Optional(FieldSelector),
}, { additionalProperties: false, description: 'Clusters eligible for the resource: all of the given terms must hold.' });

const ClusterAffinityTerm = Type.Object({
  affinityName: Type.String(),
  clusterNames: Type.Optional(Type.Array(Type.String())),
  exclude: Type.Optional(Type.Array(Type.String())),
  labelSelector: Type.Optional(LabelSelector),
  fieldSelector: Type.Optional(FieldSelector),
}, { additionalProperties: false });

const Toleration = Type.Object({
  key: Type.Optional(Type.String()),
  operator: Type.Optional(Type.Union([Type.Literal('Equal'), Type.Literal('Exists')])),
  value: Type.Optional(Type.String()),
  effect: Type.Optional(Type.Union([Type.Literal('NoSchedule'), Type.Literal('PreferNoSchedule'), Type.Literal('NoExecute')])),
  tolerationSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false });

const SpreadConstraint = Type.Object({
  spreadByField: Type.Optional(Type.Union([Type.Literal('cluster'), Type.Literal('region'), Type.Literal('zone'), Type.Literal('provider')])),
  spreadByLabel: Type.Optional(Type.String()),
  maxGroups: Type.Optional(Type.Integer({ minimum: 1 })),
  minGroups: Type.Optional(Type.Integer({ minimum: 1 })),
}, { additionalProperties: false });

const ClusterPreferences = Type.Object({
  clusterNames: Type.Optional(Type.Array(Type.String())),
  labelSelector: Type.Optional(LabelSelector),
  fieldSelector: Type.Optional(FieldSelector),
}, { additionalProperties: false });

const ReplicaScheduling = Type.Object({
  replicaSchedulingType: Type.Optional(Type.Union([Type.Literal('Duplicated'), Type.Literal('Divided')], { description: 'Duplicated: every chosen cluster runs all replicas. Divided: the replicas are split.' })),
  replicaDivisionPreference: Type.Optional(Type.Union([Type.Literal('Aggregated'), Type.Literal('Weighted')])),
  weightPreference: Type.Optional(Type.Object({
    staticWeightList: Type.Optional(Type.Array(Type.Object({ targetCluster: ClusterPreferences, weight: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }))),
    dynamicWeight: Type.Optional(Type.Literal('AvailableReplicas')),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const Objectives = Type.Object({
  cost: Type.Optional(Type.Number({ minimum: 0, description: 'Weight of cost (the clusters\' prices).' })),
  energy: Type.Optional(Type.Number({ minimum: 0, description: 'Weight of energy (carbon intensity times PUE).' })),
  latency: Type.Optional(Type.Number({ minimum: 0, description: 'Weight of latency to the user regions.' })),
  userRegions: Type.Optional(Type.Record(Type.String(), Type.Number({ minimum: 0 }), { description: 'Where users are: region name to share of traffic.' })),
}, { additionalProperties: false, description: 'Minimise w_cost*C + w_energy*E + w_latency*L: the weights shape both the choice of clusters and the replica split.' });

const ResourceConstraints = Type.Object({
  gpu: Type.Optional(Type.Object({
    model: Type.Optional(Type.String({ description: 'GPU model each replica needs (A100-40GB, H100-SXM, ...).' })),
    count: Type.Integer({ minimum: 1, description: 'GPUs per replica.' }),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const Residency = Type.Object({
  regions: Type.Optional(Type.Array(Type.String(), { description: 'Allowed regions.' })),
  providers: Type.Optional(Type.Array(Type.String(), { description: 'Allowed providers.' })),
}, { additionalProperties: false, description: 'Compliance: clusters outside these are never used.' });

export const Placement = Type.Object({
  clusterAffinity: Type.Optional(ClusterAffinity),
  clusterAffinities: Type.Optional(Type.Array(ClusterAffinityTerm, { description: 'Ordered fallbacks: the first term with a feasible placement wins.' })),
  clusterTolerations: Type.Optional(Type.Array(Toleration)),
  spreadConstraints: Type.Optional(Type.Array(SpreadConstraint)),
  replicaScheduling: Type.Optional(ReplicaScheduling),
  objectives: Type.Optional(Objectives),
  resourceConstraints: Type.Optional(ResourceConstraints),
  residency: Type.Optional(Residency),
}, { additionalProperties: false });

const Failover = Type.Object({
  application: Type.Optional(Type.Object({
    decisionConditions: Type.Optional(Type.Object({ tolerationSeconds: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false })),
    purgeMode: Type.Optional(Type.Union([Type.Literal('Graciously'), Type.Literal('Immediately')])),
  }, { additionalProperties: false })),
  rebalance: Type.Optional(Type.Object({
    enabled: Type.Optional(Type.Boolean({ description: 'Move replicas back when a failed cluster returns (default true).' })),
    maxMovesPerMinute: Type.Optional(Type.Integer({ minimum: 1 })),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const DistributionPolicySpec = Type.Object({
  resourceSelectors: Type.Array(ResourceSelector, { minItems: 1 }),
  placement: Placement,
  priority: Type.Optional(Type.Integer({ description: 'Where several policies match a resource, the highest priority wins (then the most specific selector, then the name).' })),
  failover: Type.Optional(Failover),
}, { additionalProperties: false });

const PlaintextOverrider = Type.Object({
  path: Type.String({ description: 'JSON pointer into the resource, e.g. /spec/replicas.' }),
  operator: Type.Union([Type.Literal('add'), Type.Literal('remove'), Type.Literal('replace')]),
  value: Type.Optional(Type.Unknown()),
}, { additionalProperties: false });

const ImageOverrider = Type.Object({
  component: Type.Union([Type.Literal('Registry'), Type.Literal('Repository'), Type.Literal('Tag')]),
  operator: Type.Union([Type.Literal('add'), Type.Literal('remove'), Type.Literal('replace')]),
  value: Type.Optional(Type.String()),
  containerName: Type.Optional(Type.String({ description: 'Only this container; all when absent.' })),
}, { additionalProperties: false });

const MapOverrider = Type.Object({
  operator: Type.Union([Type.Literal('addIfAbsent'), Type.Literal('add'), Type.Literal('remove'), Type.Literal('replace')]),
  value: Type.Record(Type.String(), Type.String()),
}, { additionalProperties: false });

const ListOverrider = Type.Object({
  containerName: Type.String(),
  operator: Type.Union([Type.Literal('add'), Type.Literal('remove')]),
  value: Type.Array(Type.String()),
}, { additionalProperties: false });

const Overriders = Type.Object({
  plaintext: Type.Optional(Type.Array(PlaintextOverrider)),
  imageOverrider: Type.Optional(Type.Array(ImageOverrider)),
  labelsOverrider: Type.Optional(Type.Array(MapOverrider)),
  annotationsOverrider: Type.Optional(Type.Array(MapOverrider)),
  argsOverrider: Type.Optional(Type.Array(ListOverrider)),
  commandOverrider: Type.Optional(Type.Array(ListOverrider)),
  replicasOverrider: Type.Optional(Type.Integer({ minimum: 0, description: 'Replicas in the target clusters, whatever the scheduler divided.' })),
}, { additionalProperties: false, description: 'Applied in this order: image, command, args, labels, annotations, replicas, then plaintext.' });

const OverridePolicySpec = Type.Object({
  resourceSelectors: Type.Array(ResourceSelector, { minItems: 1 }),
  overrideRules: Type.Array(Type.Object({
    targetCluster: Type.Optional(ClusterPreferences),
    overriders: Overriders,
  }, { additionalProperties: false })),
}, { additionalProperties: false });

const PolicyStatus = Type.Object({
  conditions: Type.Optional(Type.Array(Condition)),
  matchedResources: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false });

const ObjectRef = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  namespace: Type.Optional(Type.String()),
  name: Type.String(),
  uid: Type.Optional(Type.String()),
}, { additionalProperties: false });

const TargetCluster = Type.Object({
  name: Type.String(),
  replicas: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false });

const Explanation = Type.Object({
  cluster: Type.String(),
  result: Type.Union([Type.Literal('Selected'), Type.Literal('NotSelected'), Type.Literal('Filtered')]),
  reason: Type.Optional(Type.String({ description: 'Why the cluster was filtered out, or how it scored.' })),
  plugin: Type.Optional(Type.String()),
  score: Type.Optional(Type.Number()),
  scores: Type.Optional(Type.Record(Type.String(), Type.Number(), { description: 'Score per plugin or objective.' })),
  availableReplicas: Type.Optional(Type.Integer()),
  replicas: Type.Optional(Type.Integer({ minimum: 0 })),
}, { additionalProperties: false });

const ResourceBindingSpec = Type.Object({
  resource: ObjectRef,
  replicas: Type.Optional(Type.Integer({ minimum: 0, description: 'Replicas of the template (0 when it has none).' })),
  policy: Type.Optional(Type.Object({ kind: Type.String(), namespace: Type.Optional(Type.String()), name: Type.String() }, { additionalProperties: false })),
  clusters: Type.Optional(Type.Array(TargetCluster, { description: "The scheduler's decision: clusters and their replicas." })),
  evictingClusters: Type.Optional(Type.Array(Type.Object({ name: Type.String(), reason: Type.String(), since: Type.String({ format: 'date-time' }) }, { additionalProperties: false }), { description: 'Clusters being left; their replicas are removed once the new ones are ready.' })),
}, { additionalProperties: false });

const ResourceBindingStatus = Type.Object({
  conditions: Type.Optional(Type.Array(Condition)),
  schedulerObservedGeneration: Type.Optional(Type.Integer()),
  explanation: Type.Optional(Type.Array(Explanation)),
  aggregatedStatus: Type.Optional(Type.Array(Type.Object({
    cluster: Type.String(),
    applied: Type.Optional(Type.Boolean()),
    health: Type.Optional(Type.String()),
    status: Type.Optional(Type.Unknown()),
  }, { additionalProperties: false }))),
}, { additionalProperties: false });

const WorkSpec = Type.Object({
  workload: Type.Object({ manifests: Type.Array(Type.Unknown()) }, { additionalProperties: false }),
}, { additionalProperties: false, description: 'What one member cluster must run: manifests applied with server-side apply.' });

const WorkStatus = Type.Object({
  conditions: Type.Optional(Type.Array(Condition)),
  manifestStatuses: Type.Optional(Type.Array(Type.Object({
    identifier: Type.Object({ apiVersion: Type.String(), kind: Type.String(), namespace: Type.Optional(Type.String()), name: Type.String() }, { additionalProperties: false }),
    status: Type.Optional(Type.Unknown()),
    health: Type.Optional(Type.String()),
  }, { additionalProperties: false }))),
}, { additionalProperties: false });

export const DistributionPolicySchema = kindSchema('DistributionPolicy', 'where the selected resources of its namespace go.', DistributionPolicySpec, PolicyStatus);
export const ClusterDistributionPolicySchema = kindSchema('ClusterDistributionPolicy', 'where the selected resources of any namespace go.', DistributionPolicySpec, PolicyStatus);
export const OverridePolicySchema = kindSchema('OverridePolicy', 'how the selected resources of its namespace change per cluster.', OverridePolicySpec, PolicyStatus);
export const ClusterOverridePolicySchema = kindSchema('ClusterOverridePolicy', 'how the selected resources of any namespace change per cluster.', OverridePolicySpec, PolicyStatus);
export const ResourceBindingSchema = kindSchema('ResourceBinding', 'the placement decided for one resource, and why.', ResourceBindingSpec, ResourceBindingStatus);
export const WorkSchema = kindSchema('Work', 'the manifests one member cluster must run.', WorkSpec, WorkStatus);

export type PlacementSpec = Static<typeof Placement>;
export type DistributionPolicySpec = Static<typeof DistributionPolicySpec>;
export type OverridePolicySpec = Static<typeof OverridePolicySpec>;
export type Overriders = Static<typeof Overriders>;
export type ResourceSelectorSpec = Static<typeof ResourceSelector>;
export type ResourceBindingSpec = Static<typeof ResourceBindingSpec>;
export type ResourceBindingStatus = Static<typeof ResourceBindingStatus>;
export type ExplanationEntry = Static<typeof Explanation>;
export type WorkSpec = Static<typeof WorkSpec>;
export type ClusterAffinitySpec = Static<typeof ClusterAffinity>;
export type SpreadConstraintSpec = Static<typeof SpreadConstraint>;
export type ClusterTolerationSpec = Static<typeof Toleration>;

function clusterList(o: Record<string, unknown>): string {
  const spec = isPlainObject(o.spec) ? o.spec : {};
  const clusters = Array.isArray(spec.clusters) ? spec.clusters : [];
  // A resource without replicas (a Service, a ConfigMap) goes whole to each cluster: a count
  // beside each name would read as zero replicas there.
  const counted = spec.replicas !== undefined;
  return clusters.map((c) => (isPlainObject(c) ? `${c.name}${counted && c.replicas !== undefined ? `:${c.replicas}` : ''}` : '')).join(',') || '<none>';
}

export function policyResourceTypes(): ResourceType[] {
  const policy = { group: policyGroup, status: true };
  return [
    nepheleType('DistributionPolicy', 'distributionpolicies', ['dp'], DistributionPolicySchema, [
      { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
      { name: 'Matched', type: 'integer', jsonPath: '.status.matchedResources' },
    ], { ...policy, namespaced: true }),
    nepheleType('ClusterDistributionPolicy', 'clusterdistributionpolicies', ['cdp'], ClusterDistributionPolicySchema, [
      { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
      { name: 'Matched', type: 'integer', jsonPath: '.status.matchedResources' },
    ], { ...policy, namespaced: false }),
    nepheleType('OverridePolicy', 'overridepolicies', ['op'], OverridePolicySchema, [
      { name: 'Rules', type: 'integer', jsonPath: '.spec.overrideRules', value: (o) => (isPlainObject(o.spec) && Array.isArray(o.spec.overrideRules) ? o.spec.overrideRules.length : 0) },
    ], { ...policy, namespaced: true }),
    nepheleType('ClusterOverridePolicy', 'clusteroverridepolicies', ['cop'], ClusterOverridePolicySchema, [
      { name: 'Rules', type: 'integer', jsonPath: '.spec.overrideRules', value: (o) => (isPlainObject(o.spec) && Array.isArray(o.spec.overrideRules) ? o.spec.overrideRules.length : 0) },
    ], { ...policy, namespaced: false }),
    nepheleType('ResourceBinding', 'resourcebindings', ['rb'], ResourceBindingSchema, [
      { name: 'Resource', type: 'string', jsonPath: '.spec.resource.name', value: (o) => { const r = isPlainObject(o.spec) && isPlainObject(o.spec.resource) ? o.spec.resource : {}; return `${String(r.kind ?? '')}/${String(r.name ?? '')}`; } },
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
      { name: 'Clusters', type: 'string', jsonPath: '.spec.clusters', value: clusterList },
      { name: 'Scheduled', type: 'string', jsonPath: '.status.conditions[?(@.type=="Scheduled")].status', value: (o) => condStatus(o, 'Scheduled') },
    ], { namespaced: true }),
    nepheleType('Work', 'works', ['wk'], WorkSchema, [
      { name: 'Applied', type: 'string', jsonPath: '.status.conditions[?(@.type=="Applied")].status', value: (o) => condStatus(o, 'Applied') },
      { name: 'Manifests', type: 'integer', jsonPath: '.spec.workload.manifests', value: (o) => { const w = isPlainObject(o.spec) && isPlainObject(o.spec.workload) ? o.spec.workload : {}; return Array.isArray(w.manifests) ? w.manifests.length : 0; } },
    ], { namespaced: true }),
  ];
}

function condStatus(o: Record<string, unknown>, type: string): string {
  const status = isPlainObject(o.status) ? o.status : {};
  const found = (Array.isArray(status.conditions) ? status.conditions : []).find((c) => isPlainObject(c) && c.type === type) as Record<string, unknown> | undefined;
  return found ? String(found.status) : 'Unknown';
}
