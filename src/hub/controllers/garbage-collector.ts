/**
 * The garbage collector: deletes objects whose owners (metadata.ownerReferences) are all gone,
 * and carries out the foreground and orphan propagation policies that a delete asked for through
 * the `foregroundDeletion` and `orphan` finalizers. It also finishes namespace deletion by
 * emptying the namespace first. It acts through the ObjectRegistry, so its deletes obey the same
 * finalizers and rules as anyone else's. Idempotent: every step re-reads what it changes.
 *
 * Its graph holds only the objects it may have to act on: those with owners, with finalizers,
 * being deleted, and namespaces. Most objects are none of these (Events, ConfigMaps, the owners
 * at the top of a chain), and on a cluster of many pods the graph would otherwise hold an entry
 * per Event as well as per pod. Of an object whose only reason to be there is its owners (a pod
 * of a ReplicaSet), it keeps no more than the owners' uids under its key. Whether an owner
 * exists is looked up in the store when the graph does not know it, and a namespace is emptied
 * from store listings.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import type { Store, WatchEvent } from '../../storage/store.ts';
import type { ResourceType } from '../../api/resource-type.ts';
import { storageKey, storagePrefix } from '../../api/resource-type.ts';
import type { TypeCatalog } from '../../api/type-catalog.ts';
import type { ObjectRegistry } from '../../apiserver/registry.ts';
import type { UserInfo } from '../../apiserver/admission.ts';
import { followStore, type StoreFollower, type WatchSource } from './store-follower.ts';

/**
 * The uids of a list of ownerReferences. The pods of one ReplicaSet hold the same stored list
 * (the store shares equal parts), so they share one list of uids here too.
 */
const uidsOfOwners = new WeakMap<object, readonly string[]>();

function ownerUids(refs: ReadonlyArray<{ uid: string }>): readonly string[] {
  if (!Object.isFrozen(refs)) return refs.map((r) => r.uid);
  let uids = uidsOfOwners.get(refs);
  if (!uids) uidsOfOwners.set(refs, (uids = refs.map((r) => r.uid)));
  return uids;
}

/** Storage keys are /registry/<group>/<plural>/[<namespace>/]<name>. */
function splitKey(key: string): string[] {
  return key.split('/');
}

function isNamespace(type: ResourceType): boolean {
  return type.kind === 'Namespace' && type.group === '';
}

/** True for an entry that is in the graph only for its owners (see `#plain`). */
function isPlain(node: Node): boolean {
  return !node.deleting && node.finalizers.length === 0 && !isNamespace(node.type);
}

/** True when two entries of one key differ in nothing the collector acts on. */
function sameGraphState(a: Node, b: Node): boolean {
  return a.uid === b.uid && a.type === b.type && a.deleting === b.deleting
    && sameStrings(a.owners, b.owners) && sameStrings(a.finalizers, b.finalizers);
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((value, i) => value === b[i]));
}

const gcUser: UserInfo = { username: 'system:serviceaccount:kube-system:generic-garbage-collector', groups: ['system:serviceaccounts'] };

interface Node {
  key: string;
  /** '' for a plain dependent's entry, made from its key (see `#entry`). */
  uid: string;
  type: ResourceType;
  namespace: string | undefined;
  name: string;
  /** Owner uids; shared by every object with the same (stored, hash-consed) ownerReferences. */
  owners: readonly string[];
  deleting: boolean;
  finalizers: string[];
}

export class GarbageCollector {
  readonly #store: Store;
  readonly #registry: ObjectRegistry;
  readonly #catalog: TypeCatalog;
  readonly #byUid = new Map<string, Node>();
  /** Objects being deleted, holding finalizers, and namespaces. */
  readonly #byKey = new Map<string, Node>();
  /**
   * Plain dependents, objects with owners and nothing else to act on (a cluster's pods): only
   * their owners' uids (a list shared by the siblings of one owner), by key. Everything else
   * about them comes from the key, and their uid from the store when it is needed.
   */
  readonly #plain = new Map<string, readonly string[]>();
  /** Owner uid -> keys of objects that name it as owner. */
  readonly #dependents = new Map<string, Set<string>>();
  readonly #queue = new Set<string>();
  #draining = false;
  #follower: StoreFollower | undefined;
  #idle: Array<() => void> = [];

  readonly #watchSource: WatchSource | undefined;

  /** `watchSource` lets the collector share the hub's watch cache instead of watching the store again. */
  constructor(store: Store, registry: ObjectRegistry, catalog: TypeCatalog, watchSource?: WatchSource) {
    this.#store = store;
    this.#registry = registry;
    this.#catalog = catalog;
    this.#watchSource = watchSource;
  }

  start(): Promise<void> {
    this.#follower = followStore(this.#store, '/registry/', (obj) => this.#keyOf(obj) ?? '', {
      onSync: (items) => {
        this.#byUid.clear();
        this.#byKey.clear();
        this.#plain.clear();
        this.#dependents.clear();
        for (const { key, object } of items) if (key) this.#index(key, object);
        for (const key of this.#byKey.keys()) this.#queue.add(key);
        for (const key of this.#plain.keys()) this.#queue.add(key);
        this.#drain();
      },
      onEvent: (event) => this.#onEvent(event),
    }, this.#watchSource);
    return this.#follower.synced;
  }

  stop(): void {
    this.#follower?.stop();
  }

  /** Resolves once the work queue is empty (for tests). */
  idle(): Promise<void> {
    if (!this.#draining && this.#queue.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #onEvent(event: WatchEvent): void {
    if (!event.key || event.type === 'BOOKMARK') return;
    if (event.type === 'DELETED') {
      const before = this.#entry(event.key);
      this.#unindex(event.key);
      // The deleted object may not be in the graph: its last state says whose owner it was and where it lived.
      const last = event.object ?? event.previous;
      const uid = before?.uid || last?.metadata.uid;
      if (uid) for (const dep of this.#dependents.get(uid) ?? []) this.#queue.add(dep);
      for (const owner of before?.owners ?? []) this.#enqueueUid(owner);
      this.#enqueueNamespace(before?.namespace ?? last?.metadata.namespace);
    } else if (event.object) {
      const node = this.#nodeFor(event.key, event.object);
      // Most updates (a pod's status) change nothing the collector acts on: the entry stays, and
      // no work is queued (the owners' own changes queue their dependents).
      if (node && this.#unchanged(node)) return;
      this.#unindex(event.key);
      if (node) {
        this.#add(node);
        this.#queue.add(node.key);
        if (node.deleting) for (const owner of node.owners) this.#enqueueUid(owner);
      }
    }
    this.#drain();
  }

  #enqueueUid(uid: string): void {
    const node = this.#byUid.get(uid);
    if (node) this.#queue.add(node.key);
  }

  #enqueueNamespace(namespace: string | undefined): void {
    if (!namespace) return;
    const ns = this.#byKey.get(`/registry/core/namespaces/${namespace}`);
    if (ns?.deleting) this.#queue.add(ns.key);
  }

  #keyOf(obj: KubeObject): string | undefined {
    const type = this.#typeOf(obj);
    return type && obj.metadata.name ? storageKey(type, obj.metadata.namespace, obj.metadata.name) : undefined;
  }

  #typeOf(obj: KubeObject): ResourceType | undefined {
    return typeof obj.apiVersion === 'string' && typeof obj.kind === 'string' ? this.#catalog.byKind(obj.apiVersion, obj.kind) : undefined;
  }

  #index(key: string, obj: KubeObject): Node | undefined {
    const node = this.#nodeFor(key, obj);
    if (node) this.#add(node);
    return node;
  }

  /** The graph entry for an object, or undefined for one the collector need not know. */
  #nodeFor(key: string, obj: KubeObject): Node | undefined {
    const type = this.#typeOfKey(splitKey(key)) ?? this.#typeOf(obj);
    if (!type || !obj.metadata.uid) return undefined;
    const owners = obj.metadata.ownerReferences ?? [];
    const finalizers = obj.metadata.finalizers ?? [];
    if (owners.length === 0 && finalizers.length === 0 && obj.metadata.deletionTimestamp === undefined && !isNamespace(type)) return undefined;
    return {
      key,
      uid: obj.metadata.uid,
      type,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name!,
      owners: ownerUids(owners),
      deleting: obj.metadata.deletionTimestamp !== undefined,
      finalizers,
    };
  }

  /**
   * Adds an entry. Only entries the collector looks up by uid (those being deleted, holding
   * finalizers, or namespaces) are indexed by uid; an owner found in neither is looked up in the
   * store (`#ownerExists`), so the thousands of plain dependents (pods) cost no uid entry.
   */
  #add(node: Node): void {
    if (isPlain(node)) {
      this.#plain.set(node.key, node.owners);
    } else {
      this.#byKey.set(node.key, node);
      this.#byUid.set(node.uid, node);
    }
    for (const owner of node.owners) {
      let set = this.#dependents.get(owner);
      if (!set) this.#dependents.set(owner, (set = new Set()));
      set.add(node.key);
    }
  }

  /** True when the graph holds `node`'s key already in a state that equals it for the collector. */
  #unchanged(node: Node): boolean {
    if (isPlain(node)) {
      const owners = this.#plain.get(node.key);
      return owners !== undefined && sameStrings(owners, node.owners);
    }
    const known = this.#byKey.get(node.key);
    return known !== undefined && sameGraphState(known, node);
  }

  /** The entry of a key: a full one, or one made from a plain dependent's key and owners (its uid then unknown: ''). */
  #entry(key: string): Node | undefined {
    const node = this.#byKey.get(key);
    if (node) return node;
    const owners = this.#plain.get(key);
    if (!owners) return undefined;
    const parts = splitKey(key);
    const type = this.#typeOfKey(parts);
    if (!type) return undefined;
    return { key, uid: '', type, namespace: type.namespaced ? parts[4] : undefined, name: parts[type.namespaced ? 5 : 4]!, owners, deleting: false, finalizers: [] };
  }

  /** The kind a storage key is of, from its group and resource parts. */
  #typeOfKey(parts: string[]): ResourceType | undefined {
    return this.#catalog.byGroupResource(parts[2] === 'core' ? '' : parts[2]!, parts[3]!);
  }

  #unindex(key: string): void {
    const node = this.#byKey.get(key);
    const owners = node?.owners ?? this.#plain.get(key);
    if (!owners) return;
    this.#byKey.delete(key);
    this.#plain.delete(key);
    if (node && this.#byUid.get(node.uid) === node) this.#byUid.delete(node.uid);
    for (const owner of owners) {
      const set = this.#dependents.get(owner);
      set?.delete(key);
      if (set && set.size === 0) this.#dependents.delete(owner);
    }
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    void (async () => {
      while (this.#queue.size > 0) {
        const key = this.#queue.values().next().value!;
        this.#queue.delete(key);
        try {
          await this.#process(key);
        } catch (err) {
          if (!(err instanceof StatusError && (err.reason === 'NotFound' || err.reason === 'Conflict'))) {
            console.error(`garbage collector: ${key}:`, err instanceof Error ? err.message : err);
          }
        }
      }
      this.#draining = false;
      for (const resolve of this.#idle.splice(0)) resolve();
    })();
  }

  async #process(key: string): Promise<void> {
    const node = this.#entry(key);
    if (!node) return;
    if (node.deleting && node.finalizers.includes('orphan')) return this.#orphanDependents(node);
    if (node.deleting && node.finalizers.includes('foregroundDeletion')) return this.#foreground(node);
    if (node.deleting && isNamespace(node.type) && node.finalizers.includes('kubernetes')) return this.#emptyNamespace(node);
    if (node.owners.length > 0) return this.#checkOwners(node);
  }

  /** Deletes the object when every owner is gone; drops references to the owners that are gone. */
  async #checkOwners(node: Node): Promise<void> {
    const live = await this.#registry.tryGet(node.type, node.namespace, node.name);
    if (!live || (node.uid !== '' && live.metadata.uid !== node.uid)) return;
    const refs = live.metadata.ownerReferences ?? [];
    const present: typeof refs = [];
    for (const ref of refs) {
      if (await this.#ownerExists(ref, node.namespace)) present.push(ref);
    }
    if (present.length === refs.length) return;
    if (present.length === 0) {
      const ownerBeingDeletedInForeground = refs.some((r) => this.#byUid.get(r.uid)?.finalizers.includes('foregroundDeletion'));
      await this.#registry.delete(node.type, node.namespace, node.name, { user: gcUser, propagationPolicy: ownerBeingDeletedInForeground ? 'Foreground' : 'Background', preconditions: { uid: live.metadata.uid! } });
      return;
    }
    const next = structuredClone(live);
    next.metadata.ownerReferences = present;
    await this.#registry.update(node.type, node.namespace, node.name, next, { user: gcUser, fieldManager: 'garbage-collector' });
  }

  async #ownerExists(ref: { apiVersion: string; kind: string; name: string; uid: string }, namespace: string | undefined): Promise<boolean> {
    const indexed = this.#byUid.get(ref.uid);
    if (indexed) return true;
    // Not seen (yet): look it up directly before concluding it is gone.
    const type = this.#catalog.byKind(ref.apiVersion, ref.kind);
    if (!type) return false;
    const owner = await this.#store.get(storageKey(type, type.namespaced ? namespace : undefined, ref.name));
    return owner?.metadata.uid === ref.uid;
  }

  /** Foreground: dependents go first; the owner's finalizer is removed once none remain. */
  async #foreground(node: Node): Promise<void> {
    const dependents = [...(this.#dependents.get(node.uid) ?? [])].map((k) => this.#entry(k)).filter((d): d is Node => d !== undefined);
    for (const dep of dependents) {
      if (dep.deleting) continue;
      const uid = dep.uid || (await this.#registry.tryGet(dep.type, dep.namespace, dep.name))?.metadata.uid;
      if (!uid) continue;
      await this.#registry.delete(dep.type, dep.namespace, dep.name, { user: gcUser, propagationPolicy: 'Foreground', preconditions: { uid } }).catch(ignoreGone);
    }
    if (dependents.length === 0) await this.#removeFinalizer(node, 'foregroundDeletion');
  }

  /** Orphan: dependents lose their reference to the owner, then the owner goes. */
  async #orphanDependents(node: Node): Promise<void> {
    for (const key of [...(this.#dependents.get(node.uid) ?? [])]) {
      const dep = this.#entry(key);
      if (!dep) continue;
      const live = await this.#registry.tryGet(dep.type, dep.namespace, dep.name);
      if (!live) continue;
      const next = structuredClone(live);
      next.metadata.ownerReferences = (live.metadata.ownerReferences ?? []).filter((r) => r.uid !== node.uid);
      if (next.metadata.ownerReferences.length === 0) delete next.metadata.ownerReferences;
      await this.#registry.update(dep.type, dep.namespace, dep.name, next, { user: gcUser, fieldManager: 'garbage-collector' }).catch(ignoreGone);
    }
    await this.#removeFinalizer(node, 'orphan');
  }

  /**
   * A terminating namespace is emptied, from a listing of every namespaced kind in the store (the
   * graph does not hold every object); its finalizer goes when nothing is left in it. Each delete
   * in it brings the namespace back here.
   */
  async #emptyNamespace(node: Node): Promise<void> {
    let remaining = 0;
    const listed = new Set<string>();
    for (const type of this.#catalog.all()) {
      const prefix = `${storagePrefix(type)}${node.name}/`;
      // Several served versions of a kind share one storage prefix.
      if (!type.namespaced || listed.has(prefix)) continue;
      listed.add(prefix);
      const { items } = await this.#store.list(prefix);
      for (const other of items) {
        remaining++;
        if (other.metadata.deletionTimestamp !== undefined) continue;
        await this.#registry.delete(type, node.name, other.metadata.name!, { user: gcUser, propagationPolicy: 'Background', preconditions: { uid: other.metadata.uid! } }).catch(ignoreGone);
      }
    }
    if (remaining === 0) await this.#removeFinalizer(node, 'kubernetes');
  }

  async #removeFinalizer(node: Node, finalizer: string): Promise<void> {
    const live = await this.#registry.tryGet(node.type, node.namespace, node.name);
    if (!live || live.metadata.uid !== node.uid || !(live.metadata.finalizers ?? []).includes(finalizer)) return;
    const next = structuredClone(live);
    next.metadata.finalizers = (live.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await this.#registry.update(node.type, node.namespace, node.name, next, { user: gcUser, fieldManager: 'garbage-collector' });
  }
}

function ignoreGone(err: unknown): void {
  if (err instanceof StatusError && (err.reason === 'NotFound' || err.reason === 'Conflict')) return;
  throw err;
}
