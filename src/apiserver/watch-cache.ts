/**
 * WatchCache serves API watches from one store watch over all of `/registry/`, as
 * kube-apiserver's watch cache does: the store sends each change once (on etcd, once over the
 * network instead of once per client), the cache keeps the most recent changes in a ring for
 * replays, and each change is handed to every interested watcher as the same object.
 *
 * Events handed out are shared between watchers and must be treated as read-only.
 * A watch from a revision older than the cache holds is passed to the store itself, which replays
 * from its own history or answers Expired; so the cache never makes a watch fail that the store
 * would have served.
 */
import type { KubeObject } from '../machinery/object.ts';
import type { Store, Watch, WatchEvent, WatchHandlers } from '../storage/store.ts';

interface Subscriber {
  prefix: string;
  /** Only events after this revision are delivered. */
  after: number;
  handlers: WatchHandlers;
  timer: NodeJS.Timeout | undefined;
}

export interface WatchCacheOptions {
  /** How many recent changes are kept for replay. */
  capacity?: number;
  /**
   * Keep the newest state of every key changed since the cache started, not only of the keys
   * changed within the ring, so that `objectAt` answers for them too: for a store where each read
   * is a network round trip (etcd), an update then needs no read before its compare-and-swap, as
   * with kube-apiserver's watch cache. It costs one object in memory per live key; a store read
   * in process (SQLite) is cheaper than the heap that would add.
   */
  everyKey?: boolean;
}

/** The newest change of one key: enough for `objectAt`, without the previous state a change carries. */
interface Latest {
  revision: number;
  object: KubeObject | undefined;
}

export class WatchCache {
  readonly #store: Store;
  readonly #capacity: number;
  readonly #everyKey: boolean;
  readonly #ring: WatchEvent[] = [];
  #ringStart = 0;
  readonly #subscribers = new Set<Subscriber>();
  /** The subscriber behind each watch this cache handed out (not those it passed to the store). */
  readonly #handles = new WeakMap<Watch, Subscriber>();
  /** The newest change of each key still in the ring, or of every live key (see `everyKey` and `objectAt`). */
  readonly #byKey = new Map<string, Latest>();
  #upstream: Watch | undefined;
  /** The revision the cache started from: every change after it has been seen. */
  #origin = 0;
  /** The newest revision delivered to subscribers. */
  #latest = 0;
  /** The change being handed to subscribers right now, if any (see `position`). */
  #publishing: WatchEvent | undefined;
  #stopped = false;

  constructor(store: Store, options: WatchCacheOptions = {}) {
    this.#store = store;
    this.#capacity = options.capacity ?? 10_000;
    this.#everyKey = options.everyKey ?? false;
  }

  async start(): Promise<void> {
    const revision = await this.#store.currentRevision();
    this.#origin = revision;
    this.#latest = revision;
    this.#ring.length = 0;
    this.#ringStart = 0;
    this.#byKey.clear();
    this.#upstream = await this.#store.watch('/registry/', { fromRevision: revision, bookmarkIntervalMs: 1000, readOnly: true }, {
      onEvent: (event) => this.#publish(event),
      onError: (err) => this.#restart(err),
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#upstream?.stop();
    for (const sub of this.#subscribers) clearInterval(sub.timer);
    this.#subscribers.clear();
  }

  /**
   * Forgets cached changes up to and including `revision`, as a store compaction does; a watch
   * from before it then goes to the store (and gets Expired if the store forgot it too).
   */
  compact(revision: number): void {
    while (this.#ringStart < this.#ring.length && this.#ring[this.#ringStart]!.revision <= revision) this.#dropOldest();
    this.#origin = Math.max(this.#origin, Math.min(revision, this.#latest));
  }

  /**
   * The object stored under `key` at `revision`, when the change that wrote it is the newest
   * change of that key the cache holds; undefined otherwise (ask the store). An object at a given
   * revision never changes, so this is exact even while the cache lags the store: a write based
   * on it that is no longer current fails its compare-and-swap. Shared and read-only.
   */
  objectAt(key: string, revision: number): KubeObject | undefined {
    const latest = this.#byKey.get(key);
    return latest !== undefined && latest.revision === revision ? latest.object : undefined;
  }

  #dropOldest(): void {
    const dropped = this.#ring[this.#ringStart++]!;
    if (this.#everyKey) return;
    if (this.#byKey.get(dropped.key!)?.revision === dropped.revision) this.#byKey.delete(dropped.key!);
  }

  /** Number of watches served from the cache right now. */
  get size(): number {
    return this.#subscribers.size;
  }

  /**
   * Watches keys under `prefix` for changes after `fromRevision` (undefined or 0: from now).
   * Same contract as Store.watch, except that events are shared and read-only.
   */
  async watch(prefix: string, fromRevision: number | undefined, bookmarkIntervalMs: number | undefined, handlers: WatchHandlers): Promise<Watch> {
    const from = fromRevision && fromRevision > 0 ? fromRevision : this.#latest;
    if (this.#stopped || !this.#upstream || from < this.#oldestReplayable()) {
      return this.#store.watch(prefix, { fromRevision: from, bookmarkIntervalMs }, handlers);
    }
    const sub: Subscriber = { prefix, after: from, handlers, timer: undefined };
    // Replay and subscribe in one synchronous step, so no change falls between them.
    for (const event of this.#ringFrom(from)) {
      if (event.key!.startsWith(prefix)) this.#deliver(sub, event);
    }
    sub.after = Math.max(from, this.#latest);
    this.#subscribers.add(sub);
    if (bookmarkIntervalMs) {
      sub.timer = setInterval(() => {
        if (this.#latest >= sub.after) this.#deliver(sub, { type: 'BOOKMARK', revision: this.#latest });
      }, bookmarkIntervalMs);
      sub.timer.unref();
    }
    const handle: Watch = {
      stop: () => {
        clearInterval(sub.timer);
        this.#subscribers.delete(sub);
      },
    };
    this.#handles.set(handle, sub);
    return handle;
  }

  /**
   * Where a watch from this cache stands: every change under its prefix up to the returned
   * revision has been handed to it, and every later one will be, as it is published. Two watches
   * of one prefix at the same position get the same events from then on. Undefined for a watch
   * the cache passed to the store, or one that has ended.
   */
  position(watch: Watch): number | undefined {
    const sub = this.#handles.get(watch);
    if (!sub || !this.#subscribers.has(sub)) return undefined;
    // Asked from inside a handler while a change is being handed out: a subscriber it has not
    // reached yet stands just before it.
    const pending = this.#publishing;
    if (pending && pending.revision > sub.after && pending.key!.startsWith(sub.prefix)) return pending.revision - 1;
    // Otherwise a subscriber is caught up with everything published: `after` lags only over
    // changes outside its prefix, and is ahead only when it asked to start from a revision the
    // cache has not reached.
    return Math.max(sub.after, this.#latest);
  }

  /** The oldest `fromRevision` the cache can replay from. */
  #oldestReplayable(): number {
    const oldest = this.#ring[this.#ringStart];
    return oldest ? Math.max(this.#origin, oldest.revision - 1) : this.#origin;
  }

  *#ringFrom(from: number): Generator<WatchEvent> {
    for (let i = this.#ringStart; i < this.#ring.length; i++) {
      const event = this.#ring[i]!;
      if (event.revision > from) yield event;
    }
  }

  #publish(event: WatchEvent): void {
    if (event.type === 'BOOKMARK') {
      this.#latest = Math.max(this.#latest, event.revision);
      return;
    }
    this.#ring.push(event);
    // A deleted key is forgotten at once: no version of it is current any more.
    if (event.type === 'DELETED') this.#byKey.delete(event.key!);
    else this.#byKey.set(event.key!, { revision: event.revision, object: event.object });
    if (this.#ring.length - this.#ringStart > this.#capacity) {
      this.#dropOldest();
      // Compact the array now and then instead of shifting on every event.
      if (this.#ringStart > this.#capacity) {
        this.#ring.splice(0, this.#ringStart);
        this.#ringStart = 0;
      }
    }
    this.#latest = event.revision;
    this.#publishing = event;
    for (const sub of this.#subscribers) {
      if (event.revision > sub.after && event.key!.startsWith(sub.prefix)) this.#deliver(sub, event);
    }
    this.#publishing = undefined;
  }

  #deliver(sub: Subscriber, event: WatchEvent): void {
    try {
      // Moved first, so that a handler asking for its own position sees this change as delivered.
      if (event.type !== 'BOOKMARK') sub.after = event.revision;
      sub.handlers.onEvent(event);
    } catch (err) {
      clearInterval(sub.timer);
      this.#subscribers.delete(sub);
      sub.handlers.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** The store watch ended: every cached watch ends too (clients re-watch), and the cache restarts. */
  #restart(err: Error): void {
    this.#upstream = undefined;
    this.#byKey.clear();
    const subs = [...this.#subscribers];
    this.#subscribers.clear();
    for (const sub of subs) {
      clearInterval(sub.timer);
      sub.handlers.onError?.(err);
    }
    if (this.#stopped) return;
    const retry = (delay: number) => {
      const timer = setTimeout(() => {
        if (this.#stopped) return;
        this.start().catch(() => retry(Math.min(delay * 2, 30_000)));
      }, delay);
      timer.unref();
    };
    retry(500);
  }
}
