/**
 * `metadata.managedFields`: who owns which fields of an object, and how ordinary writes
 * (create, update, patch) move that ownership, as kube-apiserver's field manager does.
 *
 * Managers are identified by name, operation (`Apply` or `Update`) and subresource; `Update`
 * managers are also told apart by API version. Ownership is a FieldSet per manager. A write by
 * `Update` takes every field it changed from everybody else (there are no conflicts for
 * non-apply writes); server-side apply is in `apply.ts`.
 */
import { isPlainObject, jsonEqual, type KubeObject, type ManagedFieldsEntry } from '../object.ts';
import type { SchemaNode } from '../schema-node.ts';
import { StatusError } from '../status-error.ts';
import {
  compareElements,
  emptyFieldSet,
  fieldSetFromFieldsV1,
  fieldSetFromPaths,
  fieldSetToFieldsV1,
  isEmptyFieldSet,
  subtractFieldSets,
  subtractFieldSubtrees,
  unionFieldSets,
  type FieldPath,
  type FieldSet,
} from './field-set.ts';
import { childrenOf, compareFields, removeFields, type FieldChanges } from './object-fields.ts';

/** One manager's ownership, decoded from (or to be encoded as) a managedFields entry. */
export interface ManagedFieldsRecord {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  /** RFC 3339 time of the manager's last change; undefined when never recorded. */
  time?: string;
  subresource?: string;
  fields: FieldSet;
}

/**
 * Fields no manager ever owns: identity and bookkeeping that the server sets. They are removed
 * from every set as exact paths (what lies below `metadata` is still tracked).
 */
export const unownedFieldPaths: readonly FieldPath[] = [
  ['f:apiVersion'],
  ['f:kind'],
  ['f:metadata'],
  ['f:metadata', 'f:name'],
  ['f:metadata', 'f:namespace'],
  ['f:metadata', 'f:creationTimestamp'],
  ['f:metadata', 'f:selfLink'],
  ['f:metadata', 'f:uid'],
  ['f:metadata', 'f:clusterName'],
  ['f:metadata', 'f:generation'],
  ['f:metadata', 'f:managedFields'],
  ['f:metadata', 'f:resourceVersion'],
];

export const unownedFields: FieldSet = fieldSetFromPaths(unownedFieldPaths);

/** What writes to the main resource do not track: `status` belongs to the status subresource. */
export const mainResourceIgnoredFields: FieldSet = fieldSetFromPaths([['f:status']]);

/** How many `Update` entries an object keeps before the oldest merge into `ancient-changes`. */
export const maxUpdateManagers = 10;

/** The identity of a manager: entries with the same identity are one manager. */
export function managerIdentity(record: Pick<ManagedFieldsRecord, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify([record.manager, record.operation, record.operation === 'Update' ? record.apiVersion : '', record.subresource ?? '']);
}

/** A manager as kube-apiserver names it in conflict messages: `"kubectl"`, `"kube-controller-manager" using apps/v1`. */
export function describeManager(record: Pick<ManagedFieldsRecord, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  let text = JSON.stringify(record.manager);
  if (record.subresource) text += ` with subresource ${JSON.stringify(record.subresource)}`;
  if (record.operation === 'Update') text += ` using ${record.apiVersion}`;
  return text;
}

/**
 * Decodes `metadata.managedFields`. Throws a 400 when an entry is malformed (an unknown
 * operation, a missing apiVersion, a fieldsType other than FieldsV1, fieldsV1 that is not a
 * field set). Entries with the same identity are merged.
 */
export function decodeManagedFields(entries: unknown): ManagedFieldsRecord[] {
  if (entries === undefined || entries === null) return [];
  if (!Array.isArray(entries)) throw invalid('metadata.managedFields must be a list');
  const byIdentity = new Map<string, ManagedFieldsRecord>();
  entries.forEach((entry: unknown, i) => {
    if (!isPlainObject(entry)) throw invalid(`metadata.managedFields[${i}] must be an object`);
    const { manager = '', operation, apiVersion, time, fieldsType, fieldsV1, subresource } = entry as ManagedFieldsEntry & Record<string, unknown>;
    if (operation !== 'Apply' && operation !== 'Update') throw invalid(`metadata.managedFields[${i}].operation must be Apply or Update`);
    if (typeof apiVersion !== 'string' || apiVersion === '') throw invalid(`metadata.managedFields[${i}].apiVersion must not be empty`);
    if (fieldsType !== 'FieldsV1') throw invalid(`metadata.managedFields[${i}].fieldsType must be FieldsV1`);
    if (typeof manager !== 'string') throw invalid(`metadata.managedFields[${i}].manager must be a string`);
    const record: ManagedFieldsRecord = {
      manager,
      operation,
      apiVersion,
      ...(typeof time === 'string' ? { time } : {}),
      ...(typeof subresource === 'string' && subresource !== '' ? { subresource } : {}),
      fields: fieldsV1 === undefined ? emptyFieldSet : fieldSetFromFieldsV1(fieldsV1),
    };
    const identity = managerIdentity(record);
    const existing = byIdentity.get(identity);
    byIdentity.set(identity, existing ? { ...existing, fields: unionFieldSets(existing.fields, record.fields) } : record);
  });
  return [...byIdentity.values()];
}

function invalid(message: string): StatusError {
  return new StatusError('BadRequest', `invalid managedFields: ${message}`);
}

/**
 * Encodes records as `metadata.managedFields`, in kube-apiserver's order (Apply before
 * Update, then oldest first, then by manager); records owning nothing are dropped.
 */
export function encodeManagedFields(records: readonly ManagedFieldsRecord[]): ManagedFieldsEntry[] {
  return records
    .filter((r) => !isEmptyFieldSet(r.fields))
    .sort((a, b) => compareStrings(a.operation, b.operation) || compareTimes(a.time, b.time) || compareStrings(a.manager, b.manager) || compareStrings(a.apiVersion, b.apiVersion) || compareStrings(a.subresource ?? '', b.subresource ?? ''))
    .map((r) => managedFieldsEntry(r, fieldSetToFieldsV1(r.fields)));
}

/** One `metadata.managedFields` entry, its fields already in FieldsV1 form. */
function managedFieldsEntry(r: Omit<ManagedFieldsRecord, 'fields'>, fieldsV1: Record<string, unknown>): ManagedFieldsEntry {
  return {
    manager: r.manager,
    operation: r.operation,
    apiVersion: r.apiVersion,
    ...(r.time !== undefined ? { time: r.time } : {}),
    fieldsType: 'FieldsV1',
    fieldsV1,
    ...(r.subresource ? { subresource: r.subresource } : {}),
  };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareTimes(a: string | undefined, b: string | undefined): number {
  const ta = a === undefined ? 0 : Date.parse(a) || 0;
  const tb = b === undefined ? 0 : Date.parse(b) || 0;
  return Math.floor(ta / 1000) - Math.floor(tb / 1000);
}

/** A copy of an object without `metadata.managedFields`. */
export function withoutManagedFields(obj: KubeObject): KubeObject {
  const { managedFields: _managedFields, ...metadata } = obj.metadata ?? {};
  return { ...obj, metadata };
}

/** Sets `metadata.managedFields` on a copy of an object (omitted when there are none). */
export function withManagedFields(obj: KubeObject, records: readonly ManagedFieldsRecord[]): KubeObject {
  const base = withoutManagedFields(obj);
  const entries = encodeManagedFields(records);
  return entries.length === 0 ? base : { ...base, metadata: { ...base.metadata, managedFields: entries } };
}

/** The fields a write by one manager does not track: the unowned bookkeeping, then `ignored` and below. */
export function trackedFields(set: FieldSet, ignored: FieldSet): FieldSet {
  return subtractFieldSets(subtractFieldSubtrees(set, ignored), unownedFields);
}

/** Changes with the ignored subtrees left out, so nobody gains or loses them. */
export function withoutIgnored(changes: FieldChanges, ignored: FieldSet): FieldChanges {
  return {
    added: subtractFieldSubtrees(changes.added, ignored),
    removed: subtractFieldSubtrees(changes.removed, ignored),
    modified: subtractFieldSubtrees(changes.modified, ignored),
  };
}

export interface TrackUpdateOptions {
  manager: string;
  /** The API version of the request (`apps/v1`). */
  apiVersion: string;
  /** RFC 3339 time of the write, from the injected clock. */
  now: string;
  schema: SchemaNode;
  /** Accepted so callers can share one options object; a tracked write is always recorded as `Update`. */
  operation?: 'Apply' | 'Update';
  /** The subresource written through (`status`, `scale`); undefined for the main resource. */
  subresource?: string;
  /** Subtrees this write does not track; defaults to `status` for the main resource and nothing for a subresource. */
  ignoredFields?: FieldSet;
}

/**
 * Records a non-apply write (create, update, any patch but apply) in `metadata.managedFields`
 * and returns the object to store; neither argument is changed. `old` is undefined for a
 * create.
 *
 * The manager gains every field it added or changed, and those fields leave every other
 * manager; fields the write removed leave everybody. The manager's entry gets `now` as its time
 * only when it changed something.
 *
 * Managed fields sent by the client are respected as kube-apiserver does: a non-empty valid list
 * replaces the stored one before the write is recorded on top of it; `[]` or `[{}]` clears them
 * (and the object stays untracked until the next apply); anything else, or any list sent to a
 * subresource, is ignored in favour of the stored entries. An update of an object that has no
 * managed fields is not tracked (only creates and applies start tracking).
 */
export function trackUpdate(old: KubeObject | undefined, updated: KubeObject, opts: TrackUpdateOptions): KubeObject {
  const ignored = opts.ignoredFields ?? (opts.subresource ? emptyFieldSet : mainResourceIgnoredFields);
  const stored = safeDecode(old?.metadata?.managedFields);
  const sent = updated.metadata?.managedFields as unknown;
  let records: ManagedFieldsRecord[];
  if (opts.subresource) {
    records = stored;
  } else if (isResetRequest(sent)) {
    records = [];
  } else {
    // A client usually sends back the entries it read: those need no second decoding.
    const fromClient = sent === undefined || jsonEqual(sent, old?.metadata?.managedFields) ? [] : safeDecode(sent);
    records = fromClient.length > 0 ? fromClient : stored;
  }
  if (records.length === 0 && old !== undefined) return withManagedFields(updated, []);
  if (records.length === 0) {
    // A create with nothing recorded yet: the manager takes every field the object has, which is
    // what comparing it with an empty object would find, without the comparison.
    const base = withoutManagedFields(updated);
    const fieldsV1 = createdFieldsV1(base, opts.schema, ignored);
    if (fieldsV1 === undefined) return base;
    const entry = managedFieldsEntry({ manager: opts.manager, operation: 'Update', apiVersion: opts.apiVersion, time: opts.now, subresource: opts.subresource }, fieldsV1);
    return { ...base, metadata: { ...base.metadata, managedFields: [entry] } };
  }

  const before = old === undefined ? { metadata: {} } : withoutManagedFields(old);
  const after = withoutManagedFields(updated);
  // Ignored subtrees (status, for the main resource) are cut before the walk rather than after
  // it: on a Node or a Pod they are most of the object, and nothing in them can be tracked.
  const strip = (value: unknown): unknown => (isEmptyFieldSet(ignored) ? value : removeFields(value, ignored, opts.schema));
  const changes = withoutIgnored(compareFields(strip(before), strip(after), opts.schema), ignored);
  const taken = unionFieldSets(changes.modified, changes.added);

  const self = { manager: opts.manager, operation: 'Update' as const, apiVersion: opts.apiVersion, ...(opts.subresource ? { subresource: opts.subresource } : {}) };
  const selfIdentity = managerIdentity(self);
  let previous: ManagedFieldsRecord | undefined;
  const others: ManagedFieldsRecord[] = [];
  for (const record of records) {
    if (managerIdentity(record) === selfIdentity) previous = record;
    else others.push({ ...record, fields: subtractFieldSets(subtractFieldSets(record.fields, taken), changes.removed) });
  }

  const gained = trackedFields(taken, ignored);
  const fields = trackedFields(unionFieldSets(subtractFieldSets(previous?.fields ?? emptyFieldSet, changes.removed), taken), ignored);
  const time = isEmptyFieldSet(gained) ? previous?.time : opts.now;
  const next: ManagedFieldsRecord = { ...self, ...(time !== undefined ? { time } : {}), fields };
  return withManagedFields(updated, capUpdateManagers([...others, next]));
}

/**
 * The FieldsV1 of every path in a value, containers as well as leaves, less the `ignored`
 * subtrees and the unowned bookkeeping: what `trackedFields` keeps of `compareFields` against an
 * absent value, encoded as `fieldSetToFieldsV1` would encode it. Undefined when that is nothing.
 */
function createdFieldsV1(value: unknown, schema: SchemaNode, ignored: FieldSet): Record<string, unknown> | undefined {
  const walk = (v: unknown, s: SchemaNode, skip: FieldSet | undefined, unowned: FieldSet | undefined): Record<string, unknown> | undefined => {
    const children = childrenOf(v, s);
    if (children === undefined) return undefined;
    let out: [string, Record<string, unknown>][] | undefined;
    for (const child of children) {
      if (child.duplicate) continue;
      const skipChild = skip?.children.get(child.element);
      if (skipChild?.member) continue;
      const unownedChild = unowned?.children.get(child.element);
      const below = walk(child.value, child.schema, skipChild, unownedChild);
      const fields = unownedChild?.member ? below : below === undefined ? {} : { '.': {}, ...below };
      if (fields !== undefined) (out ??= []).push([child.element, fields]);
    }
    return out && Object.fromEntries(out.sort(([a], [b]) => compareElements(a, b)));
  };
  return walk(value, schema, ignored, unownedFields);
}

/** `[]` or `[{}]`: the documented way for a client to clear managedFields. */
function isResetRequest(sent: unknown): boolean {
  if (!Array.isArray(sent)) return false;
  return sent.length === 0 || (sent.length === 1 && isPlainObject(sent[0]) && Object.keys(sent[0]).length === 0);
}

/** Stored or client-sent managed fields that cannot be decoded count as none. */
export function safeDecode(entries: unknown): ManagedFieldsRecord[] {
  try {
    return decodeManagedFields(entries);
  } catch {
    return [];
  }
}

/**
 * Keeps at most `maxUpdateManagers` Update entries: the oldest are merged into one
 * `ancient-changes` entry, so a busy object's managedFields cannot grow without bound.
 */
export function capUpdateManagers(records: ManagedFieldsRecord[]): ManagedFieldsRecord[] {
  const live = records.filter((r) => !isEmptyFieldSet(r.fields));
  const updaters = live.filter((r) => r.operation === 'Update');
  if (updaters.length <= maxUpdateManagers) return live;
  updaters.sort((a, b) => compareTimes(a.time, b.time) || compareStrings(a.manager, b.manager));
  const merged = updaters.slice(0, updaters.length - maxUpdateManagers + 1);
  const newest = merged[merged.length - 1]!;
  const ancient: ManagedFieldsRecord = {
    manager: 'ancient-changes',
    operation: 'Update',
    apiVersion: newest.apiVersion,
    ...(newest.time !== undefined ? { time: newest.time } : {}),
    fields: merged.reduce((set, r) => unionFieldSets(set, r.fields), emptyFieldSet),
  };
  return [...live.filter((r) => !merged.includes(r)), ancient];
}

/**
 * The field manager kube-apiserver uses when a request names none: the User-Agent up to its
 * first `/` (`kubectl/v1.31.0 (linux/amd64) kubernetes/abc` gives `kubectl`), printable
 * characters only, at most 128; `unknown` when that leaves nothing.
 */
export function defaultFieldManager(userAgent?: string): string {
  const prefix = (userAgent ?? '').split('/')[0] ?? '';
  let manager = '';
  for (const ch of prefix) {
    if (/\p{C}/u.test(ch)) continue;
    if (manager.length + ch.length > 128) break;
    manager += ch;
  }
  return manager.trim() === '' ? 'unknown' : manager;
}
