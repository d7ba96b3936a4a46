/**
 * The metrics endpoints of a simulated cluster, served by its own API server next to the
 * Kubernetes API (bearer token required, like every non-discovery path):
 *
 * - `/metrics/cadvisor`: what the kubelets' cAdvisor endpoints would serve, for every running pod
 *   (`?node=NAME` narrows it to one node's pods, as one kubelet's endpoint would be);
 * - `/metrics/kube-state-metrics`: what kube-state-metrics would serve.
 *
 * Both read the cluster's current objects at each scrape and take time from the given clock.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiHandler } from '../../apiserver/handler.ts';
import type { ObjectRegistry } from '../../apiserver/registry.ts';
import type { TypeCatalog } from '../../api/type-catalog.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { realClock, type Clock } from '../../machinery/clock.ts';
import { InProcessClient, type ResourceRef } from '../../client/index.ts';
import { deploymentsRef, nodesRef, podsRef, replicaSetsRef } from '../resources.ts';
import { UsageModel } from '../usage.ts';
import { renderCadvisor } from './cadvisor.ts';
import { renderKubeStateMetrics } from './kube-state-metrics.ts';
import { textContentType } from './exposition.ts';

export const cadvisorPath = '/metrics/cadvisor';
export const kubeStateMetricsPath = '/metrics/kube-state-metrics';

/** What the endpoints need of a simulated cluster. */
export interface MetricsCluster {
  handler: ApiHandler;
  registry: ObjectRegistry;
  catalog: TypeCatalog;
}

export interface MetricsEndpointsOptions {
  /** The usage model to serve; a new one with `seed` when absent. */
  usage?: UsageModel;
  /** Seed of the usage model made when `usage` is absent (default 1, as simulated clusters'). */
  seed?: number;
  /** The cluster's clock, e.g. its Scheduler (default: real time). */
  clock?: Pick<Clock, 'now'>;
  /** Stamp cAdvisor samples with the clock's time, as the kubelet does (default true). */
  timestamps?: boolean;
}

export interface MetricsEndpoints {
  readonly usage: UsageModel;
  readonly paths: readonly string[];
}

const metricsUser = { username: 'system:nephele-metrics', groups: ['system:masters'] };

/** Registers `/metrics/cadvisor` and `/metrics/kube-state-metrics` on the cluster's API handler. Calling it again replaces them. */
export function installMetricsEndpoints(cluster: MetricsCluster, options: MetricsEndpointsOptions = {}): MetricsEndpoints {
  const usage = options.usage ?? new UsageModel({ seed: options.seed ?? 1 });
  const clock = options.clock ?? realClock;
  const client = new InProcessClient(cluster.registry, cluster.catalog, metricsUser);
  const list = async (ref: ResourceRef): Promise<KubeObject[]> => (await client.list(ref, undefined)).items;

  cluster.handler.addPath(cadvisorPath, async (req, res) => {
    const node = new URL(req.url ?? '/', 'https://cluster').searchParams.get('node');
    let pods = await list(podsRef);
    if (node) pods = pods.filter((pod) => (pod.spec as { nodeName?: unknown } | undefined)?.nodeName === node);
    send(req, res, renderCadvisor(pods, usage, clock.now(), options.timestamps === false ? { timestamps: false } : {}));
  });
  cluster.handler.addPath(kubeStateMetricsPath, async (req, res) => {
    const [pods, nodes, deployments, replicaSets] = await Promise.all([list(podsRef), list(nodesRef), list(deploymentsRef), list(replicaSetsRef)]);
    send(req, res, renderKubeStateMetrics({ pods, nodes, deployments, replicaSets }, clock.now()));
  });
  return { usage, paths: [cadvisorPath, kubeStateMetricsPath] };
}

function send(req: IncomingMessage, res: ServerResponse, text: string): void {
  res.writeHead(200, { 'Content-Type': textContentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(req.method === 'HEAD' ? undefined : text);
}
