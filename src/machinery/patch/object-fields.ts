/**
 * The fields of JSON values as server-side apply sees them through a SchemaNode: which values
 * are leaves (scalars, atomic lists and maps), how children are named (`f:`, `k:`, `v:`), the
 * field set an applied configuration claims, what changed between two objects, and removing a
 * set of fields from an object.
 *
 * Every function here is pure. Only the applied configuration is checked strictly (a list
 * item without its key fields, or a duplicate item, is a 400); stored objects are read
 * leniently, so a malformed stored list never blocks a write: it is treated as atomic.
 */
import { isPlainObject, jsonEqual } from '../object.ts';
import type { SchemaNode } from '../schema-node.ts';
import { StatusError } from '../status-error.ts';
import {
  canonicalJson,
  childNode,
  emptyFieldSet,
  fieldSetFromPaths,
  formatFieldPath,
  newFieldSetNode,
  unionFieldSets,
  type FieldPath,
  type FieldSet,
} from './field-set.ts';

/** One child of a container value. */
export interface FieldChild {
  /** The encoded path element (`f:image`, `k:{"name":"web"}`, `v:"a"`). */
  element: string;
  value: unknown;
  schema: SchemaNode;
  /** The key in the parent object; undefined for list items. */
  name?: string;
  /** True for a declared property of an object schema (a "named field", not a map key). */
  named: boolean;
  /** True when an earlier list item has the same element; such items are invisible to tracking. */
  duplicate: boolean;
}

type Mode = { strict: false } | { strict: true; path: string[] };

const lenient: Mode = { strict: false };

/**
 * The children of a value, or undefined when the value is a leaf: a scalar, null, an atomic
 * list or map, or a value whose shape does not match its schema.
 */
export function childrenOf(value: unknown, schema: SchemaNode, mode: Mode = lenient): FieldChild[] | undefined {
  if (isPlainObject(value)) {
    if (schema.type === 'scalar' || schema.type === 'array' || schema.mapType === 'atomic') return undefined;
    const out: FieldChild[] = [];
    for (const [name, child] of Object.entries(value)) {
      if (child === undefined) continue;
      out.push({ element: `f:${name}`, value: child, schema: schema.field(name), name, named: schema.hasField(name), duplicate: false });
    }
    return out;
  }
  if (Array.isArray(value)) {
    if (schema.type !== 'array') return undefined;
    if (schema.listType === 'set') return listChildren(value, schema, mode, (item) => `v:${canonicalJson(item)}`);
    if (schema.listType === 'map') return listChildren(value, schema, mode, (item, index) => mapListElement(item, index, schema, mode));
    return undefined;
  }
  return undefined;
}

function listChildren(list: unknown[], schema: SchemaNode, mode: Mode, elementOf: (item: unknown, index: number) => string | undefined): FieldChild[] | undefined {
  const elements = schema.elements();
  const seen = new Set<string>();
  const out: FieldChild[] = [];
  for (const [index, item] of list.entries()) {
    const element = elementOf(item, index);
    if (element === undefined) return undefined;
    const duplicate = seen.has(element);
    if (duplicate && mode.strict) {
      throw new StatusError('BadRequest', `${formatFieldPath(mode.path) || '.'}: duplicate entries for key ${formatFieldPath([element])}`);
    }
    seen.add(element);
    out.push({ element, value: item, schema: elements, named: false, duplicate });
  }
  return out;
}

/** `k:{...}` for an item of a map list; key fields the item leaves out take their schema default. */
function mapListElement(item: unknown, index: number, schema: SchemaNode, mode: Mode): string | undefined {
  const where = (): string => `${formatFieldPath(mode.strict ? mode.path : []) || '.'}: element ${index}`;
  if (!isPlainObject(item)) {
    if (mode.strict) throw new StatusError('BadRequest', `${where()} must be an object: the list is keyed by ${schema.listMapKeys.join(', ')}`);
    return undefined;
  }
  const key: Record<string, unknown> = {};
  for (const name of schema.listMapKeys) {
    const value = item[name] ?? schema.elements().field(name).defaultValue;
    if (value === undefined || value === null) {
      if (mode.strict) throw new StatusError('BadRequest', `${where()} omits key field ${JSON.stringify(name)} (and it has no default value)`);
      continue;
    }
    key[name] = value;
  }
  if (Object.keys(key).length === 0) return undefined;
  return `k:${canonicalJson(key)}`;
}

function descend(mode: Mode, element: string): Mode {
  return mode.strict ? { strict: true, path: [...mode.path, element] } : mode;
}

/**
 * The set of fields a value sets, as server-side apply computes it for an applied
 * configuration: every leaf, every list item, every map entry, and fields set to null or to an
 * empty object. Object fields that merely contain other fields are not members.
 * With `strict`, malformed keyed lists throw a 400 naming the path.
 */
export function fieldSetOf(value: unknown, schema: SchemaNode, options: { strict?: boolean } = {}): FieldSet {
  const root = newFieldSetNode();
  const walk = (v: unknown, s: SchemaNode, node: ReturnType<typeof newFieldSetNode>, mode: Mode): void => {
    const children = childrenOf(v, s, mode);
    if (children === undefined) {
      node.member = true;
      return;
    }
    for (const child of children) {
      if (child.duplicate) continue;
      const sub = childNode(node, child.element);
      walk(child.value, child.schema, sub, descend(mode, child.element));
      const itemOrEntry = child.name === undefined || !child.named;
      const emptyOrNull = child.value === null || (isPlainObject(child.value) && Object.keys(child.value).length === 0);
      if (itemOrEntry || emptyOrNull) sub.member = true;
    }
  };
  walk(value, schema, root, options.strict ? { strict: true, path: [] } : lenient);
  // The root object itself is never a member.
  root.member = false;
  return unionFieldSets(emptyFieldSet, root);
}

/** What changed between two values, as field sets. */
export interface FieldChanges {
  /** Paths present only in the new value (containers as well as leaves). */
  added: FieldSet;
  /** Paths present only in the old value (containers as well as leaves). */
  removed: FieldSet;
  /** Leaves present in both with different values. */
  modified: FieldSet;
}

/** Compares two values field by field; `undefined` means absent. */
export function compareFields(before: unknown, after: unknown, schema: SchemaNode): FieldChanges {
  const added: FieldPath[] = [];
  const removed: FieldPath[] = [];
  const modified: FieldPath[] = [];
  const everything = (value: unknown, s: SchemaNode, path: string[], into: FieldPath[]): void => {
    into.push([...path]);
    for (const child of childrenOf(value, s) ?? []) {
      if (child.duplicate) continue;
      path.push(child.element);
      everything(child.value, child.schema, path, into);
      path.pop();
    }
  };
  const walk = (a: unknown, b: unknown, s: SchemaNode, path: string[]): void => {
    if (a === undefined && b === undefined) return;
    if (a === undefined) return everything(b, s, path, added);
    if (b === undefined) return everything(a, s, path, removed);
    const childrenA = childrenOf(a, s);
    const childrenB = childrenOf(b, s);
    if (childrenA === undefined || childrenB === undefined || Array.isArray(a) !== Array.isArray(b)) {
      if (!jsonEqual(a, b)) modified.push([...path]);
      if (childrenA !== undefined) for (const c of childrenA) if (!c.duplicate) everything(c.value, c.schema, [...path, c.element], removed);
      if (childrenB !== undefined) for (const c of childrenB) if (!c.duplicate) everything(c.value, c.schema, [...path, c.element], added);
      return;
    }
    const pairs = new Map<string, { a?: unknown; b?: unknown; schema: SchemaNode }>();
    for (const c of childrenA) if (!c.duplicate) pairs.set(c.element, { a: c.value, schema: c.schema });
    for (const c of childrenB) {
      if (c.duplicate) continue;
      const pair = pairs.get(c.element);
      if (pair) pair.b = c.value;
      else pairs.set(c.element, { b: c.value, schema: c.schema });
    }
    for (const [element, pair] of pairs) {
      path.push(element);
      walk(pair.a, pair.b, pair.schema, path);
      path.pop();
    }
  };
  walk(before, after, schema, []);
  const root = (paths: FieldPath[]): FieldSet => fieldSetFromPaths(paths.filter((p) => p.length > 0));
  return { added: root(added), removed: root(removed), modified: root(modified) };
}

/**
 * Removes from a value every field, list item and map entry whose path is a member of `set`
 * (with everything below it). Returns a new value; the input is not changed.
 */
export function removeFields(value: unknown, set: FieldSet, schema: SchemaNode): unknown {
  if (set.children.size === 0) return value;
  const children = childrenOf(value, schema);
  if (children === undefined) return value;
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = { ...value };
    for (const child of children) {
      const sub = set.children.get(child.element);
      if (sub === undefined) continue;
      if (sub.member) delete out[child.name!];
      else out[child.name!] = removeFields(child.value, sub, child.schema);
    }
    return out;
  }
  const out: unknown[] = [];
  for (const child of children) {
    const sub = set.children.get(child.element);
    if (sub === undefined) out.push(child.value);
    else if (!sub.member) out.push(removeFields(child.value, sub, child.schema));
  }
  return out;
}

/**
 * The set plus, as members, every declared object field on the way to its members (not map
 * keys or list items). Used when pruning: a field that merely contains something another
 * manager owns must survive.
 */
export function withNamedFieldsAsMembers(set: FieldSet, schema: SchemaNode): FieldSet {
  const walk = (node: FieldSet, s: SchemaNode, target: ReturnType<typeof newFieldSetNode>): void => {
    target.member ||= node.member;
    for (const [element, child] of node.children) {
      const sub = childNode(target, element);
      if (element.startsWith('f:')) {
        const name = element.slice(2);
        if (s.hasField(name)) sub.member = true;
        walk(child, s.field(name), sub);
      } else {
        walk(child, s.elements(), sub);
      }
    }
  };
  const root = newFieldSetNode();
  walk(set, schema, root);
  return unionFieldSets(emptyFieldSet, root);
}
