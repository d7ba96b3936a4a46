/**
 * MemoryStore keeps everything in process memory: for tests, simulations and a hub that need not
 * survive a restart. It honours the whole Store contract, including watch replay from a bounded
 * history of recent changes, so code tested against it behaves the same on sqlite and etcd.
 *
 * Objects are kept deep-frozen and hash-consed (see JsonInterner): equal parts of different
 * objects, and of successive versions of one object, are one shared copy. A simulated cluster's
 * pods, mostly alike, cost little more than what makes each one different. As on the other
 * backends, values are JSON: properties set to undefined are not kept.
 */
import type { KubeObject } from '../machinery/object.ts';
import { copyJson, JsonInterner } from './interner.ts';
import { decodeContinue, encodeContinue } from './continue-token.ts';
import { checkRevision, storeClosedError, storeErrors } from './store-errors.ts';
import type { DeleteOptions, ListOptions, ListResult, Store, Watch, WatchHandlers, WatchOptions } from './store.ts';
import { WatchChannel } from './watch-channel.ts';
import { copyEvent, WatchFanout, type StoredEvent } from './watch-fanout.ts';

export interface MemoryStoreOptions {
  /** How many recent changes stay available for watch replay; older ones are Expired. Default 10,000. */
  historyLimit?: number;
}

/** Replaces the resourceVersion in a shallow copy of `obj`; the input is left alone. */
function withRevision(obj: KubeObject, revision: number): KubeObject {
  const meta = typeof obj.metadata === 'object' && obj.metadata !== null ? obj.metadata : {};
  return { ...obj, metadata: { ...meta, resourceVersion: String(revision) } };
}

export const defaultHistoryLimit = 10_000;

/** The revision a stored object was written at (`withRevision` stamped it). */
function revisionOf(object: KubeObject): number {
  return Number(object.metadata.resourceVersion);
}

export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStore(options);
}

export class MemoryStore implements Store {
  readonly backend = 'memory';
  readonly #historyLimit: number;
  /**
   * Objects by key, deep-frozen and stamped with their revision: shared with predicates, copied
   * for callers. The object itself is the value (its revision is in it), not a record around
   * it: at 20,000 pods and their Events a record each would be 2 MiB.
   */
  readonly #entries = new Map<string, KubeObject>();
  /**
   * Every key, sorted, so list walks a prefix in order and resumes after a key by binary search.
   * These are the keys as first written, and events about an object carry the same string.
   */
  readonly #keys: string[] = [];
  #revision = 0;
  /** Recent changes in revision order, from #historyStart on; one per revision, no gaps. */
  #history: (StoredEvent | undefined)[] = [];
  #historyStart = 0;
  /** The oldest revision a replay can begin at; a watch from below `#oldest - 1` is Expired. */
  #oldest = 1;
  readonly #fanout = new WatchFanout();
  readonly #interner = new JsonInterner();
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    const limit = options.historyLimit ?? defaultHistoryLimit;
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`historyLimit must be a non-negative integer, got ${limit}`);
    this.#historyLimit = limit;
  }

  /** The key string an existing object was first written with (found by binary search). */
  #storedKey(key: string): string {
    return this.#keys[lowerBound(this.#keys, key)]!;
  }

  async get(key: string): Promise<KubeObject | undefined> {
    this.#assertOpen();
    const object = this.#entries.get(key);
    return object && copyJson(object);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.#assertOpen();
    const limit = options.limit ?? 0;
    checkRevision('limit', limit);
    let revision = this.#revision;
    let index = lowerBound(this.#keys, prefix);
    if (options.continue !== undefined) {
      const position = decodeContinue(options.continue, prefix);
      if (position.revision < this.#oldest - 1) throw storeErrors.staleContinue();
      // Later pages read the current state but report the first page's revision: a watch from it
      // replays every change since, including those to keys the earlier pages already returned.
      revision = position.revision;
      index = lowerBound(this.#keys, position.key);
      if (this.#keys[index] === position.key) index++;
    }
    const items: KubeObject[] = [];
    let lastKey: string | undefined;
    let more = false;
    for (; index < this.#keys.length; index++) {
      const key = this.#keys[index]!;
      if (!key.startsWith(prefix)) break;
      const object = this.#entries.get(key)!;
      if (options.predicate && !options.predicate(object)) continue;
      if (limit > 0 && items.length === limit) {
        more = true;
        break;
      }
      items.push(copyJson(object));
      lastKey = key;
    }
    const result: ListResult = { items, revision };
    if (more && lastKey !== undefined) result.continue = encodeContinue({ key: lastKey, revision });
    return result;
  }

  async create(key: string, obj: KubeObject): Promise<KubeObject> {
    this.#assertOpen();
    if (this.#entries.has(key)) throw storeErrors.alreadyExists(key);
    const revision = this.#revision + 1;
    const object = this.#interner.intern(withRevision(obj, revision));
    this.#entries.set(key, object);
    this.#keys.splice(lowerBound(this.#keys, key), 0, key);
    this.#commit({ type: 'ADDED', key, revision, object });
    return copyJson(object);
  }

  async update(key: string, obj: KubeObject, expectedRevision?: number): Promise<KubeObject> {
    this.#assertOpen();
    checkRevision('expectedRevision', expectedRevision);
    const current = this.#entries.get(key);
    if (!current) throw storeErrors.notFound(key);
    if (expectedRevision !== undefined && revisionOf(current) !== expectedRevision) throw storeErrors.modified(key);
    const revision = this.#revision + 1;
    const object = this.#interner.intern(withRevision(obj, revision));
    const stored = this.#storedKey(key);
    this.#entries.set(stored, object);
    this.#commit({ type: 'MODIFIED', key: stored, revision, object, previous: current });
    return copyJson(object);
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<KubeObject> {
    this.#assertOpen();
    checkRevision('expectedRevision', options.expectedRevision);
    const current = this.#entries.get(key);
    if (!current) throw storeErrors.notFound(key);
    if (options.expectedRevision !== undefined && revisionOf(current) !== options.expectedRevision) {
      throw storeErrors.revisionPrecondition(key, options.expectedRevision, revisionOf(current));
    }
    if (options.expectedUid !== undefined && current.metadata.uid !== options.expectedUid) {
      throw storeErrors.uidPrecondition(key, options.expectedUid, current.metadata.uid);
    }
    const revision = this.#revision + 1;
    const object = this.#interner.intern(withRevision(current, revision));
    const at = lowerBound(this.#keys, key);
    const stored = this.#keys[at]!;
    this.#entries.delete(key);
    this.#keys.splice(at, 1);
    this.#commit({ type: 'DELETED', key: stored, revision, object, previous: current });
    return copyJson(object);
  }

  async watch(prefix: string, options: WatchOptions, handlers: WatchHandlers): Promise<Watch> {
    this.#assertOpen();
    const from = options.fromRevision ?? 0;
    checkRevision('fromRevision', from);
    if (from > 0 && from < this.#oldest - 1) throw storeErrors.tooOld(from, this.#oldest - 1);
    const channel = new WatchChannel({
      handlers,
      bookmarkIntervalMs: options.bookmarkIntervalMs,
      bookmarkRevision: () => this.#revision,
      onClose: () => this.#fanout.unsubscribe(channel),
    });
    // Replay and subscription happen in one synchronous step, so no write can fall between them.
    if (from > 0) {
      for (let i = this.#firstEventAfter(from); i < this.#history.length; i++) {
        const event = this.#history[i]!;
        if (event.key.startsWith(prefix)) channel.push(options.readOnly ? event : copyEvent(event));
      }
    }
    this.#fanout.subscribe(channel, prefix, from > 0 ? from : this.#revision, options.readOnly === true);
    return channel;
  }

  async currentRevision(): Promise<number> {
    this.#assertOpen();
    return this.#revision;
  }

  async compact(revision: number): Promise<void> {
    this.#assertOpen();
    checkRevision('revision', revision);
    if (revision > this.#revision) throw storeErrors.futureCompaction(revision, this.#revision);
    this.#dropHistoryBefore(revision);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#fanout.failAll(storeClosedError(this.backend));
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosedError(this.backend);
  }

  #commit(event: StoredEvent): void {
    this.#revision = event.revision;
    this.#history.push(event);
    const excess = this.#history.length - this.#historyStart - this.#historyLimit;
    if (excess > 0) this.#dropHistoryBefore(this.#history[this.#historyStart + excess - 1]!.revision + 1);
    this.#fanout.publish(event);
  }

  /** Forgets the changes with a revision below `revision`. */
  #dropHistoryBefore(revision: number): void {
    if (revision <= this.#oldest) return;
    const end = this.#firstEventAfter(revision - 1);
    for (let i = this.#historyStart; i < end; i++) this.#history[i] = undefined;
    this.#historyStart = end;
    this.#oldest = revision;
    // Trim the array in bulk rather than shifting it on every write.
    if (this.#historyStart >= 4096 && this.#historyStart * 2 >= this.#history.length) {
      this.#history = this.#history.slice(this.#historyStart);
      this.#historyStart = 0;
    }
  }

  /** The index in #history of the first retained change with a revision above `revision`. */
  #firstEventAfter(revision: number): number {
    let low = this.#historyStart;
    let high = this.#history.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#history[mid]!.revision <= revision) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/** The index of the first element of sorted `keys` that is not below `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (keys[mid]! < key) low = mid + 1;
    else high = mid;
  }
  return low;
}
