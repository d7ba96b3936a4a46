/**
 * Server-side apply (`application/apply-patch+yaml`) on plain JSON, as kube-apiserver does it:
 *
 * 1. The applied configuration merges into the live object: objects field by field, `map`
 *    lists by their keys, `set` lists as sets, atomic lists and maps replaced whole. Items the
 *    configuration names come in its order; items only the live object has keep their place.
 * 2. Fields this manager applied last time but omits now are removed, unless another manager
 *    (or the new configuration) still owns them.
 * 3. Every field the result adds or changes is checked against the other managers: one owned by
 *    someone else is a conflict (409) unless `force`, in which case ownership moves to the
 *    applier. A field applied with the value it already has is shared, not a conflict.
 * 4. The applier now owns exactly the fields of its configuration; removed fields leave
 *    every manager.
 *
 * Pure: `live` and `applied` are not changed; the result carries the new `metadata.managedFields`.
 */
import { cloneJson, isPlainObject, jsonEqual, type KubeObject } from '../object.ts';
import type { SchemaNode } from '../schema-node.ts';
import { StatusError, type StatusCause } from '../status-error.ts';
import {
  emptyFieldSet,
  fieldSetPaths,
  formatFieldPath,
  intersectFieldSets,
  isEmptyFieldSet,
  subtractFieldSets,
  unionFieldSets,
  type FieldPath,
  type FieldSet,
} from './field-set.ts';
import {
  capUpdateManagers,
  describeManager,
  mainResourceIgnoredFields,
  managerIdentity,
  safeDecode,
  trackedFields,
  unownedFields,
  withManagedFields,
  withoutIgnored,
  withoutManagedFields,
  type ManagedFieldsRecord,
  type TrackUpdateOptions,
} from './managed-fields.ts';
import { childrenOf, compareFields, fieldSetOf, removeFields, withNamedFieldsAsMembers } from './object-fields.ts';

/** What an apply needs: the same as a tracked update, plus whether to force conflicts. */
export interface ApplyOptions extends TrackUpdateOptions {
  /** Take ownership of conflicting fields instead of failing with 409. */
  force: boolean;
}

/** A field another manager owns that the apply would change. */
export interface ApplyConflict {
  manager: ManagedFieldsRecord;
  path: FieldPath;
}

/**
 * Applies a configuration to the live object (undefined when creating) and returns the object to
 * store. Throws 400 for a configuration that carries managedFields, names another API version,
 * or has malformed keyed lists, and 409 Conflict (with one `FieldManagerConflict` cause per field)
 * when it would change fields other managers own and `force` is false.
 */
export function apply(live: KubeObject | undefined, applied: KubeObject, opts: ApplyOptions): KubeObject {
  checkConfiguration(applied, opts);
  const schema = opts.schema;
  const ignored = opts.ignoredFields ?? (opts.subresource ? emptyFieldSet : mainResourceIgnoredFields);
  const records = safeDecode(live?.metadata?.managedFields);
  const base: KubeObject = live === undefined ? { metadata: {} } : withoutManagedFields(live);
  const config = withoutManagedFields(applied);

  const configFields = fieldSetOf(config, schema, { strict: true });
  const self = { manager: opts.manager, operation: 'Apply' as const, apiVersion: opts.apiVersion, ...(opts.subresource ? { subresource: opts.subresource } : {}) };
  const selfIdentity = managerIdentity(self);
  const previous = records.find((r) => managerIdentity(r) === selfIdentity);
  const others = records.filter((r) => r !== previous);

  let merged = mergeApplied(base, config, schema) as KubeObject;
  if (previous !== undefined && !isEmptyFieldSet(previous.fields)) {
    merged = prune(merged, previous.fields, [configFields, unownedFields, ...others.map((r) => r.fields)], schema);
  }

  const changes = withoutIgnored(compareFields(base, merged, schema), ignored);
  const touched = unionFieldSets(changes.modified, changes.added);
  const conflicts: ApplyConflict[] = [];
  for (const record of others) {
    for (const path of fieldSetPaths(intersectFieldSets(record.fields, touched))) conflicts.push({ manager: record, path });
  }
  if (conflicts.length > 0 && !opts.force) throw applyConflictError(conflicts);

  const result = dropAppliedNulls(merged, config, schema) as KubeObject;
  const updatedOthers = others.map((r) => ({ ...r, fields: subtractFieldSets(subtractFieldSets(r.fields, touched), changes.removed) }));
  const changed = !jsonEqual(base, result);
  const time = changed || previous?.time === undefined ? opts.now : previous.time;
  const mine: ManagedFieldsRecord = { ...self, time, fields: trackedFields(configFields, ignored) };
  return withManagedFields(result, capUpdateManagers([mine, ...updatedOthers]));
}

function checkConfiguration(applied: KubeObject, opts: ApplyOptions): void {
  if (!opts.manager) throw new StatusError('BadRequest', 'PATCH with apply requires a fieldManager');
  if (!isPlainObject(applied)) throw new StatusError('BadRequest', 'the applied configuration must be an object');
  if (applied.metadata !== undefined && !isPlainObject(applied.metadata)) throw new StatusError('BadRequest', 'metadata must be an object');
  const managedFields = applied.metadata?.managedFields as unknown;
  if (managedFields !== undefined && managedFields !== null && !(Array.isArray(managedFields) && managedFields.length === 0)) {
    throw new StatusError('BadRequest', 'metadata.managedFields must be nil');
  }
  if (applied.apiVersion !== undefined && applied.apiVersion !== opts.apiVersion) {
    throw new StatusError('BadRequest', `Incorrect version specified in apply patch. Specified patch version: ${String(applied.apiVersion)}, expected: ${opts.apiVersion}`);
  }
}

/**
 * The 409 kube-apiserver answers for apply conflicts: the message lists each conflicting field
 * by manager, and each field is a `FieldManagerConflict` cause.
 */
export function applyConflictError(conflicts: readonly ApplyConflict[]): StatusError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${describeManager(c.manager)}`,
    field: formatFieldPath(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: ${causes[0]!.message}: ${causes[0]!.field}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const cause of causes) {
      const manager = cause.message!.slice('conflict with '.length);
      byManager.set(manager, [...(byManager.get(manager) ?? []), cause.field!]);
    }
    const lines: string[] = [];
    for (const manager of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${manager}:`);
      for (const field of byManager.get(manager)!) lines.push(`- ${field}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError('Conflict', message, { causes });
}

/**
 * Removes what the manager applied last time (`last`) and nobody claims any more (`claims`):
 * a field, item or entry goes, with everything below it, when it was in `last` and is in no
 * claim. Object fields on the way to a claimed field count as claimed, so they survive.
 */
function prune(merged: KubeObject, last: FieldSet, claims: FieldSet[], schema: SchemaNode): KubeObject {
  const claimed = withNamedFieldsAsMembers(claims.reduce(unionFieldSets, emptyFieldSet), schema);
  const removal = subtractFieldSets(withNamedFieldsAsMembers(last, schema), claimed);
  return removeFields(merged, removal, schema) as KubeObject;
}

/** Merges an applied configuration into a live value (see the file comment for the rules). */
export function mergeApplied(live: unknown, config: unknown, schema: SchemaNode): unknown {
  if (config === undefined) return live;
  if (live === undefined) return cloneJson(config);
  const liveChildren = childrenOf(live, schema);
  const configChildren = childrenOf(config, schema);
  if (liveChildren === undefined || configChildren === undefined || Array.isArray(live) !== Array.isArray(config)) {
    return cloneJson(config);
  }
  if (isPlainObject(live)) {
    const out: Record<string, unknown> = { ...live };
    for (const child of configChildren) out[child.name!] = mergeApplied(live[child.name!], child.value, child.schema);
    return out;
  }

  // Lists keyed by element. Live-only items are emitted as the live list is walked and
  // configured items as the configuration is walked, so configured items follow the
  // configuration's order and a live-only item stays ahead of the items that followed it.
  const configByElement = new Map(configChildren.map((c) => [c.element, c]));
  const liveByElement = new Map<string, unknown>();
  for (const c of liveChildren) if (!liveByElement.has(c.element)) liveByElement.set(c.element, c.value);
  const shared = configChildren.filter((c) => liveByElement.has(c.element)).map((c) => c.element);
  const emitted = new Set<string>();
  const out: unknown[] = [];
  let nextShared = 0;
  let i = 0;
  let j = 0;
  while (i < liveChildren.length || j < configChildren.length) {
    if (i < liveChildren.length) {
      const item = liveChildren[i]!;
      if (!configByElement.has(item.element)) {
        out.push(item.value);
        i++;
        continue;
      }
      if (emitted.has(item.element) || item.duplicate || item.element !== shared[nextShared]) {
        i++;
        continue;
      }
    }
    if (j < configChildren.length) {
      const item = configChildren[j]!;
      out.push(mergeApplied(liveByElement.get(item.element), item.value, item.schema));
      emitted.add(item.element);
      if (item.element === shared[nextShared]) nextShared++;
      j++;
    } else {
      i++;
    }
  }
  return out;
}

/**
 * A field applied as null means "absent, and mine": the merge keeps the null so the change is
 * seen (and conflicts are found), then it is dropped here unless the schema says nullable.
 */
function dropAppliedNulls(result: unknown, config: unknown, schema: SchemaNode): unknown {
  if (isPlainObject(result) && isPlainObject(config)) {
    const out: Record<string, unknown> = { ...result };
    for (const [key, value] of Object.entries(config)) {
      const fieldSchema = schema.field(key);
      if (value === null) {
        if (out[key] === null && !fieldSchema.nullable) delete out[key];
      } else if (Object.hasOwn(out, key)) {
        out[key] = dropAppliedNulls(out[key], value, fieldSchema);
      }
    }
    return out;
  }
  if (Array.isArray(result) && Array.isArray(config)) {
    const resultChildren = childrenOf(result, schema);
    const configChildren = childrenOf(config, schema);
    if (resultChildren === undefined || configChildren === undefined) return result;
    const byElement = new Map(configChildren.map((c) => [c.element, c.value]));
    return resultChildren.map((c) => (byElement.has(c.element) ? dropAppliedNulls(c.value, byElement.get(c.element), c.schema) : c.value));
  }
  return result;
}
