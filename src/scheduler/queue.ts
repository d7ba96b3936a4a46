/**
 * SchedulingQueue holds the pods waiting for a node, in three places as kube-scheduler's does:
 * activeQ (ready now; highest priority first, then first come), backoffQ (failed recently; each
 * pod waits 1 s, doubling per attempt up to 10 s, on the injected clock), and unschedulablePods
 * (no node fitted; they wait for a cluster event that could change that, or 5 minutes at most).
 * Backoff and the 5-minute flush are applied lazily whenever the queue is read, so a test moves
 * pods by advancing a ManualClock; `nextWakeAt` tells a run loop when to look again.
 */
import type { Clock } from '../machinery/clock.ts';
import type { PodInfo } from './pod-info.ts';

/** A pod in the queue with its scheduling history. */
export interface QueuedPod {
  info: PodInfo;
  /** When it last entered the queue (ms); activeQ's tie-break and backoff's start. */
  timestamp: number;
  /** When it first entered the queue. */
  initialTimestamp: number;
  /** Scheduling attempts so far. */
  attempts: number;
  /** Plugins that rejected it in its last attempt. */
  unschedulablePlugins: Set<string>;
  /** The node a preemption nominated it to, if any. */
  nominatedNodeName: string | undefined;
  /** Internal: arrival order and heap position. */
  seq: number;
  heapIndex: number;
  where: 'active' | 'backoff' | 'unschedulable' | 'inFlight';
}

/** The cluster events that may make unschedulable pods schedulable. */
export type ClusterEvent = 'NodeAdd' | 'NodeUpdate' | 'PodDelete' | 'PodUpdate' | 'AssignedPodAdd' | 'PdbChange' | 'Flush';

export interface SchedulingQueueOptions {
  clock: Clock;
  /** Backoff after the first failed attempt; default 1000 ms. */
  initialBackoffMs?: number;
  /** Backoff ceiling; default 10000 ms. */
  maxBackoffMs?: number;
  /** How long a pod may stay in unschedulablePods without an event; default 300000 ms (5 min). */
  unschedulableTimeoutMs?: number;
}

/** A binary heap whose items remember their index, so any item is removed in O(log n). */
class Heap {
  items: QueuedPod[] = [];
  readonly less: (a: QueuedPod, b: QueuedPod) => boolean;

  constructor(less: (a: QueuedPod, b: QueuedPod) => boolean) {
    this.less = less;
  }

  get size(): number {
    return this.items.length;
  }

  peek(): QueuedPod | undefined {
    return this.items[0];
  }

  push(item: QueuedPod): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.#up(item.heapIndex);
  }

  pop(): QueuedPod | undefined {
    const top = this.items[0];
    if (top) this.remove(top);
    return top;
  }

  remove(item: QueuedPod): void {
    const i = item.heapIndex;
    const last = this.items.pop()!;
    if (last !== item) {
      this.items[i] = last;
      last.heapIndex = i;
      this.#down(i);
      this.#up(last.heapIndex);
    }
    item.heapIndex = -1;
  }

  #swap(i: number, j: number): void {
    const a = this.items[i]!;
    const b = this.items[j]!;
    this.items[i] = b;
    this.items[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(this.items[i]!, this.items[parent]!)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n && this.less(this.items[l]!, this.items[best]!)) best = l;
      if (r < n && this.less(this.items[r]!, this.items[best]!)) best = r;
      if (best === i) return;
      this.#swap(i, best);
      i = best;
    }
  }
}

export class SchedulingQueue {
  readonly clock: Clock;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly unschedulableTimeoutMs: number;
  #active = new Heap((a, b) => a.info.priority > b.info.priority || (a.info.priority === b.info.priority && (a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.seq < b.seq))));
  #backoff = new Heap((a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  #unschedulable = new Map<string, QueuedPod>();
  #all = new Map<string, QueuedPod>();
  #seq = 0;
  /** Counts pops; a move request during a pod's attempt sends it to backoff rather than unschedulable. */
  #cycle = 0;
  #moveRequestCycle = -1;
  #attemptCycle = new Map<string, number>();
  #waiters: Array<() => void> = [];

  constructor(options: SchedulingQueueOptions) {
    this.clock = options.clock;
    this.initialBackoffMs = options.initialBackoffMs ?? 1_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.unschedulableTimeoutMs = options.unschedulableTimeoutMs ?? 300_000;
  }

  /** The backoff a pod with `attempts` failed attempts waits: 1 s, 2 s, 4 s, ... up to the ceiling. */
  backoffDuration(attempts: number): number {
    if (attempts <= 0) return 0;
    let d = this.initialBackoffMs;
    for (let i = 1; i < attempts && d < this.maxBackoffMs; i++) d *= 2;
    return Math.min(d, this.maxBackoffMs);
  }

  backoffExpiry(q: QueuedPod): number {
    return q.timestamp + this.backoffDuration(q.attempts);
  }

  /** Adds a new pending pod to activeQ; a pod already queued is updated instead. */
  add(info: PodInfo): void {
    const known = this.#all.get(info.key);
    if (known) {
      this.update(info);
      return;
    }
    const now = this.clock.now();
    const q: QueuedPod = { info, timestamp: now, initialTimestamp: now, attempts: 0, unschedulablePlugins: new Set(), nominatedNodeName: undefined, seq: this.#seq++, heapIndex: -1, where: 'active' };
    this.#all.set(info.key, q);
    this.#active.push(q);
    this.#wake();
  }

  /**
   * Replaces a queued pod's spec. An unschedulable pod whose spec changed may now fit, so it moves
   * to activeQ (or backoffQ while its backoff runs); a pod being scheduled keeps its place.
   */
  update(info: PodInfo): void {
    const q = this.#all.get(info.key);
    if (!q) {
      this.add(info);
      return;
    }
    const priorityChanged = q.info.priority !== info.priority;
    q.info = info;
    if (q.where === 'active' && priorityChanged) {
      this.#active.remove(q);
      this.#active.push(q);
    } else if (q.where === 'unschedulable') {
      this.#unschedulable.delete(info.key);
      this.#requeue(q, this.clock.now());
    }
  }

  /** Drops a pod (deleted, or bound by someone else). */
  delete(key: string): void {
    const q = this.#all.get(key);
    if (!q) return;
    this.#all.delete(key);
    this.#attemptCycle.delete(key);
    if (q.where === 'active') this.#active.remove(q);
    else if (q.where === 'backoff') this.#backoff.remove(q);
    else if (q.where === 'unschedulable') this.#unschedulable.delete(key);
  }

  #requeue(q: QueuedPod, now: number): void {
    if (this.backoffExpiry(q) > now) {
      q.where = 'backoff';
      this.#backoff.push(q);
    } else {
      q.where = 'active';
      this.#active.push(q);
      this.#wake();
    }
  }

  /** Moves pods whose backoff ended to activeQ and pods unschedulable for too long back in line. */
  flush(now = this.clock.now()): void {
    for (let head = this.#backoff.peek(); head && this.backoffExpiry(head) <= now; head = this.#backoff.peek()) {
      this.#backoff.pop();
      head.where = 'active';
      this.#active.push(head);
    }
    if (this.#unschedulable.size > 0) {
      for (const [key, q] of this.#unschedulable) {
        if (now - q.timestamp >= this.unschedulableTimeoutMs) {
          this.#unschedulable.delete(key);
          this.#requeue(q, now);
        }
      }
    }
    if (this.#active.size > 0) this.#wake();
  }

  /** The next pod to schedule, or undefined when none is ready. The pod stays known until done/requeued. */
  pop(): QueuedPod | undefined {
    this.flush();
    const q = this.#active.pop();
    if (!q) return undefined;
    q.where = 'inFlight';
    q.attempts++;
    this.#attemptCycle.set(q.info.key, ++this.#cycle);
    return q;
  }

  /** A pod left the queue for good (bound). */
  done(key: string): void {
    this.delete(key);
  }

  /**
   * Puts back a pod whose attempt failed. Unschedulable pods wait for an event, unless one already
   * came during the attempt; errors back off. Either way the backoff clock restarts now.
   */
  requeue(q: QueuedPod, reason: 'unschedulable' | 'error', plugins: Iterable<string> = []): void {
    if (!this.#all.has(q.info.key) || q.where !== 'inFlight') return;
    q.timestamp = this.clock.now();
    q.unschedulablePlugins = new Set(plugins);
    const attemptCycle = this.#attemptCycle.get(q.info.key) ?? 0;
    if (reason === 'error' || this.#moveRequestCycle >= attemptCycle) {
      q.where = 'backoff';
      this.#backoff.push(q);
    } else {
      q.where = 'unschedulable';
      this.#unschedulable.set(q.info.key, q);
    }
  }

  /**
   * A cluster event happened: unschedulable pods get another try (after their backoff). With
   * `only`, just the pods it picks move (a queueing hint); without, every one does, and pods being
   * scheduled right now will back off rather than wait, since the event may have come too late for them.
   */
  moveAllToActiveOrBackoff(_event: ClusterEvent, only?: (q: QueuedPod) => boolean): void {
    if (!only) this.#moveRequestCycle = this.#cycle;
    if (this.#unschedulable.size === 0) return;
    const now = this.clock.now();
    for (const [key, q] of this.#unschedulable) {
      if (only && !only(q)) continue;
      this.#unschedulable.delete(key);
      this.#requeue(q, now);
    }
  }

  /** The earliest time a waiting pod becomes ready (ms), or undefined when nothing waits on time. */
  nextWakeAt(): number | undefined {
    let at: number | undefined;
    const head = this.#backoff.peek();
    if (head) at = this.backoffExpiry(head);
    for (const q of this.#unschedulable.values()) {
      const t = q.timestamp + this.unschedulableTimeoutMs;
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  /** Resolves when a pod may be ready in activeQ (added, or moved by an event or flush). */
  whenActive(): Promise<void> {
    if (this.#active.size > 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  get(key: string): QueuedPod | undefined {
    return this.#all.get(key);
  }

  /** Counts per place, for tests and metrics. */
  stats(): { active: number; backoff: number; unschedulable: number; inFlight: number } {
    const active = this.#active.size;
    const backoff = this.#backoff.size;
    const unschedulable = this.#unschedulable.size;
    return { active, backoff, unschedulable, inFlight: this.#all.size - active - backoff - unschedulable };
  }

  get size(): number {
    return this.#all.size;
  }
}
