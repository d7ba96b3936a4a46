/**
 * Kubernetes strategic merge patch (`application/strategic-merge-patch+json`), driven by the
 * `x-kubernetes-patch-strategy` and `x-kubernetes-patch-merge-key` extensions of a SchemaNode
 * rather than by Go struct tags.
 *
 * Rules, per field of an object patch:
 * - `null` deletes the field; a scalar replaces it; an object merges recursively unless the
 *   field's strategy is `replace`.
 * - A list replaces the old one unless the strategy is `merge`. Merging lists of objects match
 *   items by the merge key: matched items merge recursively, new ones are appended in the patch's
 *   order. Merging lists of scalars are unions. Either way the items named by the patch take
 *   the patch's relative order, and items only the server had keep their place around them.
 * - Directives: `$patch: replace | delete | merge` in an object or a list item,
 *   `$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>` (the final relative order of
 *   the items it names) and `$retainKeys` (drop every field not listed).
 *
 * Pure: neither the original nor the patch is changed, and the result shares nothing with the
 * patch. A malformed patch is a 400 BadRequest.
 */
import { cloneJson, isPlainObject, jsonEqual } from '../object.ts';
import type { SchemaNode } from '../schema-node.ts';
import { StatusError } from '../status-error.ts';

const patchDirective = '$patch';
const retainKeysDirective = '$retainKeys';
const setElementOrderPrefix = '$setElementOrder/';
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList/';

type JsonObject = Record<string, unknown>;

/**
 * Applies a strategic merge patch to an object. `patch` must be a JSON object; `schema`
 * describes `original` (the unknown node makes every list replace, as a JSON merge patch would).
 */
export function applyStrategicMergePatch<T extends object>(original: T, patch: unknown, schema: SchemaNode): T {
  if (!isPlainObject(patch)) throw badPatch('the strategic merge patch must be a JSON object');
  const base = isPlainObject(original) ? cloneJson(original) : undefined;
  return mergeObject(base, patch, schema) as T;
}

function badPatch(message: string): StatusError {
  return new StatusError('BadRequest', message);
}

function isDirectiveKey(key: string): boolean {
  return key === patchDirective || key === retainKeysDirective || key.startsWith(setElementOrderPrefix) || key.startsWith(deleteFromPrimitiveListPrefix);
}

function withoutDirective(item: JsonObject): JsonObject {
  const { [patchDirective]: _directive, ...rest } = item;
  return rest;
}

/** Merges an object patch into an object (or into nothing, which also strips directives from a new value). */
function mergeObject(original: JsonObject | undefined, patch: JsonObject, schema: SchemaNode): JsonObject {
  if (Object.hasOwn(patch, patchDirective)) {
    const directive = patch[patchDirective];
    if (directive === 'replace') return mergeObject(undefined, withoutDirective(patch), schema);
    if (directive === 'delete') return {};
    if (directive !== 'merge') throw badPatch(`unknown patch type ${JSON.stringify(directive)} in map: ${JSON.stringify(patch)}`);
    patch = withoutDirective(patch);
  }
  const result: JsonObject = original === undefined ? {} : { ...original };

  if (Object.hasOwn(patch, retainKeysDirective)) applyRetainKeys(result, patch);

  const orders = new Map<string, unknown>();
  const deletions = new Map<string, unknown>();
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith(setElementOrderPrefix)) orders.set(directiveTarget(key, setElementOrderPrefix, 'setElementOrder list'), value);
    else if (key.startsWith(deleteFromPrimitiveListPrefix)) deletions.set(directiveTarget(key, deleteFromPrimitiveListPrefix, 'primitive list'), value);
  }

  const listsDone = new Set<string>();
  for (const [key, value] of Object.entries(patch)) {
    if (isDirectiveKey(key) || value === undefined) continue;
    const fieldSchema = schema.field(key);
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      result[key] = mergeListField(key, result[key], value, fieldSchema, deletions.get(key), orders.get(key));
      listsDone.add(key);
    } else if (isPlainObject(value)) {
      const current = result[key];
      const merge = isPlainObject(current) && fieldSchema.patchStrategy !== 'replace';
      result[key] = mergeObject(merge ? current : undefined, value, fieldSchema);
    } else {
      result[key] = value;
    }
  }

  // Directive lists without a patch list beside them act on the field as it is.
  for (const key of new Set([...orders.keys(), ...deletions.keys()])) {
    if (listsDone.has(key) || !Array.isArray(result[key])) continue;
    result[key] = mergeListField(key, result[key], undefined, schema.field(key), deletions.get(key), orders.get(key));
  }
  return result;
}

function directiveTarget(key: string, prefix: string, what: string): string {
  const target = key.slice(prefix.length);
  if (target === '' || target.includes('/')) throw badPatch(`invalid patch format of ${what}: ${JSON.stringify(key)}`);
  return target;
}

/** `$retainKeys`: every field the patch sets must be listed; fields not listed are cleared. */
function applyRetainKeys(result: JsonObject, patch: JsonObject): void {
  const retain = patch[retainKeysDirective];
  if (!Array.isArray(retain) || !retain.every((k) => typeof k === 'string')) {
    throw badPatch('invalid patch format of retainKeys: $retainKeys must be a list of field names');
  }
  const keep = new Set(retain);
  for (const [key, value] of Object.entries(patch)) {
    if (isDirectiveKey(key) || value === null || value === undefined) continue;
    if (!keep.has(key)) throw badPatch(`patch content doesn't match retainKeys list: ${JSON.stringify(key)} is set but not listed in $retainKeys`);
  }
  for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key];
}

/** One list field: merge (or replace) with the patch list, then the parallel deletion and order lists. */
function mergeListField(field: string, current: unknown, patchList: unknown[] | undefined, schema: SchemaNode, deletions: unknown, order: unknown): unknown[] {
  const base = Array.isArray(current) ? current : undefined;
  let merged = patchList === undefined ? (base ?? []) : mergeList(field, base, patchList, schema);
  if (deletions !== undefined) {
    if (!Array.isArray(deletions)) throw badPatch(`invalid patch format of primitive list: ${deleteFromPrimitiveListPrefix}${field} must be a list`);
    merged = merged.filter((item) => !deletions.some((d) => jsonEqual(d, item)));
  }
  if (order !== undefined) {
    if (!Array.isArray(order)) throw badPatch(`invalid patch format of setElementOrder list: ${setElementOrderPrefix}${field} must be a list`);
    merged = applyElementOrder(field, merged, order, patchList, schema);
  }
  return merged;
}

function mergeList(field: string, base: unknown[] | undefined, patch: unknown[], schema: SchemaNode): unknown[] {
  const elements = schema.elements();
  const strategy = schema.patchStrategy;
  const merging = strategy === 'merge' || strategy === 'merge,retainKeys';
  const kind = elementKind(field, [...(base ?? []), ...patch]);
  const mergeKey = schema.patchMergeKey;
  if (!merging || (kind === 'object' && mergeKey === undefined)) return patch.map((item) => fromPatch(item, elements));

  if (kind !== 'object') {
    const merged: unknown[] = [];
    for (const item of [...(base ?? []), ...patch]) if (!merged.some((m) => jsonEqual(m, item))) merged.push(cloneJson(item));
    return orderLike(merged, patch, scalarIdentity);
  }

  const key = mergeKey as string;
  let working = [...(base ?? [])];
  const regular: JsonObject[] = [];
  let replaceAll = false;
  for (const item of patch as JsonObject[]) {
    const directive = item[patchDirective];
    if (directive === undefined) regular.push(item);
    else if (directive === 'merge') regular.push(withoutDirective(item));
    else if (directive === 'replace') replaceAll = true;
    else if (directive === 'delete') {
      if (!Object.hasOwn(item, key)) throw noMergeKey(item, key);
      working = working.filter((w) => !(isPlainObject(w) && Object.hasOwn(w, key) && jsonEqual(w[key], item[key])));
    } else {
      throw badPatch(`unknown patch type ${JSON.stringify(directive)} in list item: ${JSON.stringify(item)}`);
    }
  }
  if (replaceAll) working = [];
  for (const item of regular) {
    if (!Object.hasOwn(item, key)) throw noMergeKey(item, key);
    const at = working.findIndex((w) => isPlainObject(w) && Object.hasOwn(w, key) && jsonEqual(w[key], item[key]));
    if (at >= 0) working[at] = mergeObject(working[at] as JsonObject, item, elements);
    else working.push(mergeObject(undefined, item, elements));
  }
  return orderLike(working, regular, mergeKeyIdentity(key));
}

function noMergeKey(item: JsonObject, key: string): StatusError {
  return badPatch(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
}

/** A value taken from the patch where nothing was before: directives are processed, nulls dropped. */
function fromPatch(value: unknown, schema: SchemaNode): unknown {
  if (isPlainObject(value)) return mergeObject(undefined, value, schema);
  if (Array.isArray(value)) return mergeList('', undefined, value, schema);
  return value;
}

function elementKind(field: string, items: unknown[]): 'object' | 'scalar' | 'none' {
  let kind: 'object' | 'scalar' | 'none' = 'none';
  for (const item of items) {
    if (Array.isArray(item)) throw badPatch(`lists of lists are not supported (field ${JSON.stringify(field)})`);
    const itemKind = isPlainObject(item) ? 'object' : 'scalar';
    if (kind !== 'none' && kind !== itemKind) throw badPatch(`list element types are not identical (field ${JSON.stringify(field)})`);
    kind = itemKind;
  }
  return kind;
}

type Identity = (item: unknown) => string | undefined;

function scalarIdentity(item: unknown): string {
  return JSON.stringify(item);
}

function mergeKeyIdentity(key: string): Identity {
  return (item) => (isPlainObject(item) && Object.hasOwn(item, key) ? JSON.stringify(item[key]) : undefined);
}

/**
 * Reorders `list` so the items named by `order` follow `order`'s relative order, while the other
 * items keep their positions relative to them: at each step the next unnamed item goes first
 * only if it stood before the next named one.
 */
function orderLike(list: unknown[], order: unknown[], identity: Identity): unknown[] {
  const rank = new Map<string, number>();
  order.forEach((item, i) => {
    const id = identity(item);
    if (id !== undefined && !rank.has(id)) rank.set(id, i);
  });
  const named: number[] = [];
  const unnamed: number[] = [];
  list.forEach((item, i) => {
    const id = identity(item);
    (id !== undefined && rank.has(id) ? named : unnamed).push(i);
  });
  named.sort((a, b) => rank.get(identity(list[a])!)! - rank.get(identity(list[b])!)! || a - b);
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < unnamed.length || j < named.length) {
    if (j >= named.length || (i < unnamed.length && unnamed[i]! < named[j]!)) out.push(list[unnamed[i++]!]);
    else out.push(list[named[j++]!]);
  }
  return out;
}

/** `$setElementOrder/<field>`: checked against the patch list, then imposed on the merged list. */
function applyElementOrder(field: string, merged: unknown[], order: unknown[], patchList: unknown[] | undefined, schema: SchemaNode): unknown[] {
  const mergeKey = schema.patchMergeKey;
  const objects = order.some((item) => isPlainObject(item));
  const identity: Identity = objects && mergeKey !== undefined ? mergeKeyIdentity(mergeKey) : scalarIdentity;
  if (objects && order.some((item) => identity(item) === undefined)) {
    throw badPatch(`invalid patch format of setElementOrder list: every item of ${setElementOrderPrefix}${field} must carry the merge key ${mergeKey ?? '(none declared)'}`);
  }
  if (patchList !== undefined) {
    const position = new Map<string, number>();
    order.forEach((item, i) => {
      const id = identity(item)!;
      if (!position.has(id)) position.set(id, i);
    });
    let last = -1;
    for (const item of patchList) {
      if (isPlainObject(item) && Object.hasOwn(item, patchDirective)) continue;
      const at = position.get(identity(item) ?? '');
      if (at === undefined || at < last) {
        throw badPatch(`the order in the patch list of ${JSON.stringify(field)} doesn't match the ${setElementOrderPrefix}${field} list`);
      }
      last = at;
    }
  }
  return orderLike(merged, order, identity);
}
