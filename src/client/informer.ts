/**
 * An Informer keeps a local cache of one resource type (optionally one namespace and selectors)
 * and tells subscribers what changed, over any ObjectClient. It lists (in pages), then watches
 * from the list's resourceVersion with bookmarks, so the cache is never further behind than the
 * stream. Its promises:
 *
 * - the cache holds the latest version of every selected object seen, and handlers are told of
 *   each change in the order the server made them;
 * - when the watch's revision has been compacted away (410 Expired) it re-lists and reports the
 *   difference to its cache: adds, updates (only where the resourceVersion changed) and deletes;
 * - when the stream ends or the server cannot be reached it re-watches from the last
 *   resourceVersion it saw, backing off exponentially (1 s .. 30 s by default) while that fails;
 *   the backoff starts over once a watch opens.
 *
 * Handlers run synchronously as changes are applied; one that throws is reported to the error
 * handlers and does not stop the informer.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { KubeObject } from '../machinery/object.ts';
import { StatusError, statusReasons, type StatusReason } from '../machinery/status-error.ts';
import type { ClientWatch, ClientWatchEvent, ObjectClient, ResourceRef } from './client.ts';
import { flatKey } from '../machinery/flat-key.ts';

export interface InformerOptions {
  /** Only this namespace; all namespaces when undefined. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Objects per list page; default 500. */
  pageSize?: number;
  /** Delays between failed attempts: starts at `initialMs` (1000), doubles up to `maxMs` (30000). */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Waits `ms` unless `signal` aborts first (then rejects or resolves early); injectable for tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export type AddHandler = (obj: KubeObject) => void;
export type UpdateHandler = (obj: KubeObject, old: KubeObject) => void;
export type DeleteHandler = (obj: KubeObject) => void;
export type ErrorHandler = (err: Error) => void;
/** Index values of an object; an object may have any number of them. */
export type IndexFunction = (obj: KubeObject) => string[];

interface Index {
  fn: IndexFunction;
  /** Index value -> keys of the objects that have it. */
  entries: Map<string, Set<string>>;
}

type WatchOutcome = 'ended' | 'expired' | 'interrupted';

/** The conventional name of an index by namespace; an informer has it once added with `addIndex(namespaceIndex, byNamespace)`. */
export const namespaceIndex = 'namespace';
export const byNamespace: IndexFunction = (obj) => [obj.metadata.namespace ?? ''];

export class Informer {
  readonly #client: ObjectClient;
  readonly #ref: ResourceRef;
  readonly #options: InformerOptions;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  readonly #cache = new Map<string, KubeObject>();
  readonly #indexes = new Map<string, Index>();
  readonly #addHandlers = new Set<AddHandler>();
  readonly #updateHandlers = new Set<UpdateHandler>();
  readonly #deleteHandlers = new Set<DeleteHandler>();
  readonly #errorHandlers = new Set<ErrorHandler>();

  #resourceVersion = '';
  #running = false;
  #paused = false;
  #abort = new AbortController();
  #wake: (() => void) | undefined;
  #interrupt: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #lists = 0;
  #watches = 0;
  #resolveSynced!: () => void;

  /** Resolves once the first list has filled the cache (and its adds were delivered). */
  readonly synced: Promise<void>;

  constructor(client: ObjectClient, ref: ResourceRef, options: InformerOptions = {}) {
    this.#client = client;
    this.#ref = ref;
    this.#options = options;
    this.#initialMs = options.backoff?.initialMs ?? 1_000;
    this.#maxMs = options.backoff?.maxMs ?? 30_000;
    this.#sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }).catch(() => undefined));
    this.synced = new Promise((resolve) => { this.#resolveSynced = resolve; });
  }

  /** Starts listing and watching; idempotent. Returns at once: await `synced` for the cache. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    this.#loop = this.#run();
  }

  /** Stops watching for good; the cache keeps its last contents. Resolves when the loop is done. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#abort.abort();
    this.#interrupt?.();
    this.#wake?.();
    await this.#loop;
  }

  /**
   * Stops watching until `resume`, keeping the cache and resourceVersion, as if the connection
   * were down. Meant for tests and maintenance windows.
   */
  pause(): void {
    this.#paused = true;
    this.#interrupt?.();
  }

  /** Watches again from the last resourceVersion (re-listing if the server has forgotten it). */
  resume(): void {
    this.#paused = false;
    this.#wake?.();
  }

  /** The latest resourceVersion seen (from the list, events and bookmarks); '' before the first list. */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** How many full lists and watch attempts were made (for monitoring and tests). */
  get stats(): { lists: number; watches: number } {
    return { lists: this.#lists, watches: this.#watches };
  }

  list(): KubeObject[] {
    return [...this.#cache.values()];
  }

  /** How many objects the cache holds. */
  get size(): number {
    return this.#cache.size;
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#cache.get(keyOf(namespace, name));
  }

  /** Subscribes; the returned function unsubscribes. */
  onAdd(handler: AddHandler): () => void {
    this.#addHandlers.add(handler);
    return () => this.#addHandlers.delete(handler);
  }

  onUpdate(handler: UpdateHandler): () => void {
    this.#updateHandlers.add(handler);
    return () => this.#updateHandlers.delete(handler);
  }

  onDelete(handler: DeleteHandler): () => void {
    this.#deleteHandlers.add(handler);
    return () => this.#deleteHandlers.delete(handler);
  }

  /** Errors the informer recovers from (failed lists and watches, throwing handlers). */
  onError(handler: ErrorHandler): () => void {
    this.#errorHandlers.add(handler);
    return () => this.#errorHandlers.delete(handler);
  }

  /** Adds (or replaces) an index, built at once over the cached objects and kept up to date. */
  addIndex(name: string, fn: IndexFunction): void {
    const index: Index = { fn, entries: new Map() };
    this.#indexes.set(name, index);
    for (const [key, obj] of this.#cache) addToIndex(index, key, obj);
  }

  /** The cached objects an index maps `value` to; throws for an unknown index. */
  byIndex(name: string, value: string): KubeObject[] {
    const index = this.#indexes.get(name);
    if (!index) throw new Error(`informer has no index ${JSON.stringify(name)}`);
    return [...(index.entries.get(value) ?? [])].map((key) => this.#cache.get(key)!);
  }

  async #run(): Promise<void> {
    let needList = true;
    let backoffMs = this.#initialMs;
    const backOff = async () => {
      await this.#sleep(backoffMs, this.#abort.signal);
      backoffMs = Math.min(backoffMs * 2, this.#maxMs);
    };
    while (this.#running) {
      if (this.#paused) {
        await new Promise<void>((resolve) => { this.#wake = resolve; });
        this.#wake = undefined;
        continue;
      }
      try {
        if (needList) {
          await this.#relist();
          needList = false;
          this.#resolveSynced();
          if (!this.#running || this.#paused) continue;
        }
        const outcome = await this.#watchOnce(() => { backoffMs = this.#initialMs; });
        if (outcome === 'expired') {
          needList = true;
          continue;
        }
        if (outcome === 'ended') await backOff();
      } catch (err) {
        if (!this.#running) break;
        if (isExpired(err)) {
          needList = true;
          continue;
        }
        this.#report(err);
        await backOff();
      }
    }
  }

  /** Lists every page and folds the result into the cache as a diff. */
  async #relist(): Promise<void> {
    this.#lists++;
    const fresh = new Map<string, KubeObject>();
    let resourceVersion: string | undefined;
    let token: string | undefined;
    do {
      const page = await this.#client.list(this.#ref, this.#options.namespace, {
        labelSelector: this.#options.labelSelector,
        fieldSelector: this.#options.fieldSelector,
        limit: this.#options.pageSize ?? 500,
        continue: token,
      });
      if (!this.#running) return;
      // Watching from the first page's revision replays whatever changed during the later
      // pages; the replayed events that match the cache are dropped in #upsert.
      resourceVersion ??= page.resourceVersion;
      for (const item of page.items) fresh.set(keyOfObject(item), item);
      token = page.continue;
    } while (token);

    for (const [key, old] of [...this.#cache]) {
      if (fresh.has(key)) continue;
      this.#remove(key);
      this.#emit(this.#deleteHandlers, old);
    }
    for (const obj of fresh.values()) this.#upsert(obj);
    this.#resourceVersion = resourceVersion;
  }

  /**
   * One watch from the current resourceVersion, until it ends: 'expired' after a 410, 'ended'
   * when the stream closed cleanly, 'interrupted' on pause or stop. Rejects when the watch could
   * not open or broke with an error.
   */
  #watchOnce(onOpen: () => void): Promise<WatchOutcome> {
    this.#watches++;
    return new Promise<WatchOutcome>((resolve, reject) => {
      let settled = false;
      let watch: ClientWatch | undefined;
      let expired = false;
      let failure: Error | undefined;
      const settle = (outcome: WatchOutcome | Error) => {
        if (settled) return;
        settled = true;
        this.#interrupt = undefined;
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      this.#interrupt = () => {
        watch?.stop();
        settle('interrupted');
      };
      const onEvent = (event: ClientWatchEvent) => {
        if (settled) return;
        if (event.type === 'ERROR') {
          const status = event.object as unknown as { code?: number; reason?: string; message?: string };
          if (status.code === 410) expired = true;
          else failure = statusErrorFrom(status);
          return;
        }
        this.#apply(event);
      };
      const onEnd = (err?: Error) => {
        if (expired) settle('expired');
        else if (failure ?? err) settle((failure ?? err)!);
        else settle('ended');
      };
      this.#client.watch(this.#ref, this.#options.namespace, {
        resourceVersion: this.#resourceVersion,
        labelSelector: this.#options.labelSelector,
        fieldSelector: this.#options.fieldSelector,
        allowWatchBookmarks: true,
      }, onEvent, onEnd).then((opened) => {
        watch = opened;
        if (settled) opened.stop();
        else onOpen();
      }, (err: unknown) => settle(err instanceof Error ? err : new Error(String(err))));
    });
  }

  #apply(event: ClientWatchEvent): void {
    const obj = event.object;
    const rv = obj.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.#resourceVersion = rv;
      return;
    }
    if (event.type === 'DELETED') {
      const key = keyOfObject(obj);
      if (this.#cache.has(key)) {
        this.#remove(key);
        this.#emit(this.#deleteHandlers, obj);
      }
    } else {
      this.#upsert(obj);
    }
    if (rv) this.#resourceVersion = rv;
  }

  /** Stores an object; tells subscribers of an add, or of an update if its version changed. */
  #upsert(obj: KubeObject): void {
    const key = keyOfObject(obj);
    const old = this.#cache.get(key);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    // An update overwrites the entry in place and moves the key only between the index values
    // that changed (usually none): deleting and re-adding would leave holes that grow the tables.
    this.#cache.set(key, obj);
    for (const index of this.#indexes.values()) {
      if (old) reindex(index, key, old, obj);
      else addToIndex(index, key, obj);
    }
    if (old) {
      for (const handler of [...this.#updateHandlers]) this.#safely(() => handler(obj, old));
    } else {
      this.#emit(this.#addHandlers, obj);
    }
  }

  #remove(key: string): void {
    const old = this.#cache.get(key);
    if (!old) return;
    this.#cache.delete(key);
    for (const index of this.#indexes.values()) removeFromIndex(index, key, index.fn(old));
  }

  #emit(handlers: Set<(obj: KubeObject) => void>, obj: KubeObject): void {
    for (const handler of [...handlers]) this.#safely(() => handler(obj));
  }

  #safely(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.#report(err);
    }
  }

  #report(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    for (const handler of [...this.#errorHandlers]) {
      try {
        handler(error);
      } catch {
        // An error handler that throws has nobody left to tell.
      }
    }
  }
}

function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? flatKey([namespace, name], '/') : name;
}

function keyOfObject(obj: KubeObject): string {
  return keyOf(obj.metadata.namespace, obj.metadata.name ?? '');
}

function addToIndex(index: Index, key: string, obj: KubeObject, values = index.fn(obj)): void {
  for (const value of values) {
    let keys = index.entries.get(value);
    if (!keys) index.entries.set(value, (keys = new Set()));
    keys.add(key);
  }
}

function removeFromIndex(index: Index, key: string, values: string[]): void {
  for (const value of values) {
    const keys = index.entries.get(value);
    keys?.delete(key);
    if (keys?.size === 0) index.entries.delete(value);
  }
}

/** Moves `key` from the index values `old` had to those `obj` has, when they differ. */
function reindex(index: Index, key: string, old: KubeObject, obj: KubeObject): void {
  const before = index.fn(old);
  const after = index.fn(obj);
  if (before.length === after.length && before.every((value, i) => value === after[i])) return;
  removeFromIndex(index, key, before.filter((value) => !after.includes(value)));
  addToIndex(index, key, obj, after);
}

function isExpired(err: unknown): boolean {
  return err instanceof StatusError && err.code === 410;
}

function statusErrorFrom(status: { code?: number; reason?: string; message?: string }): StatusError {
  const reason = status.reason && status.reason in statusReasons ? status.reason as StatusReason : 'InternalError';
  return new StatusError(reason, status.message ?? `watch failed with code ${status.code ?? 'unknown'}`);
}

/** Which objects of a type a shared informer watches; all of them in every namespace when empty. */
export interface SharedInformerOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * SharedInformerFactory hands out one Informer per resource type and selection, so every
 * controller of a process that watches the same objects reads one cache and one watch instead of
 * keeping its own copy (as client-go's shared informer factory does). Handlers and indexes that
 * controllers add live on the shared informer: index names must mean the same thing to everyone.
 *
 * Users start the informers they need (`Informer.start` is idempotent) and must not stop them:
 * the factory's owner stops them all with `stop`. An informer handed out after `stop` is a fresh
 * one, not started.
 */
export class SharedInformerFactory {
  readonly #client: ObjectClient;
  readonly #defaults: Pick<InformerOptions, 'pageSize' | 'backoff' | 'sleep'>;
  readonly #informers = new Map<string, Informer>();

  constructor(client: ObjectClient, defaults: Pick<InformerOptions, 'pageSize' | 'backoff' | 'sleep'> = {}) {
    this.#client = client;
    this.#defaults = defaults;
  }

  /** The shared informer for `ref` and `options`, made on first use (not started). */
  informer(ref: ResourceRef, options: SharedInformerOptions = {}): Informer {
    const key = JSON.stringify([ref.group, ref.version, ref.plural, options.namespace ?? '', options.labelSelector ?? '', options.fieldSelector ?? '']);
    let informer = this.#informers.get(key);
    if (!informer) {
      informer = new Informer(this.#client, ref, {
        ...this.#defaults,
        ...(options.namespace ? { namespace: options.namespace } : {}),
        ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
        ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
      });
      this.#informers.set(key, informer);
    }
    return informer;
  }

  /** Every informer handed out so far. */
  get informers(): readonly Informer[] {
    return [...this.#informers.values()];
  }

  /** Starts every informer handed out so far; idempotent. */
  start(): void {
    for (const informer of this.#informers.values()) informer.start();
  }

  /** Stops every informer and forgets them. */
  async stop(): Promise<void> {
    const informers = [...this.#informers.values()];
    this.#informers.clear();
    await Promise.all(informers.map((informer) => informer.stop()));
  }
}
