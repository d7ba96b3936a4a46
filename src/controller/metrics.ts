/**
 * ControllerMetrics are the controller runtime's Prometheus series, labelled by controller name.
 * Several controllers share one Registry, and prom-client allows a metric name once a registry,
 * so the series are created once a registry and shared.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ReconcileOutcome = 'success' | 'requeue' | 'requeue_after' | 'error' | 'terminal_error';

export class ControllerMetrics {
  readonly reconcileDuration: Histogram<'controller'>;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly queueDepth: Gauge<'controller'>;
  /** Read at scrape time: each controller's current queue depth. */
  readonly #depthSources = new Map<string, () => number>();

  private constructor(registry: Registry) {
    const sources = this.#depthSources;
    this.reconcileDuration = new Histogram({
      name: 'nephele_controller_reconcile_duration_seconds',
      help: 'Time one reconcile took, by controller.',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
    this.reconcileTotal = new Counter({
      name: 'nephele_controller_reconcile_total',
      help: 'Reconciles by controller and result (success, requeue, requeue_after, error, terminal_error).',
      labelNames: ['controller', 'result'],
      registers: [registry],
    });
    this.queueDepth = new Gauge({
      name: 'nephele_controller_queue_depth',
      help: 'Keys waiting in the controller work queue, by controller.',
      labelNames: ['controller'],
      registers: [registry],
      collect() {
        for (const [controller, depth] of sources) this.set({ controller }, depth());
      },
    });
  }

  static #byRegistry = new WeakMap<Registry, ControllerMetrics>();

  /** The metrics registered on `registry`, created on first use. */
  static of(registry: Registry): ControllerMetrics {
    let metrics = ControllerMetrics.#byRegistry.get(registry);
    if (!metrics) {
      metrics = new ControllerMetrics(registry);
      ControllerMetrics.#byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  /** Reports `depth()` as the queue depth of `controller` until the returned function is called. */
  trackQueue(controller: string, depth: () => number): () => void {
    this.#depthSources.set(controller, depth);
    return () => {
      if (this.#depthSources.get(controller) === depth) this.#depthSources.delete(controller);
    };
  }
}
