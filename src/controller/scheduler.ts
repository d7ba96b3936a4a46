/**
 * Scheduler is where the controller runtime gets time and timers from: the real one wraps
 * `Date.now` and `setTimeout`; ManualScheduler moves only when a test or simulation advances it,
 * so backoff, requeue delays and lease expiry are tested without sleeping.
 */
import { ManualClock, toKubeTime, type Clock } from '../machinery/clock.ts';

/** Cancels a timer; calling it after the timer fired, or twice, does nothing. */
export type CancelTimer = () => void;

export interface Scheduler extends Clock {
  /**
   * Calls `fn` once, `ms` from now. If `fn` returns a promise, a ManualScheduler waits for it
   * before firing later timers, so one `advance` settles the work the timers started.
   */
  after(ms: number, fn: () => unknown): CancelTimer;
}

export const realScheduler: Scheduler = {
  now: () => Date.now(),
  nowIso: () => toKubeTime(Date.now()),
  after(ms, fn) {
    const timer = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};

interface ManualTimer {
  due: number;
  seq: number;
  fn: () => unknown;
}

/** A scheduler on a manual clock: timers fire, in due order, only inside `advance`. */
export class ManualScheduler implements Scheduler {
  readonly clock: ManualClock;
  #timers = new Set<ManualTimer>();
  #seq = 0;

  constructor(clock: ManualClock = new ManualClock()) {
    this.clock = clock;
  }

  now(): number {
    return this.clock.now();
  }

  nowIso(): string {
    return this.clock.nowIso();
  }

  after(ms: number, fn: () => unknown): CancelTimer {
    const timer: ManualTimer = { due: this.now() + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves the clock forward by `ms`, firing every timer that falls due on the way (including
   * timers those timers set) at its own due time, and awaiting the promises they return.
   */
  async advance(ms: number): Promise<void> {
    const target = this.now() + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers) {
        if (t.due <= target && (!next || t.due < next.due || (t.due === next.due && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.#timers.delete(next);
      if (next.due > this.now()) this.clock.advance(next.due - this.now());
      await next.fn();
    }
    if (target > this.now()) this.clock.advance(target - this.now());
  }
}
