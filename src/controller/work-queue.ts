/**
 * WorkQueue hands keys to workers with the guarantees a level-based controller needs: a key
 * waiting is queued once however often it is added, and a key being processed is never handed
 * to a second worker; adding it meanwhile queues it again once `done` is called for it.
 * Delayed adds and per-key exponential backoff run on an injected Scheduler.
 */
import { realScheduler, type CancelTimer, type Scheduler } from './scheduler.ts';

export interface WorkQueueOptions {
  scheduler?: Scheduler;
  /** First backoff of `addRateLimited`; doubles with each failure. Default 5 ms. */
  baseDelayMs?: number;
  /** Ceiling of the backoff. Default 1000 s. */
  maxDelayMs?: number;
}

export class WorkQueue<K = string> {
  readonly #scheduler: Scheduler;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  /** Keys ready to hand out, in order. */
  #queue: K[] = [];
  /** Keys that need processing: queued, or added again while being processed. */
  #dirty = new Set<K>();
  #processing = new Set<K>();
  /** Delayed adds; a key keeps only its earliest one. */
  #delayed = new Map<K, { due: number; cancel: CancelTimer }>();
  #failures = new Map<K, number>();
  #waiters: Array<(key: K | undefined) => void> = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#scheduler = options.scheduler ?? realScheduler;
    this.#baseDelayMs = options.baseDelayMs ?? 5;
    this.#maxDelayMs = options.maxDelayMs ?? 1_000_000;
  }

  /** Queues `key` unless it is already waiting; ignored after `shutDown`. */
  add(key: K): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#queue.push(key);
    this.#dispatch();
  }

  /** Adds `key` after `ms`; an earlier pending delayed add of the same key wins. */
  addAfter(key: K, ms: number): void {
    if (this.#shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const due = this.#scheduler.now() + ms;
    const pending = this.#delayed.get(key);
    if (pending && pending.due <= due) return;
    pending?.cancel();
    const cancel = this.#scheduler.after(ms, () => {
      this.#delayed.delete(key);
      this.add(key);
    });
    this.#delayed.set(key, { due, cancel });
  }

  /** Adds `key` after its backoff: base, 2 x base, 4 x base ... up to the maximum. */
  addRateLimited(key: K): void {
    this.addAfter(key, this.backoffOf(key));
    this.#failures.set(key, (this.#failures.get(key) ?? 0) + 1);
  }

  /** The delay the next `addRateLimited(key)` will use. */
  backoffOf(key: K): number {
    const failures = this.#failures.get(key) ?? 0;
    return Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** failures);
  }

  /** How many rate-limited adds `key` has had since it was last forgotten. */
  numRequeues(key: K): number {
    return this.#failures.get(key) ?? 0;
  }

  /** Resets the backoff of `key` (after it was processed successfully). */
  forget(key: K): void {
    this.#failures.delete(key);
  }

  /**
   * Resolves with the next key, marking it as being processed until `done(key)`; resolves
   * with `undefined` once the queue is shut down.
   */
  get(): Promise<K | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shuttingDown) {
      this.#queue.push(key);
      this.#dispatch();
    }
  }

  /** Stops the queue: pending and delayed keys are dropped, waiting `get`s resolve `undefined`. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const { cancel } of this.#delayed.values()) cancel();
    this.#delayed.clear();
    this.#queue = [];
    this.#dirty.clear();
    for (const resolve of this.#waiters.splice(0)) resolve(undefined);
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Keys ready to be handed out (not counting delayed adds or keys being processed). */
  get length(): number {
    return this.#queue.length;
  }

  /** Keys waiting on a delay (`addAfter`, `addRateLimited`). */
  get delayedLength(): number {
    return this.#delayed.size;
  }

  #take(): K | undefined {
    if (this.#queue.length === 0) return undefined;
    const key = this.#queue.shift()!;
    this.#dirty.delete(key);
    this.#processing.add(key);
    return key;
  }

  #dispatch(): void {
    while (this.#waiters.length > 0 && this.#queue.length > 0) {
      this.#waiters.shift()!(this.#take());
    }
  }
}
