/**
 * The OpenAPI v3 component schemas of the built-in kinds, named and shaped the way a Kubernetes API
 * server publishes them (`io.k8s.api.apps.v1.Deployment`, refs as `#/components/schemas/NAME`).
 *
 * Schemas are derived from @kubernetes/client-node's models, which are generated from the upstream
 * OpenAPI but lose part of it on the way; what they lose is put back here from small tables:
 * - patch and list metadata (`x-kubernetes-patch-*`, `x-kubernetes-list-*`): see patch-metadata.ts;
 * - Quantity fields, which client-node types as plain strings;
 * - fields client-node types as `any` (FieldsV1, RawExtension, the apiextensions JSON unions);
 * - the scalar wrapper types (Time, MicroTime, IntOrString, Quantity), emitted as named schemas;
 * - `x-kubernetes-group-version-kind` on each kind and its list.
 *
 * Generation walks only the models reachable from the served kinds, runs once, and returns the same
 * deeply frozen result afterwards; output is deterministic (schemas and keys sorted).
 */
import { loadClientNodeModel, type ClientNodeModel, type ModelField } from './client-node-models.ts';
import { apiVersionOf, builtinKinds, type BuiltinKind } from './kinds.ts';
import { keyFieldDefaults, patchMetadata } from './patch-metadata.ts';
import { kubernetesSchemaName, metaV1, schemaNames } from './schema-names.ts';

export interface BuiltinOpenAPI {
  /** Component schemas by name; every `$ref` inside points at another entry of this map. */
  schemas: Readonly<Record<string, object>>;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

type Schema = Record<string, unknown>;

const apiextensions = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1';
const core = 'io.k8s.api.core.v1';

/** The prefix of every `$ref` in the builtin schemas. */
export const schemaRefPrefix = '#/components/schemas/';

/** Fields holding resource quantities, which client-node types as `string`; by schema name. */
const quantityFields: Readonly<Record<string, readonly string[]>> = {
  [`${core}.ContainerStatus`]: ['allocatedResources'],
  [`${core}.EmptyDirVolumeSource`]: ['sizeLimit'],
  [`${core}.LimitRangeItem`]: ['default', 'defaultRequest', 'max', 'maxLimitRequestRatio', 'min'],
  [`${core}.NodeAllocatableResourceClaimStatus`]: ['resources'],
  [`${core}.NodeStatus`]: ['allocatable', 'capacity'],
  [`${core}.PersistentVolumeClaimStatus`]: ['allocatedResources', 'capacity'],
  [`${core}.PodSpec`]: ['overhead'],
  [`${core}.PodStatus`]: ['allocatedResources'],
  [`${core}.ResourceFieldSelector`]: ['divisor'],
  [`${core}.ResourceQuotaSpec`]: ['hard'],
  [`${core}.ResourceQuotaStatus`]: ['hard', 'used'],
  [`${core}.ResourceRequirements`]: ['limits', 'requests'],
  [`${core}.VolumeResourceRequirements`]: ['limits', 'requests'],
};

/** What the fields client-node types as `any` really are; by schema name, then field. */
const untypedFields: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  [`${metaV1}.ManagedFieldsEntry`]: { fieldsV1: schemaNames.fieldsV1 },
  [`${metaV1}.WatchEvent`]: { object: schemaNames.rawExtension },
  [`${apiextensions}.CustomResourceSubresources`]: { status: `${apiextensions}.CustomResourceSubresourceStatus` },
  [`${apiextensions}.JSONSchemaProps`]: {
    additionalItems: `${apiextensions}.JSONSchemaPropsOrBool`,
    additionalProperties: `${apiextensions}.JSONSchemaPropsOrBool`,
    default: `${apiextensions}.JSON`,
    dependencies: `${apiextensions}.JSONSchemaPropsOrStringArray`,
    enum: `${apiextensions}.JSON`,
    example: `${apiextensions}.JSON`,
    items: `${apiextensions}.JSONSchemaPropsOrArray`,
  },
};

/** Schemas for the types client-node has no model of. Descriptions are ours, paraphrasing upstream. */
const scalarSchemas: Readonly<Record<string, Schema>> = {
  [schemaNames.time]: {
    description: 'Time is a timestamp in RFC 3339 form with second precision, e.g. "2024-05-01T12:00:00Z".',
    format: 'date-time',
    type: 'string',
  },
  [schemaNames.microTime]: {
    description: 'MicroTime is a timestamp in RFC 3339 form with microsecond precision.',
    format: 'date-time',
    type: 'string',
  },
  [schemaNames.intOrString]: {
    description: 'IntOrString holds either an int32 or a string, e.g. a port number or a port name; JSON carries whichever it holds.',
    format: 'int-or-string',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
  },
  [schemaNames.quantity]: {
    description:
      'Quantity is a fixed-point number with an optional SI or binary suffix, e.g. "500m", "1.5", "128Mi", "2Gi". ' +
      'It is written as a string; plain JSON numbers are accepted too.',
    oneOf: [{ type: 'string' }, { type: 'number' }],
  },
  [schemaNames.fieldsV1]: {
    description: 'FieldsV1 is the set of fields a manager owns, encoded as a JSON trie of field, key and value names.',
    type: 'object',
  },
  [schemaNames.rawExtension]: {
    description: 'RawExtension holds a complete embedded object, kept as raw JSON.',
    type: 'object',
  },
  [`${apiextensions}.JSON`]: {
    description: 'JSON is any JSON value: boolean, number, string, array, object or null.',
  },
  [`${apiextensions}.JSONSchemaPropsOrArray`]: {
    description: 'JSONSchemaPropsOrArray is either one JSONSchemaProps or an array of them.',
  },
  [`${apiextensions}.JSONSchemaPropsOrBool`]: {
    description: 'JSONSchemaPropsOrBool is either a JSONSchemaProps or a boolean; true allows anything.',
  },
  [`${apiextensions}.JSONSchemaPropsOrStringArray`]: {
    description: 'JSONSchemaPropsOrStringArray is either a JSONSchemaProps or an array of property names.',
  },
  [`${apiextensions}.CustomResourceSubresourceStatus`]: {
    description:
      'CustomResourceSubresourceStatus enables the /status subresource: writes there change only .status, ' +
      'and writes to the resource itself ignore .status.',
    type: 'object',
  },
};

/** Models published besides the kinds: the meta types every group's API documents. */
const metaModels = ['V1Status', 'V1DeleteOptions', 'V1WatchEvent'];

function groupVersionKinds(): Map<string, GroupVersionKind[]> {
  const gvks = new Map<string, GroupVersionKind[]>();
  const groupVersions = new Map<string, { group: string; version: string }>();
  for (const k of builtinKinds) {
    gvks.set(k.model, [{ group: k.group, kind: k.kind, version: k.version }]);
    if (!isReview(k)) gvks.set(`${k.model}List`, [{ group: k.group, kind: `${k.kind}List`, version: k.version }]);
    groupVersions.set(apiVersionOf(k.group, k.version), { group: k.group, version: k.version });
  }
  gvks.set('V1Status', [{ group: '', kind: 'Status', version: 'v1' }]);
  // Like Kubernetes, DeleteOptions and WatchEvent are registered in every served group version.
  const byGroup = (gv: { group: string; version: string }): string => `${gv.group}/${gv.version}`;
  const everyGroup = [...groupVersions.values()].sort((a, b) => (byGroup(a) < byGroup(b) ? -1 : 1));
  for (const kind of ['DeleteOptions', 'WatchEvent']) gvks.set(`V1${kind}`, everyGroup.map((gv) => ({ group: gv.group, kind, version: gv.version })));
  return gvks;
}

function isReview(kind: BuiltinKind): boolean {
  return kind.review === true;
}

let cached: BuiltinOpenAPI | undefined;

/** The component schemas of the built-in kinds, generated on first call and shared afterwards. */
export function builtinOpenAPI(): BuiltinOpenAPI {
  cached ??= generateBuiltinOpenAPI();
  return cached;
}

/** Generates the schemas afresh, bypassing the cache; builtinOpenAPI is what callers want. */
export function generateBuiltinOpenAPI(): BuiltinOpenAPI {
  return deepFreeze({ schemas: generateSchemas() });
}

function generateSchemas(): Record<string, object> {
  const gvks = groupVersionKinds();
  const schemas = new Map<string, Schema>();
  const queue = [...builtinKinds.flatMap((k) => (isReview(k) ? [k.model] : [k.model, `${k.model}List`])), ...metaModels];
  const refTo = (name: string): Schema => {
    const scalar = scalarSchemas[name];
    if (scalar) schemas.set(name, scalar);
    return { $ref: schemaRefPrefix + name };
  };
  const refToModel = (modelClass: string): Schema => {
    queue.push(modelClass);
    return { $ref: schemaRefPrefix + kubernetesSchemaName(modelClass) };
  };

  while (queue.length > 0) {
    const modelClass = queue.shift()!;
    const name = kubernetesSchemaName(modelClass);
    if (schemas.has(name)) continue;
    const schema = modelSchema(loadClientNodeModel(modelClass), name, refTo, refToModel);
    const gvk = gvks.get(modelClass);
    if (gvk) schema['x-kubernetes-group-version-kind'] = gvk;
    schemas.set(name, schema);
  }

  const sorted: Record<string, object> = {};
  for (const name of [...schemas.keys()].sort()) sorted[name] = sortKeys(schemas.get(name)!) as object;
  return sorted;
}

function modelSchema(
  model: ClientNodeModel,
  name: string,
  refTo: (schemaName: string) => Schema,
  refToModel: (modelClass: string) => Schema,
): Schema {
  const properties: Schema = {};
  const required: string[] = [];
  for (const field of model.fields) {
    properties[field.jsonName] = fieldSchema(field, name, refTo, refToModel);
    if (field.required) required.push(field.jsonName);
  }
  return {
    ...(model.description !== undefined ? { description: model.description } : {}),
    type: 'object',
    properties,
    ...(required.length > 0 ? { required } : {}),
  };
}

function fieldSchema(
  field: ModelField,
  owner: string,
  refTo: (schemaName: string) => Schema,
  refToModel: (modelClass: string) => Schema,
): Schema {
  const isQuantity = quantityFields[owner]?.includes(field.jsonName) ?? false;
  const untyped = untypedFields[owner]?.[field.jsonName];

  const typeSchema = (type: string): Schema => {
    const item = /^Array<(.+)>$/.exec(type);
    if (item) return { type: 'array', items: typeSchema(item[1]!) };
    const value = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (value) return { type: 'object', additionalProperties: typeSchema(value[1]!) };
    switch (type) {
      case 'string':
        if (isQuantity) return refTo(schemaNames.quantity);
        return field.format === 'byte' ? { type: 'string', format: 'byte' } : { type: 'string' };
      case 'number':
        if (field.format === 'int32' || field.format === 'int64') return { type: 'integer', format: field.format };
        return field.format === 'double' ? { type: 'number', format: 'double' } : { type: 'number' };
      case 'boolean':
        return { type: 'boolean' };
      case 'Date':
        return refTo(field.format === 'date-time-micro' ? schemaNames.microTime : schemaNames.time);
      case 'V1MicroTime':
        return refTo(schemaNames.microTime);
      case 'IntOrString':
        return refTo(schemaNames.intOrString);
      case 'object':
        return { type: 'object' };
      case 'any':
        // An `any` nobody told us about is published as "anything goes" rather than guessed at.
        return untyped ? refTo(untyped) : { 'x-kubernetes-preserve-unknown-fields': true };
      default:
        return refToModel(type);
    }
  };

  const base = typeSchema(field.type);
  const extras: Schema = {
    ...(field.description !== undefined ? { description: field.description } : {}),
    ...patchMetadata[owner]?.[field.jsonName],
    ...(keyFieldDefaults[owner]?.[field.jsonName] !== undefined ? { default: keyFieldDefaults[owner]![field.jsonName] } : {}),
  };
  if (Object.keys(extras).length === 0) return base;
  // In OpenAPI 3.0 siblings of `$ref` are ignored, so a ref with its own description or extensions
  // is wrapped in a single-member allOf, as Kubernetes does.
  return '$ref' in base ? { allOf: [base], ...extras } : { ...base, ...extras };
}

/** A copy with object keys sorted at every level; arrays keep their order. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
