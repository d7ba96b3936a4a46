/**
 * Live collections: one list + watch per API path, shared by every view that shows it, folded
 * into state by the reducer. Events are applied once per animation frame in a batch, so a burst
 * of a thousand changes costs one render. A watch that ends is resumed from the last
 * resourceVersion; a 410 (history compacted) or any failure re-lists after a back-off of 1 s
 * doubling to 30 s. A collection no view shows is stopped a second later: browsers allow six
 * HTTP/1.1 connections to a host, and each open watch holds one.
 */
import { useSyncExternalStore } from 'react';
import { ApiClient, ApiError } from '../api/client.ts';
import { collectionReducer, emptyCollection, type CollectionState, type WatchEvent, type WatchedObject } from './reducer.ts';

/** A collection's state plus the last error (cleared by the next successful list). */
export interface LiveState<T extends WatchedObject = WatchedObject> extends CollectionState<T> {
  error?: string;
}

class LiveCollection {
  state: LiveState = emptyCollection();
  readonly #listeners = new Set<() => void>();
  readonly #client: ApiClient;
  readonly #path: string;
  readonly #abort = new AbortController();
  readonly #onIdle: () => void;
  #pending: WatchEvent[] = [];
  #frame = false;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(client: ApiClient, path: string, onIdle: () => void) {
    this.#client = client;
    this.#path = path;
    this.#onIdle = onIdle;
    void this.#run();
    this.#scheduleIdle();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    clearTimeout(this.#idleTimer);
    return () => {
      this.#listeners.delete(listener);
      this.#scheduleIdle();
    };
  };

  #scheduleIdle(): void {
    clearTimeout(this.#idleTimer);
    if (this.#listeners.size > 0) return;
    this.#idleTimer = setTimeout(() => {
      if (this.#listeners.size > 0) return;
      this.stop();
      this.#onIdle();
    }, 1000);
  }

  get stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  stop(): void {
    clearTimeout(this.#idleTimer);
    this.#abort.abort();
  }

  #set(next: LiveState): void {
    if (next === this.state) return;
    this.state = next;
    for (const l of this.#listeners) l();
  }

  #queue = (events: WatchEvent[]): void => {
    this.#pending.push(...events);
    if (this.#frame) return;
    this.#frame = true;
    const flush = () => {
      this.#frame = false;
      const batch = this.#pending;
      this.#pending = [];
      this.#set({ ...collectionReducer(this.state, { type: 'events', events: batch }), ...(this.state.error ? { error: this.state.error } : {}) });
    };
    // Hidden tabs get no animation frames; a timer keeps the state current there too.
    if (typeof document !== 'undefined' && document.visibilityState === 'visible') requestAnimationFrame(flush);
    else setTimeout(flush, 50);
  };

  async #run(): Promise<void> {
    let delay = 1000;
    let needList = true;
    while (!this.#abort.signal.aborted) {
      try {
        if (needList) {
          const list = await this.#client.list(this.#path);
          this.#set(collectionReducer({ ...this.state, error: undefined } as LiveState, { type: 'listed', ...list }));
          needList = false;
        }
        await this.#client.watch(this.#path, this.state.resourceVersion, this.#queue, this.#abort.signal);
        delay = 1000;
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        const expired = err instanceof ApiError && err.code === 410;
        needList = true;
        if (!expired) {
          this.#set({ ...this.state, error: err instanceof Error ? err.message : String(err) });
          await new Promise((done) => setTimeout(done, delay));
          delay = Math.min(delay * 2, 30_000);
        }
      }
    }
  }
}

let current: { client: ApiClient; collections: Map<string, LiveCollection> } | undefined;

/** Points the live collections at `client` (after sign-in), dropping those of a previous one. */
export function setLiveClient(client: ApiClient | undefined): void {
  if (current?.client === client) return;
  for (const c of current?.collections.values() ?? []) c.stop();
  current = client ? { client, collections: new Map() } : undefined;
}

function collection(path: string): LiveCollection {
  if (!current) throw new Error('not signed in');
  const collections = current.collections;
  let c = collections.get(path);
  if (!c || c.stopped) {
    const created: LiveCollection = new LiveCollection(current.client, path, () => {
      if (collections.get(path) === created) collections.delete(path);
    });
    c = created;
    collections.set(path, c);
  }
  return c;
}

/** The live state of the collection at `path` (a list path of the hub's API). */
export function useLive<T extends WatchedObject = WatchedObject>(path: string): LiveState<T> {
  const c = collection(path);
  return useSyncExternalStore(c.subscribe, () => c.state) as LiveState<T>;
}

/** The signed-in client. */
export function currentClient(): ApiClient {
  if (!current) throw new Error('not signed in');
  return current.client;
}
