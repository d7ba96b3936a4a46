/**
 * WatchFanout hands each committed change to the in-process watches whose prefix covers its key.
 * It serves the backends whose writes all happen in this process (memory, sqlite): they publish
 * synchronously at commit, in revision order, so every watch sees a gap-free, ordered stream.
 */
import { cloneJson } from '../machinery/object.ts';
import type { WatchEvent } from './store.ts';
import type { WatchChannel } from './watch-channel.ts';

/** A change as a store records it; its objects belong to the store and are never handed out. */
export interface StoredEvent extends WatchEvent {
  key: string;
}

interface Subscription {
  prefix: string;
  /** Only changes with a higher revision are delivered (replay already covered the rest). */
  after: number;
  /** The receiver only reads events, so it may get the store's own event. */
  readOnly: boolean;
}

export class WatchFanout {
  readonly #subscriptions = new Map<WatchChannel, Subscription>();

  get size(): number {
    return this.#subscriptions.size;
  }

  subscribe(channel: WatchChannel, prefix: string, after: number, readOnly = false): void {
    this.#subscriptions.set(channel, { prefix, after, readOnly });
  }

  unsubscribe(channel: WatchChannel): void {
    this.#subscriptions.delete(channel);
  }

  publish(event: StoredEvent): void {
    for (const [channel, { prefix, after, readOnly }] of this.#subscriptions) {
      if (event.revision > after && event.key.startsWith(prefix)) channel.push(readOnly ? event : copyEvent(event));
    }
  }

  /** Ends every watch with `err` (the store is closing). */
  failAll(err: Error): void {
    const channels = [...this.#subscriptions.keys()];
    this.#subscriptions.clear();
    for (const channel of channels) channel.fail(err);
  }
}

/** A copy of a stored event that its receiver may change freely. */
export function copyEvent(event: StoredEvent): WatchEvent {
  const copy: WatchEvent = { type: event.type, revision: event.revision, key: event.key };
  if (event.object) copy.object = cloneJson(event.object);
  if (event.previous) copy.previous = cloneJson(event.previous);
  return copy;
}
