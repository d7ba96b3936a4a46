/**
 * A FieldSet is a set of field paths inside an object, as server-side apply tracks ownership.
 * It is a tree keyed by path elements in the FieldsV1 encoding Kubernetes stores in
 * `metadata.managedFields`:
 *
 * - `f:<name>`  a field of an object, or a key of a map;
 * - `k:<json>`  an item of a `map` list, by its key fields (`k:{"name":"web"}`);
 * - `v:<json>`  an item of a `set` list, by value (`v:"example.com/finalizer"`);
 * - `i:<n>`     an item by index (only ever read from clients; never produced here).
 *
 * A node is `member` when its own path is in the set; a path can also be present only as the
 * parent of members. In the FieldsV1 JSON a member with children carries `".": {}`, and a
 * member without children is `{}`.
 *
 * FieldSets are immutable values: every operation returns a new set.
 */
import { isPlainObject } from '../object.ts';
import { StatusError } from '../status-error.ts';

export interface FieldSet {
  readonly member: boolean;
  readonly children: ReadonlyMap<string, FieldSet>;
}

/** A path as a list of encoded path elements, e.g. `['f:spec', 'f:replicas']`. */
export type FieldPath = readonly string[];

interface MutableFieldSet {
  member: boolean;
  children: Map<string, MutableFieldSet>;
}

export const emptyFieldSet: FieldSet = Object.freeze({ member: false, children: new Map() });

/** A mutable node for builders inside the patch machinery; frozen by nothing, shared with nobody. */
export function newFieldSetNode(): MutableFieldSet {
  return { member: false, children: new Map() };
}

/** The child node for a path element, created when missing. */
export function childNode(node: MutableFieldSet, element: string): MutableFieldSet {
  let child = node.children.get(element);
  if (child === undefined) {
    child = newFieldSetNode();
    node.children.set(element, child);
  }
  return child;
}

/** A set holding exactly the given paths. */
export function fieldSetFromPaths(paths: Iterable<FieldPath>): FieldSet {
  const root = newFieldSetNode();
  for (const path of paths) {
    let node = root;
    for (const element of path) node = childNode(node, element);
    node.member = true;
  }
  return prune(root) ?? emptyFieldSet;
}

/** True when the set holds no path. */
export function isEmptyFieldSet(set: FieldSet): boolean {
  if (set.member) return false;
  for (const child of set.children.values()) if (!isEmptyFieldSet(child)) return false;
  return true;
}

/** True when the path is a member of the set. */
export function hasFieldPath(set: FieldSet, path: FieldPath): boolean {
  let node: FieldSet | undefined = set;
  for (const element of path) {
    node = node.children.get(element);
    if (node === undefined) return false;
  }
  return node.member;
}

/** Drops empty branches; undefined when nothing is left. */
function prune(node: MutableFieldSet): MutableFieldSet | undefined {
  for (const [element, child] of node.children) {
    if (prune(child) === undefined) node.children.delete(element);
  }
  return node.member || node.children.size > 0 ? node : undefined;
}

function combine(a: FieldSet, b: FieldSet, member: (a: boolean, b: boolean) => boolean, keepA: boolean, keepB: boolean): MutableFieldSet {
  const out = newFieldSetNode();
  out.member = member(a.member, b.member);
  for (const [element, childA] of a.children) {
    const childB = b.children.get(element);
    if (childB !== undefined) out.children.set(element, combine(childA, childB, member, keepA, keepB));
    else if (keepA) out.children.set(element, combine(childA, emptyFieldSet, member, keepA, keepB));
  }
  if (keepB) {
    for (const [element, childB] of b.children) {
      if (!a.children.has(element)) out.children.set(element, combine(emptyFieldSet, childB, member, keepA, keepB));
    }
  }
  return out;
}

/** Every path in `a` or `b`. */
export function unionFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  return prune(combine(a, b, (x, y) => x || y, true, true)) ?? emptyFieldSet;
}

/** Every path in both `a` and `b`. */
export function intersectFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  return prune(combine(a, b, (x, y) => x && y, false, false)) ?? emptyFieldSet;
}

/** Every path in `a` that is not in `b` (paths, not subtrees: see `subtractFieldSubtrees`). */
export function subtractFieldSets(a: FieldSet, b: FieldSet): FieldSet {
  return prune(combine(a, b, (x, y) => x && !y, true, false)) ?? emptyFieldSet;
}

/** Every path in `a` that is neither in `b` nor below a member of `b`. */
export function subtractFieldSubtrees(a: FieldSet, b: FieldSet): FieldSet {
  const walk = (x: FieldSet, y: FieldSet): MutableFieldSet | undefined => {
    if (y.member) return undefined;
    const out = newFieldSetNode();
    out.member = x.member;
    for (const [element, child] of x.children) {
      const other = y.children.get(element);
      const kept = other === undefined ? copy(child) : walk(child, other);
      if (kept !== undefined) out.children.set(element, kept);
    }
    return out;
  };
  const result = walk(a, b);
  return (result && prune(result)) ?? emptyFieldSet;
}

function copy(set: FieldSet): MutableFieldSet {
  const out = newFieldSetNode();
  out.member = set.member;
  for (const [element, child] of set.children) out.children.set(element, copy(child));
  return out;
}

/** Every member path, depth first, children in FieldsV1 order. */
export function fieldSetPaths(set: FieldSet): FieldPath[] {
  const out: FieldPath[] = [];
  const walk = (node: FieldSet, path: string[]): void => {
    if (node.member) out.push([...path]);
    for (const element of sortedElements(node)) {
      path.push(element);
      walk(node.children.get(element)!, path);
      path.pop();
    }
  };
  walk(set, []);
  return out;
}

const elementKindOrder: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

/** Orders path elements as Kubernetes serializes them: fields, then keys, values, indexes. */
export function compareElements(a: string, b: string): number {
  const kind = (elementKindOrder[a[0]!] ?? 9) - (elementKindOrder[b[0]!] ?? 9);
  if (kind !== 0) return kind;
  if (a.startsWith('i:') && b.startsWith('i:')) return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedElements(node: FieldSet): string[] {
  return [...node.children.keys()].sort(compareElements);
}

/** The FieldsV1 JSON of a set, as stored in a managedFields entry. */
export function fieldSetToFieldsV1(set: FieldSet): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (set.member && set.children.size > 0) out['.'] = {};
  for (const element of sortedElements(set)) out[element] = fieldSetToFieldsV1(set.children.get(element)!);
  return out;
}

/**
 * Parses FieldsV1 JSON. Keys of `k:` and `v:` elements are re-encoded canonically (sorted object
 * keys, no spaces) so sets from clients compare equal to sets computed here. Throws a 400 for
 * anything that is not FieldsV1.
 */
export function fieldSetFromFieldsV1(fields: unknown): FieldSet {
  // The path so far, formatted only for an error message.
  const path: string[] = [];
  const where = (): string => path.map(formatPathElement).join('');
  const parse = (value: unknown): MutableFieldSet => {
    if (!isPlainObject(value)) throw invalidFields(`${where()} must be an object`);
    const node = newFieldSetNode();
    const keys = Object.keys(value);
    if (keys.length === 0) node.member = true;
    for (const key of keys) {
      if (key === '.') {
        if (!isPlainObject(value[key]) || Object.keys(value[key]).length > 0) throw invalidFields(`${where()}: "." must be {}`);
        node.member = true;
        continue;
      }
      const element = canonicalElement(key, where);
      path.push(element);
      const child = parse(value[key]);
      path.pop();
      const existing = node.children.get(element);
      node.children.set(element, existing === undefined ? child : (combine(existing, child, (x, y) => x || y, true, true) as MutableFieldSet));
    }
    return node;
  };
  if (!isPlainObject(fields)) throw invalidFields('fieldsV1 must be an object');
  const root = parse(fields);
  // An empty fieldsV1 is an empty set, not the root as a member.
  if (Object.keys(fields).length === 0) root.member = false;
  return prune(root) ?? emptyFieldSet;
}

function invalidFields(message: string): StatusError {
  return new StatusError('BadRequest', `invalid managedFields: ${message}`);
}

/**
 * Canonical forms of the `k:` and `v:` elements seen lately. The same few keys (`k:{"name":"web"}`)
 * recur in every object of a kind, and re-encoding one means parsing its JSON.
 */
const canonicalElements = new Map<string, string>();
const maxCanonicalElements = 4096;

function canonicalElement(key: string, where: () => string): string {
  const kind = key.slice(0, 2);
  const rest = key.slice(2);
  switch (kind) {
    case 'f:':
      return key;
    case 'k:':
    case 'v:': {
      const known = canonicalElements.get(key);
      if (known !== undefined) return known;
      let parsed: unknown;
      try {
        parsed = JSON.parse(rest);
      } catch {
        throw invalidFields(`${where()}: ${JSON.stringify(key)} does not hold valid JSON`);
      }
      if (kind === 'k:' && !isPlainObject(parsed)) throw invalidFields(`${where()}: ${JSON.stringify(key)} must hold a JSON object`);
      const canonical = kind + canonicalJson(parsed);
      if (canonicalElements.size >= maxCanonicalElements) canonicalElements.clear();
      canonicalElements.set(key, canonical);
      return canonical;
    }
    case 'i:':
      if (!/^(0|[1-9][0-9]*)$/.test(rest)) throw invalidFields(`${where()}: ${JSON.stringify(key)} is not a valid index`);
      return key;
    default:
      throw invalidFields(`${where()}: unknown path element ${JSON.stringify(key)}`);
  }
}

/** JSON with object keys sorted at every level and no whitespace: the identity of a key or value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** One path element as kube-apiserver prints it: `.name`, `[name="web"]`, `[="value"]`, `[3]`. */
export function formatPathElement(element: string): string {
  const rest = element.slice(2);
  switch (element.slice(0, 2)) {
    case 'f:':
      return `.${rest}`;
    case 'k:': {
      const key = JSON.parse(rest) as Record<string, unknown>;
      return `[${Object.keys(key).sort().map((k) => `${k}=${canonicalJson(key[k])}`).join(',')}]`;
    }
    case 'v:':
      return `[=${rest}]`;
    case 'i:':
      return `[${rest}]`;
    default:
      return element;
  }
}

/** A path as kube-apiserver prints it in conflicts: `.spec.template.spec.containers[name="web"].image`. */
export function formatFieldPath(path: FieldPath): string {
  return path.map(formatPathElement).join('');
}
