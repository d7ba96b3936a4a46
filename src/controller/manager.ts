/**
 * Manager starts and stops a set of controllers (and anything else with start/stop) together.
 * With leader election, the runnables that need it run only while this replica holds the
 * lease: they start when it starts leading and stop when it stops leading; the others (caches,
 * informers) run from `start` to `stop` regardless.
 */
import { LeaderElector, type LeaderElectorOptions } from './leader-election.ts';
import { stderrLog, type ControllerLog } from './controller.ts';

export interface Runnable {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

export interface ManagerOptions {
  /** Elect a leader on this Lease; without it every runnable runs from `start` to `stop`. */
  leaderElection?: Omit<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading' | 'log'>;
  log?: ControllerLog;
}

export interface AddOptions {
  /** Run only while leading (when the manager elects a leader). Default true. */
  needLeaderElection?: boolean;
}

export class Manager {
  readonly elector: LeaderElector | undefined;
  readonly #always: Runnable[] = [];
  readonly #leaderOnly: Runnable[] = [];
  readonly #log: ControllerLog;
  #started = false;
  #leaderRunning = false;
  /** Starts and stops happen one after another, in the order they were asked for. */
  #chain: Promise<void> = Promise.resolve();

  constructor(options: ManagerOptions = {}) {
    this.#log = options.log ?? stderrLog;
    if (options.leaderElection) {
      this.elector = new LeaderElector({
        ...options.leaderElection,
        log: this.#log,
        onStartedLeading: () => this.#serially(() => this.#startLeaderOnly()),
        onStoppedLeading: () => this.#serially(() => this.#stopLeaderOnly()),
      });
    }
  }

  /** True when runnables needing leader election may run: leading, or not electing at all. */
  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : true;
  }

  /** Adds a runnable; one added after `start` starts now (or when leadership is won). */
  add(runnable: Runnable, options: AddOptions = {}): Promise<void> {
    const leaderOnly = this.elector !== undefined && (options.needLeaderElection ?? true);
    (leaderOnly ? this.#leaderOnly : this.#always).push(runnable);
    return this.#serially(async () => {
      if (leaderOnly ? this.#leaderRunning : this.#started) await runnable.start();
    });
  }

  /** Starts the runnables that run always, then contends for leadership (or starts the rest). */
  async start(): Promise<void> {
    await this.#serially(async () => {
      if (this.#started) return;
      this.#started = true;
      for (const r of this.#always) await r.start();
      if (!this.elector) await this.#startLeaderOnly();
    });
    await this.elector?.start();
  }

  /** Stops leader-only runnables and releases the lease, then stops the rest. */
  async stop(): Promise<void> {
    await this.elector?.stop();
    await this.#serially(async () => {
      await this.#stopLeaderOnly();
      if (!this.#started) return;
      this.#started = false;
      for (const r of [...this.#always].reverse()) await this.#stopOne(r);
    });
  }

  async #startLeaderOnly(): Promise<void> {
    if (this.#leaderRunning || !this.#started) return;
    this.#leaderRunning = true;
    for (const r of this.#leaderOnly) await r.start();
  }

  async #stopLeaderOnly(): Promise<void> {
    if (!this.#leaderRunning) return;
    this.#leaderRunning = false;
    for (const r of [...this.#leaderOnly].reverse()) await this.#stopOne(r);
  }

  async #stopOne(r: Runnable): Promise<void> {
    try {
      await r.stop();
    } catch (err) {
      this.#log('error', 'manager: a runnable failed to stop', { error: String(err) });
    }
  }

  #serially(work: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(work);
    this.#chain = next.catch((err) => this.#log('error', 'manager: start or stop failed', { error: String(err) }));
    return next;
  }
}
