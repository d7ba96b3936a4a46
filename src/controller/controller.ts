/**
 * Controller runs a Reconciler: N workers take keys from a WorkQueue and reconcile them, one
 * worker a key at a time, and act on the outcome the way controller-runtime does:
 *
 * - success with nothing to add: the key's backoff is reset;
 * - `requeueAfter: ms`: backoff reset, the key comes back after `ms`;
 * - `requeue: true` or a thrown error: the key comes back after its exponential backoff;
 * - a thrown TerminalError: logged, backoff reset, not retried until something adds the key again.
 */
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { WorkQueue } from './work-queue.ts';
import { realScheduler, type Scheduler } from './scheduler.ts';
import { TerminalError, parseRequestKey, requestKey, type ReconcileRequest, type Reconciler } from './reconciler.ts';
import { ControllerMetrics, type ReconcileOutcome } from './metrics.ts';

/** Where the controller runtime reports what it does; the default writes JSON lines to stderr. */
export type ControllerLog = (level: 'info' | 'error', message: string, fields?: Record<string, unknown>) => void;

export const stderrLog: ControllerLog = (level, message, fields) => {
  process.stderr.write(JSON.stringify({ level, msg: message, ...fields }) + '\n');
};

export interface ControllerOptions {
  /** Names the controller in logs and metric labels. */
  name: string;
  reconciler: Reconciler;
  /** Keys reconciled at once. Default 1. */
  workers?: number;
  scheduler?: Scheduler;
  /** Registry for the `nephele_controller_*` metrics; none when omitted. */
  metrics?: Registry;
  /** Backoff of failing keys (see WorkQueue). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  log?: ControllerLog;
}

export class Controller {
  readonly name: string;
  readonly #options: ControllerOptions;
  readonly #metrics: ControllerMetrics | undefined;
  readonly #log: ControllerLog;
  #queue: WorkQueue<string>;
  #workers: Promise<void>[] = [];

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#options = options;
    this.#metrics = options.metrics ? ControllerMetrics.of(options.metrics) : undefined;
    this.#log = options.log ?? stderrLog;
    this.#queue = this.#newQueue();
    this.#metrics?.trackQueue(this.name, () => this.#queue.length);
  }

  /** The queue the workers take from; replaced by a fresh one when a stopped controller starts. */
  get queue(): WorkQueue<string> {
    return this.#queue;
  }

  get running(): boolean {
    return this.#workers.length > 0;
  }

  /** Asks for `request` to be reconciled; coalesces with a pending request for the same object. */
  enqueue(request: ReconcileRequest): void {
    this.#queue.add(requestKey(request));
  }

  /** Asks for `request` to be reconciled after `ms`. */
  enqueueAfter(request: ReconcileRequest, ms: number): void {
    this.#queue.addAfter(requestKey(request), ms);
  }

  /** Starts the workers; idempotent. Keys enqueued before the first start are kept. */
  start(): void {
    if (this.running) return;
    if (this.#queue.shuttingDown) this.#queue = this.#newQueue();
    const queue = this.#queue;
    const workers = Math.max(1, this.#options.workers ?? 1);
    for (let i = 0; i < workers; i++) this.#workers.push(this.#work(queue));
  }

  /** Shuts the queue down and resolves once every worker has finished its current reconcile. */
  async stop(): Promise<void> {
    this.#queue.shutDown();
    const workers = this.#workers.splice(0);
    await Promise.all(workers);
  }

  #newQueue(): WorkQueue<string> {
    return new WorkQueue<string>({
      scheduler: this.#options.scheduler ?? realScheduler,
      baseDelayMs: this.#options.baseDelayMs,
      maxDelayMs: this.#options.maxDelayMs,
    });
  }

  async #work(queue: WorkQueue<string>): Promise<void> {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = performance.now();
      let outcome: ReconcileOutcome;
      try {
        outcome = await this.#reconcile(queue, key);
      } finally {
        queue.done(key);
      }
      this.#metrics?.reconcileDuration.observe({ controller: this.name }, (performance.now() - started) / 1000);
      this.#metrics?.reconcileTotal.inc({ controller: this.name, result: outcome });
    }
  }

  async #reconcile(queue: WorkQueue<string>, key: string): Promise<ReconcileOutcome> {
    try {
      const result = await this.#options.reconciler.reconcile(parseRequestKey(key));
      if (result && 'requeue' in result && result.requeue) {
        queue.addRateLimited(key);
        return 'requeue';
      }
      queue.forget(key);
      const after = result && 'requeueAfter' in result ? result.requeueAfter : undefined;
      if (after !== undefined && after > 0) {
        queue.addAfter(key, after);
        return 'requeue_after';
      }
      return 'success';
    } catch (err) {
      if (err instanceof TerminalError) {
        queue.forget(key);
        this.#log('error', 'reconcile failed terminally; not retrying', { controller: this.name, key, error: err.message });
        return 'terminal_error';
      }
      const delayMs = queue.backoffOf(key);
      queue.addRateLimited(key);
      this.#log('error', 'reconcile failed; retrying with backoff', { controller: this.name, key, delayMs, error: err instanceof Error ? err.message : String(err) });
      return 'error';
    }
  }
}
