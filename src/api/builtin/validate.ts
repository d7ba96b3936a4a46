/**
 * Schema validation of the built-in kinds, using kubernetes-models' precompiled validators (derived
 * from the upstream OpenAPI) and reporting failures as Kubernetes does: one cause per bad field, with a
 * field path such as `spec.template.spec.containers[0].image`, a `FieldValue*` reason, and a message
 * in the API server's words. This checks shape only (types, required fields, enums, formats); unknown
 * fields are findUnknownFields' business, and semantic rules (name syntax, immutability, ...) are not
 * covered.
 */
import { validate as validateConfigMap } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ConfigMap';
import { validate as validateEvent } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Event';
import { validate as validateNamespace } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Namespace';
import { validate as validateSecret } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Secret';
import { validate as validateService } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Service';
import { validate as validateNode } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Node';
import { validate as validatePod } from 'kubernetes-models/_schemas/IoK8sApiCoreV1Pod';
import { validate as validateLimitRange } from 'kubernetes-models/_schemas/IoK8sApiCoreV1LimitRange';
import { validate as validateResourceQuota } from 'kubernetes-models/_schemas/IoK8sApiCoreV1ResourceQuota';
import { validate as validateReplicaSet } from 'kubernetes-models/_schemas/IoK8sApiAppsV1ReplicaSet';
import { validate as validatePodDisruptionBudget } from 'kubernetes-models/_schemas/IoK8sApiPolicyV1PodDisruptionBudget';
import { validate as validatePriorityClass } from 'kubernetes-models/_schemas/IoK8sApiSchedulingV1PriorityClass';
import { validate as validateMutatingWebhookConfiguration } from 'kubernetes-models/_schemas/IoK8sApiAdmissionregistrationV1MutatingWebhookConfiguration';
import { validate as validateValidatingWebhookConfiguration } from 'kubernetes-models/_schemas/IoK8sApiAdmissionregistrationV1ValidatingWebhookConfiguration';
import { validate as validateDaemonSet } from 'kubernetes-models/_schemas/IoK8sApiAppsV1DaemonSet';
import { validate as validateDeployment } from 'kubernetes-models/_schemas/IoK8sApiAppsV1Deployment';
import { validate as validateStatefulSet } from 'kubernetes-models/_schemas/IoK8sApiAppsV1StatefulSet';
import { validate as validateJob } from 'kubernetes-models/_schemas/IoK8sApiBatchV1Job';
import { validate as validateLease } from 'kubernetes-models/_schemas/IoK8sApiCoordinationV1Lease';
import { validate as validateCustomResourceDefinition } from 'kubernetes-models/_schemas/IoK8sApiextensionsApiserverPkgApisApiextensionsV1CustomResourceDefinition';
import { validate as validateSelfSubjectAccessReview } from 'kubernetes-models/_schemas/IoK8sApiAuthorizationV1SelfSubjectAccessReview';
import { validate as validateSelfSubjectRulesReview } from 'kubernetes-models/_schemas/IoK8sApiAuthorizationV1SelfSubjectRulesReview';
import { validate as validateSelfSubjectReview } from 'kubernetes-models/_schemas/IoK8sApiAuthenticationV1SelfSubjectReview';
import { isPlainObject } from '../../machinery/object.ts';
import { builtinKinds, apiVersionOf } from './kinds.ts';
import { builtinOpenAPI, schemaRefPrefix } from './openapi.ts';
import { kubernetesSchemaName } from './schema-names.ts';

export type FieldErrorReason = 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueTypeInvalid' | 'FieldValueNotSupported';

/** One invalid field, shaped like a Kubernetes `StatusCause`. */
export interface FieldCause {
  field: string;
  message: string;
  reason: FieldErrorReason;
}

/** An error as kubernetes-models' Ajv-generated validators leave it on `validate.errors`. */
interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

type SchemaValidate = (data: unknown) => boolean;

const validatorsByKind: Readonly<Record<(typeof builtinKinds)[number]['kind'], SchemaValidate>> = {
  Namespace: validateNamespace,
  ConfigMap: validateConfigMap,
  Secret: validateSecret,
  Service: validateService,
  Event: validateEvent,
  Node: validateNode,
  Pod: validatePod,
  LimitRange: validateLimitRange,
  PodDisruptionBudget: validatePodDisruptionBudget,
  ResourceQuota: validateResourceQuota,
  ReplicaSet: validateReplicaSet,
  PriorityClass: validatePriorityClass,
  MutatingWebhookConfiguration: validateMutatingWebhookConfiguration,
  ValidatingWebhookConfiguration: validateValidatingWebhookConfiguration,
  Deployment: validateDeployment,
  StatefulSet: validateStatefulSet,
  DaemonSet: validateDaemonSet,
  Job: validateJob,
  Lease: validateLease,
  CustomResourceDefinition: validateCustomResourceDefinition,
  SelfSubjectAccessReview: validateSelfSubjectAccessReview,
  SelfSubjectRulesReview: validateSelfSubjectRulesReview,
  SelfSubjectReview: validateSelfSubjectReview,
};

const kindsByType = new Map(builtinKinds.map((k) => [`${apiVersionOf(k.group, k.version)}/${k.kind}`, k]));

/** True when (apiVersion, kind) is one of the built-in kinds validateBuiltin knows. */
export function isBuiltinKind(apiVersion: string, kind: string): boolean {
  return kindsByType.has(`${apiVersion}/${kind}`);
}

/**
 * The causes that make `obj` an invalid `kind` of `apiVersion`; empty when it is valid. A missing
 * `apiVersion` or `kind` in the object is taken from the arguments (the request path names them); a
 * present but different one is reported. Throws for a kind that is not built in.
 */
export function validateBuiltin(apiVersion: string, kind: string, obj: unknown): FieldCause[] {
  const builtin = kindsByType.get(`${apiVersion}/${kind}`);
  if (!builtin) throw new Error(`${apiVersion}/${kind} is not a built-in kind`);
  if (!isPlainObject(obj)) {
    const type = jsonType(obj);
    return [{ field: '', reason: 'FieldValueTypeInvalid', message: `Invalid value: "${type}": body must be of type object: "${type}"` }];
  }
  const data = { ...obj, apiVersion: obj.apiVersion ?? apiVersion, kind: obj.kind ?? kind };
  const validate = validatorsByKind[builtin.kind];
  if (validate(data)) return [];
  const errors = (validate as SchemaValidate & { errors?: SchemaError[] | null }).errors ?? [];
  return toCauses(errors, data, kubernetesSchemaName(builtin.model));
}

/**
 * Turns Ajv errors into causes. Ajv reports every failed branch of a `oneOf` (IntOrString, Quantity)
 * and then the `oneOf` itself, all at the same path; those are folded into one cause. A type error
 * also hides the enum and format errors at its path, which only restate it.
 */
function toCauses(errors: SchemaError[], data: Record<string, unknown>, rootSchema: string): FieldCause[] {
  const unionPaths = new Set(errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.instancePath));
  const typedPaths = new Set(errors.filter((e) => e.keyword === 'type' && !unionPaths.has(e.instancePath)).map((e) => e.instancePath));
  const causes: FieldCause[] = [];
  const seen = new Set<string>();
  const add = (cause: FieldCause): void => {
    const key = `${cause.field}\0${cause.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    causes.push(cause);
  };

  for (const error of errors) {
    const path = error.instancePath;
    const value = valueAt(data, path);
    const field = fieldPath(path, data, rootSchema);
    if (unionPaths.has(path)) {
      if (error.keyword !== 'oneOf' && error.keyword !== 'anyOf') continue;
      add(unionCause(errors.filter((e) => e.instancePath === path), field, value));
      continue;
    }
    if (typedPaths.has(path) && error.keyword !== 'type') continue;
    add(singleCause(error, field, value, path, data, rootSchema));
  }
  return causes;
}

function singleCause(error: SchemaError, field: string, value: unknown, path: string, data: unknown, rootSchema: string): FieldCause {
  switch (error.keyword) {
    case 'required': {
      const missing = String(error.params['missingProperty']);
      return { field: fieldPath(`${path}/${escapePointer(missing)}`, data, rootSchema), reason: 'FieldValueRequired', message: 'Required value' };
    }
    case 'type':
      return typeCause(field, value, String(error.params['type']).replaceAll(',', ' or '));
    case 'enum': {
      const allowed = (error.params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return { field, reason: 'FieldValueNotSupported', message: `Unsupported value: ${showValue(value)}: supported values: ${allowed}` };
    }
    case 'format':
      return formatCause(field, value, String(error.params['format']));
    default:
      return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${showValue(value)}: ${error.message ?? `fails ${error.keyword}`}` };
  }
}

/** One cause for a failed union: a bad quantity string reads as such, anything else as a type error naming every accepted type. */
function unionCause(branchErrors: SchemaError[], field: string, value: unknown): FieldCause {
  const format = branchErrors.find((e) => e.keyword === 'format');
  if (format && typeof value === 'string') return formatCause(field, value, String(format.params['format']));
  const types = [...new Set(branchErrors.filter((e) => e.keyword === 'type').map((e) => String(e.params['type'])))].sort();
  if (types.length > 0) return typeCause(field, value, types.join(' or '));
  return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${showValue(value)}: ${field} in body must match exactly one schema` };
}

function typeCause(field: string, value: unknown, expected: string): FieldCause {
  const actual = jsonType(value);
  return { field, reason: 'FieldValueTypeInvalid', message: `Invalid value: "${actual}": ${field} in body must be of type ${expected}: "${actual}"` };
}

function formatCause(field: string, value: unknown, format: string): FieldCause {
  if (format === 'quantity') {
    return {
      field,
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${showValue(value)}: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    };
  }
  return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${showValue(value)}: ${field} in body must be of type ${format}: ${showValue(value)}` };
}

/** The JSON type name of a value, distinguishing integers from other numbers as OpenAPI does. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** A value as Kubernetes quotes it in messages: strings quoted, scalars bare, containers by type. */
function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return `"${jsonType(value)}"`;
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function valueAt(data: unknown, pointer: string): unknown {
  let current = data;
  for (const segment of pointerSegments(pointer)) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isPlainObject(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

type Schema = Record<string, unknown>;

/**
 * A JSON pointer rendered as a Kubernetes field path: struct fields joined with dots, list indexes and
 * map keys in brackets (`spec.containers[0].resources.limits[cpu]`). Whether a step is a map key is
 * read off the published schema; lists are recognised from the data itself.
 */
function fieldPath(pointer: string, data: unknown, rootSchema: string): string {
  const schemas = builtinOpenAPI().schemas as Readonly<Record<string, Schema>>;
  const deref = (schema: Schema | undefined): Schema | undefined => {
    let current = schema;
    for (let hops = 0; current && hops < 8; hops++) {
      const ref = current['$ref'];
      const allOf = current['allOf'];
      if (typeof ref === 'string') current = schemas[ref.slice(schemaRefPrefix.length)];
      else if (Array.isArray(allOf) && allOf.length === 1 && !current['properties']) current = allOf[0] as Schema;
      else break;
    }
    return current;
  };

  let path = '';
  let schema = deref(schemas[rootSchema]);
  let value = data;
  for (const segment of pointerSegments(pointer)) {
    if (Array.isArray(value)) {
      path += `[${segment}]`;
      schema = deref(schema?.['items'] as Schema | undefined);
      value = value[Number(segment)];
      continue;
    }
    const properties = schema?.['properties'] as Record<string, Schema> | undefined;
    const additional = schema?.['additionalProperties'];
    if (properties && Object.hasOwn(properties, segment)) {
      path += path === '' ? segment : `.${segment}`;
      schema = deref(properties[segment]);
    } else if (typeof additional === 'object' && additional !== null) {
      path += `[${segment}]`;
      schema = deref(additional as Schema);
    } else {
      path += path === '' ? segment : `.${segment}`;
      schema = undefined;
    }
    value = isPlainObject(value) ? value[segment] : undefined;
  }
  return path;
}
