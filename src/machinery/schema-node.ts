/**
 * A navigator over OpenAPI v3 schemas as Kubernetes publishes them (`/openapi/v3`), reduced to
 * what the patch machinery needs: the shape of a value (object, array, map, scalar) and the
 * `x-kubernetes-*` extensions that decide how lists and maps merge.
 *
 * Nodes are lazy: a `$ref` is followed and children are built only when first asked for, so
 * recursive schemas (JSONSchemaProps refers to itself) cost nothing until walked. A missing or
 * unresolvable schema is never an error: it becomes the `unknown` node, under which lists are
 * atomic and maps are granular objects of unknown values, which is how Kubernetes treats
 * fields it has no schema for.
 */
import { isPlainObject } from './object.ts';

export type SchemaNodeType = 'object' | 'array' | 'map' | 'scalar' | 'unknown';
export type PatchStrategy = 'merge' | 'replace' | 'retainKeys' | 'merge,retainKeys';
export type ListType = 'atomic' | 'set' | 'map';
export type MapType = 'atomic' | 'granular';

/** Resolves a `$ref` such as `#/components/schemas/io.k8s.api.core.v1.PodSpec`; undefined when unknown. */
export type SchemaResolver = (ref: string) => object | undefined;

export interface SchemaNode {
  /**
   * The shape of the values this node describes: `object` has named properties, `map` has only
   * `additionalProperties`, `array` has `items`, `scalar` is a string, number, boolean or
   * int-or-string, and `unknown` is anything (no schema, or `x-kubernetes-preserve-unknown-fields`
   * without structure).
   */
  readonly type: SchemaNodeType;
  /**
   * The schema of a property. For an object without that property, and for a map, this is the
   * `additionalProperties` schema; otherwise the unknown node. Never undefined.
   */
  field(name: string): SchemaNode;
  /** True when `name` is a declared property (a "named field", not a map key). */
  hasField(name: string): boolean;
  /** The schema of array items or map values; the unknown node when there is none. */
  elements(): SchemaNode;
  /** `x-kubernetes-patch-merge-key`: the field that identifies list items in a strategic merge patch. */
  readonly patchMergeKey: string | undefined;
  /** `x-kubernetes-patch-strategy`, normalized so `retainKeys,merge` reads `merge,retainKeys`. */
  readonly patchStrategy: PatchStrategy | undefined;
  /**
   * How server-side apply treats a list: `x-kubernetes-list-type` when given; otherwise `map` when
   * there is a patch merge key, `set` when the patch strategy merges without a key, else `atomic`.
   * Always `atomic` for nodes that are not arrays.
   */
  readonly listType: ListType;
  /** The fields that identify items of a `map` list (`x-kubernetes-list-map-keys`, else the merge key). */
  readonly listMapKeys: readonly string[];
  /** `x-kubernetes-map-type`; `granular` unless the schema says `atomic`. */
  readonly mapType: MapType;
  /** `x-kubernetes-preserve-unknown-fields`. */
  readonly preserveUnknownFields: boolean;
  /** `x-kubernetes-int-or-string` (or the v2 `format: int-or-string`). */
  readonly intOrString: boolean;
  /** `nullable: true`: a null value is kept rather than treated as absence. */
  readonly nullable: boolean;
  /** The schema's `default`, used for list map keys a client left out; undefined when none. */
  readonly defaultValue: unknown;
}

type RawSchema = Record<string, unknown>;

/** Builds the lazy node for a schema. `schema` may itself be a `$ref` or an `allOf` wrapper. */
export function schemaNode(schema: object | undefined, resolve: SchemaResolver): SchemaNode {
  if (schema === undefined || !isPlainObject(schema)) return unknownSchemaNode;
  return new LazySchemaNode(schema, resolve);
}

/**
 * A resolver over an OpenAPI document: `#/components/schemas/NAME` (v3) and `#/definitions/NAME`
 * (v2) refs are looked up in the document; other refs resolve to undefined.
 */
export function componentsResolver(document: { components?: { schemas?: Record<string, object> }; definitions?: Record<string, object> }): SchemaResolver {
  return (ref) => {
    const v3 = '#/components/schemas/';
    const v2 = '#/definitions/';
    if (ref.startsWith(v3)) return lookup(document.components?.schemas, decodeRefName(ref.slice(v3.length)));
    if (ref.startsWith(v2)) return lookup(document.definitions, decodeRefName(ref.slice(v2.length)));
    return undefined;
  };
}

function lookup(table: Record<string, object> | undefined, name: string): object | undefined {
  return table !== undefined && Object.hasOwn(table, name) ? table[name] : undefined;
}

/** JSON pointer escapes inside a ref name (`~1` is `/`, `~0` is `~`). */
function decodeRefName(name: string): string {
  return name.replaceAll('~1', '/').replaceAll('~0', '~');
}

class UnknownSchemaNode implements SchemaNode {
  readonly type = 'unknown' as const;
  readonly patchMergeKey = undefined;
  readonly patchStrategy = undefined;
  readonly listType = 'atomic' as const;
  readonly listMapKeys: readonly string[] = [];
  readonly mapType = 'granular' as const;
  readonly preserveUnknownFields = true;
  readonly intOrString = false;
  readonly nullable = false;
  readonly defaultValue = undefined;
  field(): SchemaNode {
    return this;
  }
  hasField(): boolean {
    return false;
  }
  elements(): SchemaNode {
    return this;
  }
}

/** The node for values without a schema: granular objects, atomic lists. */
export const unknownSchemaNode: SchemaNode = new UnknownSchemaNode();

const maxRefDepth = 64;

class LazySchemaNode implements SchemaNode {
  readonly #raw: RawSchema;
  readonly #resolve: SchemaResolver;
  #flat: RawSchema | undefined;
  #type: SchemaNodeType | undefined;
  #fields = new Map<string, SchemaNode>();
  #elements: SchemaNode | undefined;

  constructor(raw: RawSchema, resolve: SchemaResolver) {
    this.#raw = raw;
    this.#resolve = resolve;
  }

  /** The schema with `$ref` and `allOf` folded in; the node's own keywords win over referenced ones. */
  get #schema(): RawSchema {
    this.#flat ??= flatten(this.#raw, this.#resolve, 0);
    return this.#flat;
  }

  get type(): SchemaNodeType {
    this.#type ??= classify(this.#schema);
    return this.#type;
  }

  field(name: string): SchemaNode {
    let node = this.#fields.get(name);
    if (node === undefined) {
      const properties = this.#schema.properties;
      if (this.type === 'object' && isPlainObject(properties) && Object.hasOwn(properties, name)) {
        node = schemaNode(asSchema(properties[name]), this.#resolve);
      } else if (this.type === 'object' || this.type === 'map') {
        node = this.elements();
      } else {
        node = unknownSchemaNode;
      }
      this.#fields.set(name, node);
    }
    return node;
  }

  hasField(name: string): boolean {
    const properties = this.#schema.properties;
    return this.type === 'object' && isPlainObject(properties) && Object.hasOwn(properties, name);
  }

  elements(): SchemaNode {
    if (this.#elements === undefined) {
      const schema = this.#schema;
      if (this.type === 'array') this.#elements = schemaNode(asSchema(schema.items), this.#resolve);
      else if (this.type === 'object' || this.type === 'map') this.#elements = schemaNode(asSchema(schema.additionalProperties), this.#resolve);
      else this.#elements = unknownSchemaNode;
    }
    return this.#elements;
  }

  get patchMergeKey(): string | undefined {
    const key = this.#schema['x-kubernetes-patch-merge-key'];
    return typeof key === 'string' && key !== '' ? key : undefined;
  }

  get patchStrategy(): PatchStrategy | undefined {
    const raw = this.#schema['x-kubernetes-patch-strategy'];
    if (typeof raw !== 'string') return undefined;
    const parts = new Set(raw.split(',').map((s) => s.trim()).filter((s) => s !== ''));
    if (parts.has('merge') && parts.has('retainKeys')) return 'merge,retainKeys';
    if (parts.has('merge')) return 'merge';
    if (parts.has('retainKeys')) return 'retainKeys';
    if (parts.has('replace')) return 'replace';
    return undefined;
  }

  get listType(): ListType {
    if (this.type !== 'array') return 'atomic';
    const declared = this.#schema['x-kubernetes-list-type'];
    if (declared === 'atomic' || declared === 'set') return declared;
    if (declared === 'map') return this.listMapKeys.length > 0 ? 'map' : 'atomic';
    if (this.patchMergeKey !== undefined) return 'map';
    if (this.patchStrategy?.startsWith('merge')) return 'set';
    return 'atomic';
  }

  get listMapKeys(): readonly string[] {
    const keys = this.#schema['x-kubernetes-list-map-keys'];
    if (Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k === 'string')) return keys as string[];
    const mergeKey = this.patchMergeKey;
    return mergeKey === undefined ? [] : [mergeKey];
  }

  get mapType(): MapType {
    return this.#schema['x-kubernetes-map-type'] === 'atomic' ? 'atomic' : 'granular';
  }

  get preserveUnknownFields(): boolean {
    return this.#schema['x-kubernetes-preserve-unknown-fields'] === true;
  }

  get intOrString(): boolean {
    return this.#schema['x-kubernetes-int-or-string'] === true || this.#schema.format === 'int-or-string';
  }

  get nullable(): boolean {
    return this.#schema.nullable === true;
  }

  get defaultValue(): unknown {
    return this.#schema.default;
  }
}

/** Schemas may be `true` (anything) in `additionalProperties`; that is the unknown node. */
function asSchema(value: unknown): object | undefined {
  return isPlainObject(value) ? value : undefined;
}

/**
 * Folds `$ref` targets and `allOf` members into one schema. Kubernetes wraps a ref that carries
 * its own description or default as `{ allOf: [{ $ref }], description, default }`, and puts the
 * patch extensions on whichever side it pleases, so both sides contribute; properties merge.
 */
function flatten(schema: RawSchema, resolve: SchemaResolver, depth: number): RawSchema {
  if (depth > maxRefDepth) return {};
  const out: RawSchema = {};
  const parts: RawSchema[] = [];
  if (typeof schema.$ref === 'string') {
    const target = resolve(schema.$ref);
    if (isPlainObject(target)) parts.push(flatten(target, resolve, depth + 1));
  }
  if (Array.isArray(schema.allOf)) {
    for (const member of schema.allOf) if (isPlainObject(member)) parts.push(flatten(member, resolve, depth + 1));
  }
  const own: RawSchema = {};
  for (const [k, v] of Object.entries(schema)) if (k !== '$ref' && k !== 'allOf') own[k] = v;
  parts.push(own);
  for (const part of parts) {
    for (const [k, v] of Object.entries(part)) {
      if (k === 'properties' && isPlainObject(out.properties) && isPlainObject(v)) out.properties = { ...out.properties, ...v };
      else out[k] = v;
    }
  }
  return out;
}

function classify(schema: RawSchema): SchemaNodeType {
  if (schema['x-kubernetes-int-or-string'] === true || schema.format === 'int-or-string') return 'scalar';
  let type = schema.type;
  if (Array.isArray(type)) type = type.find((t) => t !== 'null');
  if (type === 'array' || (type === undefined && schema.items !== undefined)) return 'array';
  const hasProperties = isPlainObject(schema.properties) && Object.keys(schema.properties).length > 0;
  const additional = schema.additionalProperties;
  if (type === 'object' || (type === undefined && (hasProperties || additional !== undefined))) {
    if (hasProperties) return 'object';
    if (isPlainObject(additional) || additional === true) return 'map';
    return schema['x-kubernetes-preserve-unknown-fields'] === true ? 'unknown' : 'map';
  }
  if (type === 'string' || type === 'integer' || type === 'number' || type === 'boolean') return 'scalar';
  return 'unknown';
}
