/**
 * LeaderElector makes one of several replicas the leader, through a coordination.k8s.io/v1
 * Lease, as client-go's leaderelection does. Every `retryPeriodMs` a candidate reads the Lease
 * and writes itself in as holder when the Lease is absent, released (no holder), expired
 * (renewTime + leaseDurationSeconds before now) or already its own. Writes are compare-and-swap
 * on resourceVersion, so when two candidates race, exactly one write lands (the other gets a
 * 409 Conflict or AlreadyExists and stays a follower).
 *
 * A leader that cannot renew for `renewDeadlineMs` steps down; since that is shorter than the
 * lease duration, it stops acting before anyone else may take over. `stop()` releases the Lease
 * so a successor takes over at once.
 */
import type { ObjectClient, ResourceRef } from '../client/client.ts';
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import { realScheduler, type CancelTimer, type Scheduler } from './scheduler.ts';
import { stderrLog, type ControllerLog } from './controller.ts';

export const leaseResource: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true };

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface LeaderElectorOptions {
  client: ObjectClient;
  namespace: string;
  name: string;
  /** Unique among the candidates (host name plus a random suffix, say). */
  identity: string;
  /** How long a lease holds without renewal. Written whole seconds, rounded up. Default 15 s. */
  leaseDurationMs?: number;
  /** How long a leader keeps leading while renewals fail. Default 10 s. */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  scheduler?: Scheduler;
  onStartedLeading?: () => void | Promise<void>;
  onStoppedLeading?: () => void | Promise<void>;
  log?: ControllerLog;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds (`2026-01-01T00:00:00.123000Z`). */
export function toMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

type Attempt = 'held' | 'taken' | 'failed';

export class LeaderElector {
  readonly identity: string;
  readonly #client: ObjectClient;
  readonly #namespace: string;
  readonly #name: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #scheduler: Scheduler;
  readonly #options: LeaderElectorOptions;
  readonly #log: ControllerLog;
  #running = false;
  #leading = false;
  #lastRenew = 0;
  #timer: CancelTimer | undefined;
  #inflight: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.#options = options;
    this.#client = options.client;
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.identity = options.identity;
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.#scheduler = options.scheduler ?? realScheduler;
    this.#log = options.log ?? stderrLog;
    if (!(this.#leaseDurationMs > this.#renewDeadlineMs && this.#renewDeadlineMs > this.#retryPeriodMs && this.#retryPeriodMs > 0)) {
      throw new Error('leader election needs leaseDurationMs > renewDeadlineMs > retryPeriodMs > 0');
    }
  }

  /** True while this candidate holds the lease (as far as its last renewal knows). */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** Starts contending; resolves once the first attempt (run at once) is done. Idempotent. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.#tick();
  }

  /** Stops contending; a leader releases the lease (clears the holder) and steps down. */
  async stop(): Promise<void> {
    const wasRunning = await this.#halt();
    if (!wasRunning && !this.#leading) return;
    try {
      await this.#release();
    } catch (err) {
      this.#log('error', 'leader election: could not release the lease', { lease: this.#leaseName(), identity: this.identity, error: String(err) });
    }
    if (this.#leading) await this.#stepDown();
  }

  /**
   * Stops contending without touching the lease, as a process that dies would: the others take
   * over only once the lease expires. For tests and failure simulations.
   */
  async abandon(): Promise<void> {
    await this.#halt();
    if (this.#leading) await this.#stepDown();
  }

  /** Stops the loop and waits out an attempt in flight; says whether the loop was running. */
  async #halt(): Promise<boolean> {
    const wasRunning = this.#running;
    this.#running = false;
    this.#timer?.();
    this.#timer = undefined;
    await this.#inflight;
    return wasRunning;
  }

  /** One attempt, then the next one scheduled; returns the attempt so a manual scheduler can await it. */
  #tick(): Promise<void> {
    this.#timer = undefined;
    const attempt = this.#attempt().finally(() => {
      if (this.#inflight === attempt) this.#inflight = undefined;
      if (this.#running) this.#timer = this.#scheduler.after(this.#retryPeriodMs, () => this.#tick());
    });
    this.#inflight = attempt;
    return attempt;
  }

  async #attempt(): Promise<void> {
    let outcome: Attempt;
    try {
      outcome = await this.#tryAcquireOrRenew();
    } catch (err) {
      this.#log('error', 'leader election: lease read or write failed', { lease: this.#leaseName(), identity: this.identity, error: String(err) });
      outcome = 'failed';
    }
    // Stopped while the write was in flight: stop() releases a lease this attempt took.
    if (!this.#running) return;
    const now = this.#scheduler.now();
    if (outcome === 'taken') {
      this.#lastRenew = now;
      if (!this.#leading) {
        this.#leading = true;
        this.#log('info', 'leader election: started leading', { lease: this.#leaseName(), identity: this.identity });
        this.#notify(this.#options.onStartedLeading);
      }
    } else if (this.#leading && (outcome === 'held' || now - this.#lastRenew >= this.#renewDeadlineMs)) {
      await this.#stepDown();
    }
  }

  async #stepDown(): Promise<void> {
    this.#leading = false;
    this.#log('info', 'leader election: stopped leading', { lease: this.#leaseName(), identity: this.identity });
    this.#notify(this.#options.onStoppedLeading);
  }

  /** Runs a callback without letting it block or break the renew loop. */
  #notify(callback: (() => void | Promise<void>) | undefined): void {
    if (!callback) return;
    Promise.resolve()
      .then(callback)
      .catch((err) => this.#log('error', 'leader election: callback failed', { identity: this.identity, error: String(err) }));
  }

  async #tryAcquireOrRenew(): Promise<Attempt> {
    const now = this.#scheduler.now();
    let lease: KubeObject;
    try {
      lease = await this.#client.get(leaseResource, this.#namespace, this.#name);
    } catch (err) {
      if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
      try {
        await this.#client.create(leaseResource, this.#namespace, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { namespace: this.#namespace, name: this.#name },
          spec: { ...this.#spec(now, {}, true), leaseTransitions: 0 },
        });
        return 'taken';
      } catch (createErr) {
        if (createErr instanceof StatusError && createErr.reason === 'AlreadyExists') return 'failed';
        throw createErr;
      }
    }
    const spec = (lease.spec ?? {}) as LeaseSpec;
    const ours = spec.holderIdentity === this.identity;
    if (spec.holderIdentity && !ours && !leaseExpired(spec, now)) return 'held';
    // A lease we hold is ours only while we think we lead; after stepping down, take it afresh.
    const renewing = ours && this.#leading;
    const next: KubeObject = { ...lease, spec: this.#spec(now, spec, !renewing) };
    try {
      await this.#client.update(leaseResource, this.#namespace, next);
      return 'taken';
    } catch (err) {
      if (err instanceof StatusError && err.code === 409) return 'failed';
      throw err;
    }
  }

  #spec(now: number, old: LeaseSpec, acquiring: boolean): LeaseSpec {
    const time = toMicroTime(now);
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.#leaseDurationMs / 1000)),
      acquireTime: acquiring ? time : (old.acquireTime ?? time),
      renewTime: time,
      leaseTransitions: (old.leaseTransitions ?? 0) + (acquiring ? 1 : 0),
    };
  }

  /** Clears the holder if it is us; a lease someone else holds (or none) is left alone. */
  async #release(): Promise<void> {
    let lease: KubeObject;
    try {
      lease = await this.#client.get(leaseResource, this.#namespace, this.#name);
    } catch (err) {
      if (err instanceof StatusError && err.reason === 'NotFound') return;
      throw err;
    }
    const spec = (lease.spec ?? {}) as LeaseSpec;
    if (spec.holderIdentity !== this.identity) return;
    const { holderIdentity: _released, ...rest } = spec;
    await this.#client.update(leaseResource, this.#namespace, {
      ...lease,
      spec: { ...rest, leaseDurationSeconds: 1, renewTime: toMicroTime(this.#scheduler.now()) },
    });
  }

  #leaseName(): string {
    return `${this.#namespace}/${this.#name}`;
  }
}

/** True when nobody renewed the lease within its duration. A lease without times is expired. */
export function leaseExpired(spec: LeaseSpec, now: number): boolean {
  const renewed = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
  if (Number.isNaN(renewed)) return true;
  return renewed + (spec.leaseDurationSeconds ?? 0) * 1000 < now;
}
