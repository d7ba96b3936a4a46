/**
 * Finds the fields of an object that its OpenAPI v3 schema does not declare: what a Kubernetes API
 * server prunes from custom resources and reports for `fieldValidation=Warn|Strict`. The answer is
 * the list of their paths in the order met, e.g. `.spec.replicaz` or
 * `.spec.template.spec.containers[0].imagePullPolcy`; empty when every field is known.
 *
 * The walk follows `$ref` and `allOf`, `properties`, `additionalProperties` and `items`. It reports
 * only what the schema proves unknown: a schema that declares no properties (e.g. `type: object`
 * alone, or a `$ref` that does not resolve) accepts anything, as do fields under
 * `x-kubernetes-preserve-unknown-fields: true`; an `x-kubernetes-embedded-resource` object also
 * accepts `apiVersion`, `kind` and `metadata`. `oneOf`/`anyOf`/`not` are not walked: in a structural
 * schema they may only restate fields the schema already declares.
 */
import { isPlainObject } from './object.ts';

/** Looks up the schema a `$ref` (e.g. `#/components/schemas/io.k8s.api.core.v1.PodSpec`) points at. */
export type SchemaRefResolver = (ref: string) => object | undefined;

/** What a set of schemas (a node with its `$ref` and `allOf` members) says about an object's fields. */
interface FieldRules {
  properties: Map<string, object[]>;
  /** Schemas every undeclared key must match (`additionalProperties: {...}`). */
  additional: object[];
  /** Undeclared keys are fine: `additionalProperties: true` or preserve-unknown-fields. */
  allowsAny: boolean;
  /** The schema names its fields (`properties` or `additionalProperties: false`), so others are unknown. */
  closed: boolean;
  embeddedResource: boolean;
  items: object[];
}

const embeddedResourceFields = new Set(['apiVersion', 'kind', 'metadata']);

/**
 * Rules worked out for single schemas, per resolver: a resolver stands for one document, so a
 * caller that passes the same resolver function for the same document (as the registry does, one
 * per kind) pays for each schema once, not once per request.
 */
const rulesByResolver = new WeakMap<SchemaRefResolver, WeakMap<object, FieldRules>>();

export function findUnknownFields(obj: unknown, schema: object, resolve: SchemaRefResolver): string[] {
  const unknown: string[] = [];
  let cache = rulesByResolver.get(resolve);
  if (!cache) rulesByResolver.set(resolve, (cache = new WeakMap()));

  const rulesOf = (schemas: object[]): FieldRules => {
    if (schemas.length === 1) {
      const cached = cache.get(schemas[0]!);
      if (cached) return cached;
    }
    const rules: FieldRules = { properties: new Map(), additional: [], allowsAny: false, closed: false, embeddedResource: false, items: [] };
    const visiting = new Set<object>();
    const collect = (node: unknown): void => {
      if (!isPlainObject(node) || visiting.has(node)) return;
      visiting.add(node);
      if (typeof node['$ref'] === 'string') collect(resolve(node['$ref']));
      if (Array.isArray(node['allOf'])) for (const member of node['allOf']) collect(member);
      if (isPlainObject(node['properties'])) {
        rules.closed = true;
        for (const [name, propertySchema] of Object.entries(node['properties'])) {
          if (!isPlainObject(propertySchema)) continue;
          const known = rules.properties.get(name);
          if (known) known.push(propertySchema);
          else rules.properties.set(name, [propertySchema]);
        }
      }
      const additional = node['additionalProperties'];
      if (isPlainObject(additional)) rules.additional.push(additional);
      else if (additional === true) rules.allowsAny = true;
      else if (additional === false) rules.closed = true;
      if (node['x-kubernetes-preserve-unknown-fields'] === true) rules.allowsAny = true;
      if (node['x-kubernetes-embedded-resource'] === true) rules.embeddedResource = true;
      if (isPlainObject(node['items'])) rules.items.push(node['items']);
    };
    for (const s of schemas) collect(s);
    if (schemas.length === 1) cache.set(schemas[0]!, rules);
    return rules;
  };

  // The path so far as `.key` and `[i]` parts, joined only for a field that is unknown.
  const path: string[] = [];
  const walk = (value: unknown, schemas: object[]): void => {
    if (Array.isArray(value)) {
      const { items } = rulesOf(schemas);
      if (items.length === 0) return;
      value.forEach((item, i) => {
        path.push(`[${i}]`);
        walk(item, items);
        path.pop();
      });
      return;
    }
    if (!isPlainObject(value)) return;
    const rules = rulesOf(schemas);
    for (const key in value) {
      const child = value[key];
      const declared = rules.properties.get(key);
      const under = declared ?? (rules.additional.length > 0 ? rules.additional : undefined);
      if (under) {
        if (typeof child !== 'object' || child === null) continue;
        path.push(`.${key}`);
        walk(child, under);
        path.pop();
      } else if (rules.allowsAny || !rules.closed) continue;
      else if (rules.embeddedResource && embeddedResourceFields.has(key)) continue;
      else unknown.push(`${path.join('')}.${key}`);
    }
  };

  walk(obj, [schema]);
  return unknown;
}
