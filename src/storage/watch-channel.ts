/**
 * WatchChannel is the delivery half of a watch, shared by every backend: the backend pushes events
 * in revision order, the channel hands them to the handlers one at a time, asynchronously, never
 * from inside the writer's call. When `onEvent` returns a promise the next event waits for it, so
 * a slow handler delays its own watch but never reorders it nor blocks writers or other watches.
 */
import type { Watch, WatchEvent, WatchHandlers } from './store.ts';

/** How many undelivered events a watch may hold before it is ended as too slow. */
export const defaultMaxPendingEvents = 100_000;

export interface WatchChannelOptions {
  handlers: WatchHandlers;
  /** Push a BOOKMARK about this often; undefined or 0 means never. */
  bookmarkIntervalMs?: number;
  /**
   * The revision a bookmark may promise right now: every change up to it has already been pushed
   * (or never concerned this watch). Called when a bookmark is due.
   */
  bookmarkRevision: () => number;
  /** Releases the backend's side (subscription, etcd watcher). Called once, however the watch ends. */
  onClose?: () => void;
  maxPendingEvents?: number;
}

export class WatchChannel implements Watch {
  readonly #handlers: WatchHandlers;
  readonly #bookmarkRevision: () => number;
  readonly #maxPending: number;
  #onClose: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Undelivered events from #head on; delivered slots are cleared and trimmed in bulk. */
  #queue: (WatchEvent | undefined)[] = [];
  #head = 0;
  #draining = false;
  /** No more pushes are accepted (stopped, failed, or the handler threw). */
  #ended = false;
  /** Nothing more is delivered, not even the failure. */
  #silenced = false;
  #failure: Error | undefined;
  #lastRevision = 0;

  constructor(options: WatchChannelOptions) {
    this.#handlers = options.handlers;
    this.#bookmarkRevision = options.bookmarkRevision;
    this.#maxPending = options.maxPendingEvents ?? defaultMaxPendingEvents;
    this.#onClose = options.onClose;
    const interval = options.bookmarkIntervalMs ?? 0;
    if (interval > 0) {
      this.#timer = setInterval(() => this.#pushBookmark(), interval);
      // A forgotten watch must not keep the process alive on its own.
      this.#timer.unref();
    }
  }

  /** True once the watch takes no more events. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Queues one change for delivery. Ignored after the watch ended. */
  push(event: WatchEvent): void {
    if (this.#ended) return;
    if (this.#queue.length - this.#head >= this.#maxPending) {
      this.fail(new Error(`watch ended: its handler fell ${this.#maxPending} events behind`));
      return;
    }
    if (event.revision > this.#lastRevision) this.#lastRevision = event.revision;
    this.#queue.push(event);
    this.#schedule();
  }

  /**
   * Ends the watch for a reason other than `stop`: events already queued are still delivered,
   * then `onError` once. Idempotent; ignored after `stop`.
   */
  fail(err: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#failure = err;
    this.#release();
    this.#schedule();
  }

  stop(): void {
    this.#silenced = true;
    this.#queue = [];
    this.#head = 0;
    if (this.#ended) return;
    this.#ended = true;
    this.#release();
  }

  #release(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    const onClose = this.#onClose;
    this.#onClose = undefined;
    onClose?.();
  }

  #pushBookmark(): void {
    if (this.#ended) return;
    const revision = Math.max(this.#bookmarkRevision(), this.#lastRevision);
    this.#lastRevision = revision;
    // A bookmark still waiting behind a slow handler is refreshed instead of queueing another.
    const tail = this.#queue.length > this.#head ? this.#queue[this.#queue.length - 1] : undefined;
    if (tail?.type === 'BOOKMARK') {
      tail.revision = revision;
      return;
    }
    this.#queue.push({ type: 'BOOKMARK', revision });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#draining) return;
    this.#draining = true;
    queueMicrotask(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    while (!this.#silenced && this.#head < this.#queue.length) {
      const event = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined;
      if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      try {
        const result: unknown = this.#handlers.onEvent(event);
        if (isPromiseLike(result)) await result;
      } catch (err) {
        // The handler's state is now unknown: drop what is queued and tell it why it stops.
        this.#queue = [];
        this.#head = 0;
        this.#ended = true;
        this.#failure = err instanceof Error ? err : new Error(String(err));
        this.#release();
      }
    }
    const failure = this.#failure;
    if (!this.#silenced && failure !== undefined) {
      this.#silenced = true;
      try {
        this.#handlers.onError?.(failure);
      } catch (err) {
        // Nothing is left to report to; surface it like an error thrown from any callback.
        process.nextTick(() => {
          throw err;
        });
      }
    }
    this.#draining = false;
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
