/**
 * Cluster time for simulations. A ScaledScheduler runs `speed` times faster than real time: with
 * speed 3600 an hour of cluster time passes each real second, and a timer set for ten cluster
 * minutes fires after a sixth of a real second. It implements the controller runtime's Scheduler
 * (clock plus timers), so every controller, the kubelet model and the API server's timestamps
 * read the same time; speed 1 is real time.
 */
import { performance } from 'node:perf_hooks';
import { toKubeTime } from '../machinery/clock.ts';
import type { CancelTimer, Scheduler } from '../controller/index.ts';

export interface ScaledSchedulerOptions {
  /** Cluster seconds per real second; at least 1e-3. Default 1. */
  speed?: number;
  /** Cluster time (ms since the epoch) at the moment of construction. Default: the real time. */
  start?: number;
}

/** Node's timers cannot wait longer than about 24.8 days; longer waits are chained. */
const maxTimerMs = 2 ** 31 - 1;

export class ScaledScheduler implements Scheduler {
  readonly speed: number;
  readonly #startCluster: number;
  readonly #startReal: number;

  constructor(options: ScaledSchedulerOptions = {}) {
    const speed = options.speed ?? 1;
    if (!Number.isFinite(speed) || speed < 1e-3) throw new Error(`simulation speed must be a number of at least 0.001 (cluster seconds per real second), not ${options.speed}`);
    this.speed = speed;
    this.#startCluster = options.start ?? Date.now();
    this.#startReal = performance.now();
  }

  now(): number {
    return Math.floor(this.#startCluster + (performance.now() - this.#startReal) * this.speed);
  }

  nowIso(): string {
    return toKubeTime(this.now());
  }

  /** Real milliseconds that `clusterMs` of cluster time take. */
  toRealMs(clusterMs: number): number {
    return clusterMs / this.speed;
  }

  after(ms: number, fn: () => unknown): CancelTimer {
    const due = this.now() + Math.max(0, ms);
    let timer: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = (): void => {
      const wait = Math.max(0, (due - this.now()) / this.speed);
      timer = setTimeout(() => {
        if (cancelled) return;
        // A chained long wait, or a timer that fired a little early in cluster time: wait on.
        if (this.now() < due && wait > 0) return arm();
        fn();
      }, Math.min(wait, maxTimerMs));
      timer.unref?.();
    };
    arm();
    return () => {
      cancelled = true;
      if (timer) clearTimeout(timer);
    };
  }
}
