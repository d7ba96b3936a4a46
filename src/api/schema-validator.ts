/**
 * Compiles OpenAPI v3 structural schemas (as CustomResourceDefinitions and Nephele's own kinds
 * publish them) into validators that report Kubernetes-style causes with dotted field paths.
 * Ajv does the checking; this file only translates the Kubernetes extensions Ajv does not know
 * (`x-kubernetes-int-or-string`, `nullable`, integer formats) and the error shape.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { StatusCause } from '../machinery/status-error.ts';
import { isPlainObject } from '../machinery/object.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

// `verbose` puts the offending value on each error, which the causes quote ("Invalid value: 0").
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: true, discriminator: false, verbose: true });
addFormats(ajv);
for (const format of ['int32', 'int64', 'float', 'double', 'byte', 'quantity', 'int-or-string']) ajv.addFormat(format, true);

export type SchemaValidator = (value: unknown) => StatusCause[];

/**
 * Turns a Kubernetes OpenAPI schema into plain JSON Schema: int-or-string becomes a choice,
 * `nullable` admits null, and component references are inlined from `components` (depth-limited
 * for recursive types, past which anything is accepted).
 */
export function toJsonSchema(schema: unknown, components: Record<string, object> = {}, depth = 0): unknown {
  if (!isPlainObject(schema)) return schema;
  if (depth > 40) return {};
  const ref = typeof schema.$ref === 'string' ? schema.$ref : undefined;
  if (ref) return toJsonSchema(components[ref.replace('#/components/schemas/', '')] ?? {}, components, depth + 1);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-') || key === 'description' || key === 'example' || key === 'externalDocs') continue;
    if (key === 'properties' && isPlainObject(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSchema(v, components, depth + 1)]));
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && isPlainObject(value)) {
      out[key] = toJsonSchema(value, components, depth + 1);
    } else if ((key === 'allOf' || key === 'anyOf' || key === 'oneOf') && Array.isArray(value)) {
      out[key] = value.map((v) => toJsonSchema(v, components, depth + 1));
    } else if (key !== 'nullable') {
      out[key] = value;
    }
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (schema.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (schema['x-kubernetes-preserve-unknown-fields'] === true && out.type === undefined && out.properties === undefined) {
    return {};
  }
  return out;
}

export function compileSchema(schema: object, components: Record<string, object> = {}): SchemaValidator {
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(toJsonSchema(schema, components) as object);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return () => [{ reason: 'FieldValueInvalid', field: '', message: `the schema cannot be compiled: ${message}` }];
  }
  return (value) => (validate(value) ? [] : toCauses(validate.errors ?? []));
}

/** Checks that a schema compiles; returns the compiler's complaint or undefined. */
export function schemaProblem(schema: object): string | undefined {
  try {
    ajv.compile(toJsonSchema(schema) as object);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

function toCauses(errs: ErrorObject[]): StatusCause[] {
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  for (const err of errs) {
    // anyOf/oneOf branches report once for the whole choice.
    if (err.keyword === 'anyOf' || err.keyword === 'oneOf') continue;
    const base = pointerToField(err.instancePath);
    let field = base;
    let reason = 'FieldValueInvalid';
    let message = err.message ?? 'is invalid';
    if (err.keyword === 'required') {
      const missing = String((err.params as { missingProperty?: string }).missingProperty);
      field = base ? `${base}.${missing}` : missing;
      reason = 'FieldValueRequired';
      message = 'Required value';
    } else if (err.keyword === 'type') {
      reason = 'FieldValueTypeInvalid';
      message = `Invalid value: ${describe(err.data)}: ${field || 'body'} in body must be of type ${String((err.params as { type?: unknown }).type)}`;
    } else if (err.keyword === 'enum') {
      reason = 'FieldValueNotSupported';
      const allowed = (err.params as { allowedValues?: unknown[] }).allowedValues ?? [];
      message = `Unsupported value: ${describe(err.data)}: supported values: ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (err.keyword === 'additionalProperties') {
      const extra = String((err.params as { additionalProperty?: string }).additionalProperty);
      field = base ? `${base}.${extra}` : extra;
      message = 'field not declared in schema';
    } else {
      message = `Invalid value: ${describe(err.data)}: ${field || 'body'} in body ${message}`;
    }
    const key = `${field}|${reason}`;
    if (seen.has(key)) continue;
    seen.add(key);
    causes.push({ reason, field, message });
  }
  return causes;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return 'undefined';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `/spec/containers/0/image` -> `spec.containers[0].image`. */
export function pointerToField(pointer: string): string {
  if (!pointer) return '';
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : out === '' ? part : `.${part}`;
  }
  return out;
}
