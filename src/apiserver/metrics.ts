/**
 * Prometheus metrics of the API server, on a registry of its own so several hubs in one process
 * (tests) do not share counters. Names follow kube-apiserver's where one exists.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ApiMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter;
  readonly #duration: Histogram;
  readonly #watchers: Gauge;
  readonly #watchGroups: Gauge;
  readonly #terminatedWatchers: Counter;
  readonly #revision: Gauge;
  #currentRevision: () => Promise<number>;

  constructor(currentRevision: () => Promise<number>) {
    this.#currentRevision = currentRevision;
    this.#requests = new Counter({ name: 'apiserver_request_total', help: 'Requests served, by verb, resource and HTTP code.', labelNames: ['verb', 'resource', 'code'], registers: [this.registry] });
    this.#duration = new Histogram({
      name: 'apiserver_request_duration_seconds', help: 'Request latency in seconds, by verb and resource (watches excluded).', labelNames: ['verb', 'resource'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry],
    });
    this.#watchers = new Gauge({ name: 'apiserver_registered_watchers', help: 'Open watch streams.', registers: [this.registry] });
    this.#watchGroups = new Gauge({ name: 'apiserver_watch_groups', help: 'Groups of watch streams that share one watch of the cache (same kind, namespace, selectors and bookmarks).', registers: [this.registry] });
    this.#terminatedWatchers = new Counter({ name: 'apiserver_terminated_watchers_total', help: 'Watch streams cut off because their client did not read fast enough, by resource.', labelNames: ['resource'], registers: [this.registry] });
    this.#revision = new Gauge({ name: 'nephele_store_revision', help: 'Latest revision of the store.', registers: [this.registry] });
    collectDefaultMetrics({ register: this.registry, prefix: 'nephele_' });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A watch stream was cut off because its client fell too far behind. */
  watchTerminated(resource: string): void {
    this.#terminatedWatchers.inc({ resource });
  }

  observe(verb: string, resource: string, code: number, seconds: number): void {
    // Unknown paths would otherwise make a label per probe; they share one label value.
    const label = resource.startsWith('/') ? 'other' : resource;
    this.#requests.inc({ verb, resource: label, code: String(code) });
    if (verb !== 'watch') this.#duration.observe({ verb, resource: label }, seconds);
  }

  async render(openWatches: number, watchGroups: number): Promise<string> {
    this.#watchers.set(openWatches);
    this.#watchGroups.set(watchGroups);
    this.#revision.set(await this.#currentRevision());
    return this.registry.metrics();
  }
}
