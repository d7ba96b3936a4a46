/**
 * ObjectRegistry is the generic REST logic behind every resource: the Kubernetes metadata rules,
 * defaulting, admission, validation, managed fields, graceful deletion with finalizers, and the
 * mapping onto the Store. It knows nothing of HTTP, so the API server, the garbage collector and
 * in-process controllers all go through the same rules.
 *
 * Every write is a compare-and-swap against the revision that was read, so a write either lands
 * whole or not at all; a patch that loses a race is recomputed on the fresh object.
 */
import { randomUUID, randomBytes } from 'node:crypto';
import type { KubeObject, ObjectMeta } from '../machinery/object.ts';
import { isPlainObject, jsonEqual } from '../machinery/object.ts';
// A plain walk copies a JSON object several times faster than structuredClone; every write makes a few.
import { copyJson as cloneJson } from '../storage/interner.ts';
import { StatusError, errors, type StatusCause } from '../machinery/status-error.ts';
import { validateObjectMeta, type NameRule } from '../machinery/names.ts';
import type { LabelSelector, FieldSelector } from '../machinery/selectors.ts';
import { deleteFieldPath, parseFieldPath } from '../machinery/field-path.ts';
import { findUnknownFields, type SchemaRefResolver } from '../machinery/unknown-fields.ts';
import { schemaNode, type SchemaNode } from '../machinery/schema-node.ts';
import * as patches from '../machinery/patch/index.ts';
import type { Store, WatchEvent, WatchHandlers } from '../storage/store.ts';
import type { WatchCache } from './watch-cache.ts';
import type { ResourceType } from '../api/resource-type.ts';
import { apiVersionOf, storageKey, storagePrefix } from '../api/resource-type.ts';
import type { AdmissionChain, AdmissionOperation, UserInfo } from './admission.ts';
import type { Clock } from '../machinery/clock.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';
export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';
export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface WriteOptions {
  user: UserInfo;
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  subresource?: 'status';
  /** Collects warnings (unknown fields under `Warn`) for the response's Warning headers. */
  warnings?: string[];
}

export interface PatchOptions extends WriteOptions {
  force?: boolean;
}

export interface DeleteOptions {
  user: UserInfo;
  dryRun?: boolean;
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  /** Collects validating webhooks' warnings for the response's Warning headers. */
  warnings?: string[];
}

export interface ListQuery {
  labelSelector?: LabelSelector;
  fieldSelector?: FieldSelector;
  limit?: number;
  continue?: string;
}

export interface ListOutcome {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  /** Each item's JSON when the store kept it and the item is the stored object unchanged (see `ListResult.texts`). */
  texts?: string[];
}

export interface DeleteOutcome {
  /** True when the object is gone; false when it waits for finalizers. */
  deleted: boolean;
  object: KubeObject;
}

export interface WatchQuery {
  resourceVersion?: string;
  labelSelector?: LabelSelector;
  fieldSelector?: FieldSelector;
  bookmarks?: boolean;
  bookmarkIntervalMs?: number;
}

/** A running registry watch. */
export interface RegistryWatch {
  stop(): void;
  /**
   * The revision up to which every change has been delivered, while the watch is served from the
   * watch cache (see `WatchCache.position`); undefined when it is not. Watches of the same kind,
   * namespace and selectors at the same position receive the same events from then on.
   */
  position(): number | undefined;
}

export interface RegistryWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject | Record<string, unknown>;
}

const systemFields = ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'resourceVersion'] as const;
/**
 * How long a write that asked for last-write-wins keeps retrying lost races. Each lost race means
 * another write committed, so retrying always makes progress; the bound only guards against a
 * store that keeps failing.
 */
const retryWindowMs = 30_000;

export class ObjectRegistry {
  readonly store: Store;
  readonly admission: AdmissionChain;
  readonly clock: Clock;
  #nodes = new WeakMap<ResourceType, SchemaNode>();
  #resolvers = new WeakMap<ResourceType, SchemaRefResolver>();
  #keyQueues = new Map<string, Promise<void>>();

  /** Serves watches when set; otherwise each watch is a store watch of its own. */
  readonly watchCache: WatchCache | undefined;
  /** Namespaces seen to exist and not be terminating (see #requireNamespace). */
  readonly #activeNamespaces = new Set<string>();
  #namespaceWatch: Promise<boolean> | undefined;
  /** Namespace changes seen so far. */
  #namespaceEvents = 0;

  constructor(store: Store, admission: AdmissionChain, clock: Clock, watchCache?: WatchCache) {
    this.store = store;
    this.admission = admission;
    this.clock = clock;
    this.watchCache = watchCache;
  }

  async get(type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject> {
    const obj = await this.store.get(storageKey(type, namespace, name));
    if (!obj) throw errors.notFound(type.plural, type.group, name);
    return this.#fromStorage(type, obj);
  }

  /** The object at resourceVersion `version` from the watch cache, if it holds that version as the newest. */
  #cachedAt(type: ResourceType, namespace: string | undefined, name: string, version: string | undefined): KubeObject | undefined {
    if (!this.watchCache || version === undefined || version === '') return undefined;
    const obj = this.watchCache.objectAt(storageKey(type, namespace, name), Number(version));
    return obj && this.#fromStorage(type, obj);
  }

  async tryGet(type: ResourceType, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const obj = await this.store.get(storageKey(type, namespace, name));
    return obj ? this.#fromStorage(type, obj) : undefined;
  }

  async list(type: ResourceType, namespace: string | undefined, query: ListQuery = {}): Promise<ListOutcome> {
    const predicate = this.#predicate(type, query);
    const result = await this.store.list(this.#prefix(type, namespace), {
      limit: query.limit,
      continue: query.continue,
      predicate: predicate ? (obj) => predicate(this.#fromStorage(type, obj)) : undefined,
    });
    return {
      items: result.items.map((obj) => this.#fromStorage(type, obj)),
      resourceVersion: String(result.revision),
      ...(result.continue ? { continue: result.continue } : {}),
      // A storage transform (sealed Secrets) makes new objects: the stored text is not theirs.
      ...(result.texts && !type.storageTransform ? { texts: result.texts } : {}),
    };
  }

  async create(type: ResourceType, namespace: string | undefined, body: KubeObject, options: WriteOptions): Promise<KubeObject> {
    return this.#create(type, namespace, body, options, undefined);
  }

  /** Creates an object; `appliedFields` (from a server-side apply) replaces the usual tracking. */
  async #create(type: ResourceType, namespace: string | undefined, body: KubeObject, options: WriteOptions, appliedFields: KubeObject['metadata']['managedFields']): Promise<KubeObject> {
    const obj = cloneJson(body);
    this.#checkTypeMeta(type, obj);
    obj.metadata ??= {};
    const meta = obj.metadata;
    this.#checkNamespace(type, namespace, meta);
    if (type.namespaced) meta.namespace = namespace;
    else delete meta.namespace;
    if (namespace !== undefined && type.namespaced) await this.#requireNamespace(namespace);
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    for (const field of systemFields) delete meta[field];
    meta.uid = randomUUID();
    meta.creationTimestamp = this.clock.nowIso();
    meta.generation = 1;
    if (type.subresources.status && !type.statusOnCreate) delete obj.status;
    await this.#prepare(type, 'CREATE', obj, undefined, options);
    const managed = appliedFields ? { ...obj, metadata: { ...obj.metadata, managedFields: appliedFields } } : patches.trackUpdate(undefined, obj, this.#managerOptions(type, options, 'Update'));
    if (options.dryRun) return stamp(managed, '');
    const key = storageKey(type, meta.namespace, meta.name!);
    const stored = await this.#storeCall(type, meta.name!, () => this.store.create(key, this.#toStorage(type, managed)));
    return this.#fromStorage(type, stored);
  }

  /**
   * Replaces an object. A resourceVersion in the body makes it a compare-and-swap (409 when
   * stale); without one the update applies to whatever is stored, as Kubernetes allows.
   */
  async update(type: ResourceType, namespace: string | undefined, name: string, body: KubeObject, options: WriteOptions): Promise<KubeObject> {
    // Each attempt below works on its own copy, so the body itself is only read here.
    this.#checkTypeMeta(type, body);
    const obj: KubeObject = isPlainObject(body.metadata) ? body : { ...body, metadata: {} };
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw errors.badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
    }
    this.#checkNamespace(type, namespace, obj.metadata);
    const wanted = obj.metadata.resourceVersion;
    if (wanted !== undefined && wanted !== '') return this.#update(type, namespace, name, obj, options, wanted);
    return this.#oneAtATime(storageKey(type, namespace, name), () => this.#update(type, namespace, name, obj, options, wanted));
  }

  async #update(type: ResourceType, namespace: string | undefined, name: string, obj: KubeObject, options: WriteOptions, wanted: string | undefined): Promise<KubeObject> {
    if (wanted !== undefined && wanted !== '') parseResourceVersion(wanted);
    for (const deadline = performance.now() + retryWindowMs; ;) {
      // A client that names the version it changed usually changed the newest one, which the
      // watch cache still holds: no store read (on etcd, no round trip) for the common update.
      const old = this.#cachedAt(type, namespace, name, wanted) ?? await this.get(type, namespace, name);
      if (wanted !== undefined && wanted !== '' && wanted !== old.metadata.resourceVersion) {
        throw errors.conflict(type.plural, type.group, name, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      try {
        return await this.#replace(type, old, cloneJson(obj), options);
      } catch (err) {
        // Without a resourceVersion the client asked for last-write-wins: a lost race is retried.
        const lostRace = isLostRace(err) && (wanted === undefined || wanted === '') && performance.now() < deadline;
        if (!lostRace) throw err;
      }
    }
  }

  /**
   * Applies a patch of the given type. A patch that names a resourceVersion is a
   * compare-and-swap (409 when stale); one that does not is recomputed on the fresh object when
   * another write lands first, as kube-apiserver does.
   */
  async patch(type: ResourceType, namespace: string | undefined, name: string, patchType: PatchType, patch: unknown, options: PatchOptions): Promise<KubeObject> {
    return this.#oneAtATime(storageKey(type, namespace, name), () => this.#patch(type, namespace, name, patchType, patch, options));
  }

  async #patch(type: ResourceType, namespace: string | undefined, name: string, patchType: PatchType, patch: unknown, options: PatchOptions): Promise<KubeObject> {
    for (const deadline = performance.now() + retryWindowMs; ;) {
      const old = await this.tryGet(type, namespace, name);
      if (!old) {
        if (patchType !== 'apply') throw errors.notFound(type.plural, type.group, name);
        return this.#applyCreate(type, namespace, name, patch, options);
      }
      const next = this.#patched(type, old, patchType, patch, options);
      const wanted = next.metadata.resourceVersion;
      const pinned = wanted !== undefined && wanted !== '' && wanted !== old.metadata.resourceVersion;
      if (pinned) {
        parseResourceVersion(String(wanted));
        throw errors.conflict(type.plural, type.group, name, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      const pinsVersion = wanted !== undefined && wanted !== '' && patchType !== 'json' && isPlainObject(patch) && isPlainObject(patch.metadata) && patch.metadata.resourceVersion !== undefined;
      next.metadata.resourceVersion = old.metadata.resourceVersion;
      try {
        return await this.#replace(type, old, next, options, patchType === 'apply');
      } catch (err) {
        const lostRace = isLostRace(err) && !pinsVersion && performance.now() < deadline;
        if (!lostRace) throw err;
      }
    }
  }

  /**
   * Deletes an object. With finalizers (its own, or the one a propagation policy adds) the object
   * is only marked with deletionTimestamp and goes once the finalizers are removed.
   */
  async delete(type: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions): Promise<DeleteOutcome> {
    return this.#oneAtATime(storageKey(type, namespace, name), () => this.#delete(type, namespace, name, options));
  }

  async #delete(type: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions): Promise<DeleteOutcome> {
    for (const deadline = performance.now() + retryWindowMs; ;) {
      const old = await this.get(type, namespace, name);
      const pre = options.preconditions ?? {};
      if (pre.uid && pre.uid !== old.metadata.uid) {
        throw errors.conflict(type.plural, type.group, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
      }
      if (pre.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
        throw errors.conflict(type.plural, type.group, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
      }
      await this.admission.validate({ operation: 'DELETE', type, namespace, name, subresource: undefined, object: undefined, oldObject: old, user: options.user, dryRun: !!options.dryRun, ...(options.warnings ? { warnings: options.warnings } : {}) });
      const finalizers = new Set(old.metadata.finalizers ?? []);
      const policy = options.propagationPolicy ?? defaultPropagation;
      if (policy === 'Orphan') finalizers.add('orphan');
      if (policy === 'Foreground') finalizers.add('foregroundDeletion');
      if (type.kind === 'Namespace' && type.group === '') finalizers.add('kubernetes');
      try {
        if (finalizers.size === 0) {
          if (options.dryRun) return { deleted: true, object: old };
          const gone = await this.#storeCall(type, name, () => this.store.delete(storageKey(type, namespace, name), { expectedRevision: Number(old.metadata.resourceVersion) }));
          return { deleted: true, object: this.#fromStorage(type, gone) };
        }
        if (old.metadata.deletionTimestamp && sameSet(finalizers, old.metadata.finalizers ?? [])) {
          return { deleted: false, object: old };
        }
        const marked = cloneJson(old);
        marked.metadata.finalizers = [...finalizers];
        marked.metadata.deletionTimestamp ??= this.clock.nowIso();
        marked.metadata.deletionGracePeriodSeconds = 0;
        if (type.kind === 'Namespace' && type.group === '') marked.status = { ...(isPlainObject(marked.status) ? marked.status : {}), phase: 'Terminating' };
        if (options.dryRun) return { deleted: false, object: marked };
        const stored = await this.#storeCall(type, name, () => this.store.update(storageKey(type, namespace, name), this.#toStorage(type, marked), Number(old.metadata.resourceVersion)));
        return { deleted: false, object: this.#fromStorage(type, stored) };
      } catch (err) {
        const lostRace = isLostRace(err) && !pre.resourceVersion && performance.now() < deadline;
        if (!lostRace) throw err;
      }
    }
  }

  /** Deletes every object a list query selects; returns the objects as they were. */
  async deleteCollection(type: ResourceType, namespace: string | undefined, query: ListQuery, options: DeleteOptions): Promise<KubeObject[]> {
    const { items } = await this.list(type, namespace, { labelSelector: query.labelSelector, fieldSelector: query.fieldSelector });
    const deleted: KubeObject[] = [];
    for (const item of items) {
      try {
        const outcome = await this.delete(type, item.metadata.namespace, item.metadata.name!, options);
        deleted.push(outcome.object);
      } catch (err) {
        if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
      }
    }
    return deleted;
  }

  /**
   * Streams changes. Without a resourceVersion (or with "0") the current objects come first as
   * ADDED events; with one, every change after it is replayed, or an Expired error if that
   * revision is no longer retained. Objects entering or leaving the selectors appear as ADDED
   * and DELETED, as Kubernetes' watch cache does.
   */
  async watch(type: ResourceType, namespace: string | undefined, query: WatchQuery, send: (event: RegistryWatchEvent) => void, onEnd: (err?: Error) => void): Promise<RegistryWatch> {
    const predicate = this.#predicate(type, query) ?? (() => true);
    let from: number;
    const rv = query.resourceVersion;
    if (rv === undefined || rv === '' || rv === '0') {
      const snapshot = await this.list(type, namespace, { labelSelector: query.labelSelector, fieldSelector: query.fieldSelector });
      for (const item of snapshot.items) send({ type: 'ADDED', object: item });
      from = Number(snapshot.resourceVersion);
    } else {
      from = parseResourceVersion(rv);
    }
    const apiVersion = apiVersionOf(type);
    const prefix = this.#prefix(type, namespace);
    const bookmarkIntervalMs = query.bookmarks ? (query.bookmarkIntervalMs ?? 10_000) : undefined;
    const handlers: WatchHandlers = {
      onEvent: (event: WatchEvent) => {
        if (event.type === 'BOOKMARK') {
          send({ type: 'BOOKMARK', object: { kind: type.kind, apiVersion, metadata: { resourceVersion: String(event.revision) } } });
          return;
        }
        const now = event.object ? this.#fromStorage(type, event.object) : undefined;
        const before = event.previous ? this.#fromStorage(type, event.previous) : undefined;
        const matchesNow = now !== undefined && predicate(now);
        if (event.type === 'ADDED') {
          if (matchesNow) send({ type: 'ADDED', object: now! });
        } else if (event.type === 'MODIFIED') {
          const matchedBefore = before !== undefined && predicate(before);
          if (matchesNow && matchedBefore) send({ type: 'MODIFIED', object: now! });
          else if (matchesNow) send({ type: 'ADDED', object: now! });
          else if (matchedBefore) send({ type: 'DELETED', object: now! });
        } else if (event.type === 'DELETED') {
          if (matchesNow) send({ type: 'DELETED', object: now! });
        }
      },
      onError: (err) => onEnd(err),
    };
    const cache = this.watchCache;
    const watch = cache
      ? await cache.watch(prefix, from, bookmarkIntervalMs, handlers)
      : await this.store.watch(prefix, { fromRevision: from, bookmarkIntervalMs }, handlers);
    return { stop: () => watch.stop(), position: () => cache?.position(watch) };
  }

  /**
   * Runs read-modify-write work on one key after the work already queued for it in this process,
   * so concurrent patches to one object do not all race the store (they would, under SQLite's
   * group commit, each lose to the same batch). Other processes still race, and lose to retries.
   */
  async #oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#keyQueues.get(key) ?? Promise.resolve();
    const run = previous.then(work, work);
    const settled = run.then(() => undefined, () => undefined);
    this.#keyQueues.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.#keyQueues.get(key) === settled) this.#keyQueues.delete(key);
    }
  }

  /** The merge-semantics view of a type's schema, built once per type. */
  schemaOf(type: ResourceType): SchemaNode {
    let node = this.#nodes.get(type);
    if (!node) {
      const components = type.schema.components;
      const resolve = (ref: string) => components[ref.replace('#/components/schemas/', '')];
      node = schemaNode(components[type.schema.root] ?? {}, resolve);
      this.#nodes.set(type, node);
    }
    return node;
  }

  async #applyCreate(type: ResourceType, namespace: string | undefined, name: string, patch: unknown, options: PatchOptions): Promise<KubeObject> {
    const applied = parseApplyBody(type, patch);
    if (applied.metadata.name !== undefined && applied.metadata.name !== name) {
      throw errors.badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
    }
    const merged = patches.apply(undefined, applied, { ...this.#managerOptions(type, options, 'Apply'), force: !!options.force });
    merged.metadata.name = name;
    return this.#create(type, namespace, merged, options, merged.metadata.managedFields ?? []);
  }

  #patched(type: ResourceType, old: KubeObject, patchType: PatchType, patch: unknown, options: PatchOptions): KubeObject {
    switch (patchType) {
      case 'json':
        return asObject(type, old, patches.applyJsonPatch(old, patch));
      case 'merge':
        return asObject(type, old, patches.applyMergePatch(old, patch));
      case 'strategic':
        if (type.origin === 'crd') {
          throw new StatusError('UnsupportedMediaType', `strategic merge patch is not supported for custom resources (${type.plural}.${type.group}); use --type=merge or --type=json`);
        }
        return asObject(type, old, patches.applyStrategicMergePatch(old, patch, this.schemaOf(type)));
      case 'apply': {
        const applied = parseApplyBody(type, patch);
        if (applied.metadata.name !== undefined && applied.metadata.name !== old.metadata.name) {
          throw errors.badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${old.metadata.name})`);
        }
        return patches.apply(old, applied, { ...this.#managerOptions(type, options, 'Apply'), force: !!options.force });
      }
    }
  }

  async #replace(type: ResourceType, old: KubeObject, incoming: KubeObject, options: WriteOptions, isApply = false): Promise<KubeObject> {
    const obj = incoming;
    this.#checkTypeMeta(type, obj);
    const meta = obj.metadata;
    // Fields the system owns keep their stored values whatever the client sent.
    meta.name = old.metadata.name;
    if (type.namespaced) meta.namespace = old.metadata.namespace;
    meta.uid = old.metadata.uid;
    meta.creationTimestamp = old.metadata.creationTimestamp;
    meta.generation = old.metadata.generation;
    if (old.metadata.deletionTimestamp) {
      meta.deletionTimestamp = old.metadata.deletionTimestamp;
      meta.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
      const added = (meta.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw errors.invalid(type.kind, type.group, old.metadata.name!, [{ reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` }]);
      }
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    if (options.subresource === 'status') {
      // A status write changes status only; everything else stays as stored.
      const next = cloneJson(old);
      next.status = obj.status;
      next.metadata.resourceVersion = meta.resourceVersion;
      if (isApply) next.metadata.managedFields = meta.managedFields;
      return this.#commit(type, old, next, options, isApply);
    }
    if (type.subresources.status) obj.status = old.status;
    return this.#commit(type, old, obj, options, isApply);
  }

  async #commit(type: ResourceType, old: KubeObject, obj: KubeObject, options: WriteOptions, isApply: boolean): Promise<KubeObject> {
    await this.#prepare(type, 'UPDATE', obj, old, options);
    if (type.validateUpdate) {
      const causes = type.validateUpdate(obj, old);
      if (causes.length > 0) throw errors.invalid(type.kind, type.group, old.metadata.name!, causes);
    }
    if (!jsonEqual(specOf(obj), specOf(old))) obj.metadata.generation = (old.metadata.generation ?? 1) + 1;
    const managed = isApply ? obj : patches.trackUpdate(old, obj, this.#managerOptions(type, options, 'Update'));
    const key = storageKey(type, old.metadata.namespace, old.metadata.name!);
    const finished = managed.metadata.deletionTimestamp !== undefined && (managed.metadata.finalizers ?? []).length === 0;
    if (options.dryRun) return stamp(managed, old.metadata.resourceVersion ?? '');
    if (jsonEqual(withoutVersion(managed), withoutVersion(old)) && !finished) return old;
    const expected = Number(old.metadata.resourceVersion);
    const stored = await this.#storeCall(type, old.metadata.name!, () => this.store.update(key, this.#toStorage(type, managed), expected));
    if (finished) {
      try {
        await this.store.delete(key, { expectedRevision: Number(stored.metadata.resourceVersion) });
      } catch (err) {
        // Someone else changed or removed it in between; their write decides what happens next.
        if (!(err instanceof StatusError)) throw err;
      }
    }
    return this.#fromStorage(type, stored);
  }

  /** Defaulting, mutating admission, metadata and schema validation, validating admission. */
  async #prepare(type: ResourceType, operation: AdmissionOperation, obj: KubeObject, old: KubeObject | undefined, options: WriteOptions): Promise<void> {
    obj.apiVersion = apiVersionOf(type);
    obj.kind = type.kind;
    this.#handleUnknownFields(type, obj, options);
    type.applyDefaults?.(obj);
    const name = typeof obj.metadata.name === 'string' ? obj.metadata.name : String(obj.metadata.name ?? '');
    // Webhooks' warnings go to the response's Warning headers with the registry's own.
    const request = { operation, type, namespace: obj.metadata.namespace, name, subresource: options.subresource, object: obj, oldObject: old, user: options.user, dryRun: !!options.dryRun, ...(options.warnings ? { warnings: options.warnings } : {}) };
    await this.admission.mutate(request);
    const causes: StatusCause[] = [
      ...validateObjectMeta(obj.metadata, nameRuleOf(type), type.namespaced),
      ...type.validate(obj),
    ];
    if (causes.length > 0) throw errors.invalid(type.kind, type.group, name, causes);
    await this.admission.validate(request);
  }

  #handleUnknownFields(type: ResourceType, obj: KubeObject, options: WriteOptions): void {
    const components = type.schema.components;
    const root = components[type.schema.root];
    if (!root) return;
    const unknown = findUnknownFields(obj, root, this.#resolverOf(type));
    if (unknown.length === 0) return;
    const mode = options.fieldValidation ?? 'Warn';
    if (mode === 'Strict') {
      throw new StatusError('BadRequest', `strict decoding error: ${unknown.map((p) => `unknown field "${p.replace(/^\./, '')}"`).join(', ')}`, {
        causes: unknown.map((p) => ({ reason: 'FieldValueInvalid', field: p.replace(/^\./, ''), message: 'unknown field' })),
      });
    }
    if (mode === 'Warn') options.warnings?.push(...unknown.map((p) => `unknown field "${p.replace(/^\./, '')}"`));
    for (const path of unknown) deleteFieldPath(obj, parseFieldPath(path));
  }

  /** One `$ref` resolver per kind, so findUnknownFields keeps what it learns about the kind's schema. */
  #resolverOf(type: ResourceType): SchemaRefResolver {
    let resolve = this.#resolvers.get(type);
    if (!resolve) {
      const components = type.schema.components;
      resolve = (ref) => components[ref.replace('#/components/schemas/', '')];
      this.#resolvers.set(type, resolve);
    }
    return resolve;
  }

  #managerOptions(type: ResourceType, options: WriteOptions, operation: 'Apply' | 'Update') {
    const manager = options.fieldManager ?? 'unknown';
    if (manager.length > 128) throw errors.badRequest(`fieldManager is too long (${manager.length} characters, at most 128)`);
    return { manager, apiVersion: apiVersionOf(type), now: this.clock.nowIso(), schema: this.schemaOf(type), operation, subresource: options.subresource };
  }

  #checkTypeMeta(type: ResourceType, obj: KubeObject): void {
    if (!isPlainObject(obj)) throw errors.badRequest('the request body must be a JSON or YAML object');
    const apiVersion = apiVersionOf(type);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw errors.badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`);
    }
    if (obj.kind !== undefined && obj.kind !== type.kind) {
      throw errors.badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${type.kind}) for ${type.plural}${type.group ? '.' + type.group : ''}`);
    }
    if (obj.metadata !== undefined && !isPlainObject(obj.metadata)) {
      throw errors.invalid(type.kind, type.group, '', [{ reason: 'FieldValueTypeInvalid', field: 'metadata', message: 'Invalid value: metadata must be an object' }]);
    }
  }

  #checkNamespace(type: ResourceType, namespace: string | undefined, meta: ObjectMeta): void {
    if (!type.namespaced) return;
    if (namespace === undefined) throw errors.badRequest(`${type.plural} is namespaced: a namespace is required`);
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw errors.badRequest(`the namespace of the provided object (${meta.namespace}) does not match the namespace sent on the request (${namespace})`);
    }
  }

  /**
   * Refuses a create in a namespace that does not exist (404) or is being deleted (403). As
   * kube-apiserver's NamespaceLifecycle admission does with its informer, namespaces seen active
   * are remembered, and forgotten as soon as the watch cache tells they are terminating or gone,
   * so most creates cost no store read; one not remembered is read from the store.
   */
  async #requireNamespace(namespace: string): Promise<void> {
    if (this.#activeNamespaces.has(namespace)) return;
    const watching = await this.#watchNamespaces();
    const eventsBefore = this.#namespaceEvents;
    const ns = await this.store.get(`${namespacePrefix}${namespace}`);
    if (!ns) throw new StatusError('NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    if (ns.metadata.deletionTimestamp) {
      throw new StatusError('Forbidden', `unable to create new content in namespace ${namespace} because it is being terminated`, { name: namespace, kind: 'namespaces' });
    }
    // Remembered only if no namespace changed during the read, which may then be out of date.
    if (watching && eventsBefore === this.#namespaceEvents) this.#activeNamespaces.add(namespace);
  }

  /** Follows namespaces through the watch cache (once); false when there is none to follow. */
  #watchNamespaces(): Promise<boolean> {
    const cache = this.watchCache;
    if (!cache) return Promise.resolve(false);
    this.#namespaceWatch ??= cache.watch(namespacePrefix, undefined, undefined, {
      onEvent: (event) => {
        if (!event.key) return;
        this.#namespaceEvents++;
        if (event.type === 'DELETED' || event.object?.metadata.deletionTimestamp !== undefined) this.#activeNamespaces.delete(event.key.slice(namespacePrefix.length));
      },
      onError: () => {
        this.#activeNamespaces.clear();
        this.#namespaceWatch = undefined;
      },
    }).then(() => true, () => {
      this.#namespaceWatch = undefined;
      return false;
    });
    return this.#namespaceWatch;
  }

  async #storeCall(type: ResourceType, name: string, call: () => Promise<KubeObject>): Promise<KubeObject> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof StatusError && err.reason === 'AlreadyExists') throw errors.alreadyExists(type.plural, type.group, name);
      if (err instanceof StatusError && err.reason === 'Conflict') {
        const lost = errors.conflict(type.plural, type.group, name, 'the object has been modified; please apply your changes to the latest version and try again');
        raceLosses.add(lost);
        throw lost;
      }
      if (err instanceof StatusError && err.reason === 'NotFound') throw errors.notFound(type.plural, type.group, name);
      throw err;
    }
  }

  #predicate(type: ResourceType, query: { labelSelector?: LabelSelector; fieldSelector?: FieldSelector }): ((obj: KubeObject) => boolean) | undefined {
    const labels = query.labelSelector && query.labelSelector.requirements.length > 0 ? query.labelSelector : undefined;
    const fields = query.fieldSelector && query.fieldSelector.requirements.length > 0 ? query.fieldSelector : undefined;
    if (!labels && !fields) return undefined;
    return (obj) => {
      if (labels && !labels.matches(obj.metadata.labels)) return false;
      if (fields && !fields.matches(fieldsOf(type, obj))) return false;
      return true;
    };
  }

  #prefix(type: ResourceType, namespace: string | undefined): string {
    return type.namespaced && namespace !== undefined ? `${storagePrefix(type)}${namespace}/` : storagePrefix(type);
  }

  #toStorage(type: ResourceType, obj: KubeObject): KubeObject {
    return type.storageTransform ? type.storageTransform.toStorage(obj) : obj;
  }

  #fromStorage(type: ResourceType, obj: KubeObject): KubeObject {
    return type.storageTransform ? type.storageTransform.fromStorage(obj) : obj;
  }
}

const namespacePrefix = '/registry/core/namespaces/';

/**
 * True for the Conflict a compare-and-swap answers when another write landed between our read
 * and our write (as opposed to a failed precondition the client stated, or an apply conflict).
 */
function isLostRace(err: unknown): boolean {
  return err instanceof StatusError && raceLosses.has(err);
}

/** Conflicts that #storeCall made from a failed compare-and-swap in the store. */
const raceLosses = new WeakSet<StatusError>();

/** Field selector values of an object: name and namespace for every kind, plus the kind's own. */
export function fieldsOf(type: ResourceType, obj: KubeObject): Record<string, string | undefined> {
  const fields: Record<string, string | undefined> = { 'metadata.name': obj.metadata.name };
  if (type.namespaced) fields['metadata.namespace'] = obj.metadata.namespace;
  for (const [label, read] of Object.entries(type.fieldLabels)) fields[label] = read(obj);
  return fields;
}

export function supportedFieldLabels(type: ResourceType): string[] {
  return ['metadata.name', ...(type.namespaced ? ['metadata.namespace'] : []), ...Object.keys(type.fieldLabels)];
}

/** Parses a resourceVersion sent by a client; anything but a non-negative integer is a 400. */
export function parseResourceVersion(value: string): number {
  if (!/^\d{1,15}$/.test(value)) {
    throw errors.badRequest(`invalid resource version "${value}": a resourceVersion is an opaque value that must come from a previous read of the object`);
  }
  return Number(value);
}

function parseApplyBody(type: ResourceType, patch: unknown): KubeObject {
  if (!isPlainObject(patch)) throw errors.badRequest('an apply patch must be a YAML or JSON object');
  const applied = cloneJson(patch) as KubeObject;
  if (applied.apiVersion === undefined || applied.kind === undefined) {
    throw errors.badRequest('an apply patch must set apiVersion and kind');
  }
  const apiVersion = apiVersionOf(type);
  if (applied.apiVersion !== apiVersion || applied.kind !== type.kind) {
    throw errors.badRequest(`the apply patch is ${String(applied.apiVersion)}, Kind=${String(applied.kind)} but the request is for ${apiVersion}, Kind=${type.kind}`);
  }
  if (!isPlainObject(applied.metadata)) applied.metadata = {};
  if (applied.metadata.managedFields !== undefined) {
    throw errors.badRequest('metadata.managedFields must be empty in an apply patch');
  }
  return applied;
}

/**
 * The result of a patch as an object. A patch that removes metadata leaves an empty one (the
 * system fields are restored from the stored object); one that turns metadata into something
 * other than an object is Invalid, not silently replaced (which would drop labels and finalizers).
 */
function asObject(type: ResourceType, old: KubeObject, value: unknown): KubeObject {
  if (!isPlainObject(value)) throw errors.badRequest('the patch would turn the object into something other than a JSON object');
  if (value.metadata === undefined || value.metadata === null) value.metadata = {};
  if (!isPlainObject(value.metadata)) {
    throw errors.invalid(type.kind, type.group, old.metadata.name ?? '', [{ reason: 'FieldValueTypeInvalid', field: 'metadata', message: `Invalid value: ${JSON.stringify(value.metadata)?.slice(0, 80)}: metadata must be an object` }]);
  }
  return value as KubeObject;
}

function nameRuleOf(type: ResourceType): NameRule {
  if (type.group === '' && (type.kind === 'Namespace' || type.kind === 'Service')) return 'label';
  if (type.group === '' && type.kind === 'Event') return 'path-segment';
  return 'subdomain';
}

/**
 * Kubernetes keeps orphaning as the REST default for a few old kinds; everything served here
 * cascades in the background unless the client asks otherwise.
 */
const defaultPropagation: PropagationPolicy = 'Background';

function specOf(obj: KubeObject): unknown {
  const { metadata, status, ...rest } = obj;
  void metadata;
  void status;
  return rest;
}

function withoutVersion(obj: KubeObject): KubeObject {
  const meta = { ...obj.metadata };
  delete meta.resourceVersion;
  delete meta.managedFields;
  return { ...obj, metadata: meta };
}

function stamp(obj: KubeObject, resourceVersion: string): KubeObject {
  obj.metadata.resourceVersion = resourceVersion;
  return obj;
}

function sameSet(a: Set<string>, b: string[]): boolean {
  return a.size === b.length && b.every((x) => a.has(x));
}

const suffixAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** Appends five random characters, as Kubernetes does for generateName. */
export function generateName(prefix: string): string {
  const bytes = randomBytes(5);
  let suffix = '';
  for (const b of bytes) suffix += suffixAlphabet[b % suffixAlphabet.length];
  const trimmed = prefix.length > 58 ? prefix.slice(0, 58) : prefix;
  return trimmed + suffix;
}
