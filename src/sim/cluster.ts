/**
 * A simulated member cluster: a Kubernetes API endpoint of its own, running the same API machinery
 * as the hub on a memory store, with its own admin token and kubeconfig in its own home (and a CA
 * shared by the members one process starts in fresh homes), and
 * the controllers that make it behave like a real cluster: Deployments, ReplicaSets, the kubelet
 * model, node lifecycle, StatefulSets, DaemonSets, Jobs, ResourceQuota and LimitRange admission,
 * pods/binding and pods/eviction, cAdvisor and kube-state-metrics endpoints, all on one cluster
 * clock that may run faster than real time. Its nodes come from node pools of real instance types.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { startHub, type Hub } from '../hub/hub.ts';
import { createCertificateSet, type CertificateSet } from '../hub/security/index.ts';
import { InProcessClient, SharedInformerFactory, controllerUser, type ObjectClient } from '../client/index.ts';
import { EventRecorder, Manager, type ControllerLog, type Scheduler } from '../controller/index.ts';
import { StatusError } from '../machinery/status-error.ts';
import { ScaledScheduler } from './clock.ts';
import type { SimContext, SimController } from './context.ts';
import { poolNode, resolvePool, type NodePool, type NodePoolSpec } from './node-pools.ts';
import { UsageModel } from './usage.ts';
import { replicaSetController } from './controllers/replicaset.ts';
import { deploymentController } from './controllers/deployment.ts';
import { kubeletModel } from './kubelet.ts';
import { defaultTolerations, nodeLifecycle, type NodeLifecycleOptions } from './node-lifecycle.ts';
import { bindPod, installPodActions } from './pod-actions.ts';
import { kubeScheduler } from './kube-scheduler.ts';
import { nodeAutoscaler, type AutoscalerOptions } from './autoscaler.ts';
import type { SchedulerConfiguration } from '../scheduler/index.ts';
import { statefulSetController } from './controllers/statefulset.ts';
import { daemonSetController } from './controllers/daemonset.ts';
import { jobController } from './controllers/job.ts';
import { resourceQuotaController, ResourceQuotaAdmission } from './admission/resource-quota.ts';
import { LimitRangeDefaulting, LimitRangeValidation } from './admission/limit-range.ts';
import { installMetricsEndpoints } from './metrics/index.ts';
import { nodesRef } from './resources.ts';
import { seededRandom } from '../machinery/random.ts';

export interface SimulatedClusterOptions {
  /** The cluster's name, as the fleet knows it. */
  name: string;
  /** Directory for the cluster's certificates, token and kubeconfig; a fresh temporary one (removed on stop) when absent. */
  home?: string;
  /** Port to listen on (127.0.0.1); 0, the default, picks a free one. */
  port?: number;
  /** Cluster time and timers. Default: a ScaledScheduler at `speed`. Tests pass a ManualScheduler. */
  scheduler?: Scheduler;
  /** Cluster seconds per real second when `scheduler` is not given. Default 1. */
  speed?: number;
  /** Seed of the usage model. Default 1. */
  seed?: number;
  /** The cluster's nodes. Default: none. */
  nodePools?: NodePoolSpec[];
  /** Cluster time from binding to Running. Default 2 s. */
  startLatencyMs?: number;
  nodeLifecycle?: NodeLifecycleOptions;
  /** Tuning of the node autoscaler, which runs when some pool has min < max. */
  autoscaler?: Omit<AutoscalerOptions, 'cluster' | 'pools'>;
  /** Scheduler profiles (see docs/scheduler.md); kube-scheduler's defaults when absent. */
  schedulerConfiguration?: SchedulerConfiguration;
  /** Run the controllers (default true); false gives a bare API server. */
  controllers?: boolean;
  /** Where controller errors go; the default writes them to stderr. */
  log?: ControllerLog;
}

export interface SimulatedCluster extends Hub {
  readonly name: string;
  /** The cluster clock. */
  readonly clock: Scheduler;
  readonly usage: UsageModel;
  readonly pools: readonly NodePool[];
  /** A client to the cluster's own API, in process. */
  readonly client: ObjectClient;
  /** The cluster's controllers (empty when `controllers: false`). */
  readonly manager: Manager;
  /** The cluster's controllers' metrics (reconcile latency, queue depth). */
  readonly controllerMetrics: Registry;
}

/** The controllers every simulated cluster runs, in start order. */
export function defaultControllers(options: { usage: UsageModel; bind: (namespace: string, name: string, nodeName: string) => Promise<void>; startLatencyMs?: number; nodeLifecycle?: NodeLifecycleOptions; schedulerConfiguration?: SchedulerConfiguration; seed?: number }): SimController[] {
  return [
    nodeLifecycle(options.nodeLifecycle),
    kubeScheduler({ bind: options.bind, ...(options.schedulerConfiguration ? { configuration: options.schedulerConfiguration } : {}), random: seededRandom(options.seed ?? 1) }),
    replicaSetController,
    deploymentController,
    statefulSetController,
    daemonSetController,
    jobController,
    resourceQuotaController,
    kubeletModel({ usage: options.usage, ...(options.startLatencyMs !== undefined ? { startLatencyMs: options.startLatencyMs } : {}) }),
  ];
}

const schedulerUser = { username: 'system:kube-scheduler', groups: ['system:masters'] };

const quietLog: ControllerLog = (level, message, fields) => {
  if (level === 'error') process.stderr.write(`nephele sim: ${message} ${fields ? JSON.stringify(fields) : ''}\n`);
};

/**
 * One CA and serving certificate (for 127.0.0.1 and localhost) for every simulated member this
 * process starts in a fresh home: making keys would otherwise be much of a member's start-up.
 */
let sharedCertificates: Promise<CertificateSet> | undefined;

function simulatedMemberCertificates(): Promise<CertificateSet> {
  sharedCertificates ??= createCertificateSet(['127.0.0.1']);
  sharedCertificates.catch(() => { sharedCertificates = undefined; });
  return sharedCertificates;
}

export async function startSimulatedCluster(options: SimulatedClusterOptions): Promise<SimulatedCluster> {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(options.name)) throw new Error(`simulated cluster name ${JSON.stringify(options.name)} is not a DNS label`);
  const pools = (options.nodePools ?? []).map(resolvePool);
  const clock = options.scheduler ?? new ScaledScheduler({ speed: options.speed ?? 1 });
  const usage = new UsageModel({ seed: options.seed ?? 1 });
  const ownHome = options.home === undefined;
  const home = options.home ?? mkdtempSync(join(tmpdir(), `nephele-sim-${options.name}-`));
  let hub: Hub;
  try {
    // A home that already has its CA keeps it (clients may trust it); a new one takes the shared
    // set. The home is scratch space for a member in memory: nothing in it needs flushing to disk.
    const certificates = existsSync(join(home, 'pki', 'ca.crt')) || existsSync(join(home, 'pki', 'ca.key')) ? undefined : await simulatedMemberCertificates();
    hub = await startHub({ home, port: options.port ?? 0, store: 'memory', profile: 'cluster', kubeconfigName: options.name, clock, flushFiles: false, auditLog: false, ...(certificates ? { certificates } : {}) });
  } catch (err) {
    if (ownHome) rmSync(home, { recursive: true, force: true });
    throw err;
  }
  const client = new InProcessClient(hub.registry, hub.catalog, controllerUser);
  const controllerMetrics = new Registry();
  const log = options.log ?? quietLog;
  const manager = new Manager({ log });
  const informers = new SharedInformerFactory(client);
  const stop = async (): Promise<void> => {
    await manager.stop();
    await informers.stop();
    await hub.stop();
    if (ownHome) rmSync(home, { recursive: true, force: true });
  };
  try {
    installPodActions(hub.handler, hub.registry, hub.catalog);
    hub.admission.addMutating(defaultTolerations);
    hub.admission.addMutating(new LimitRangeDefaulting(client));
    hub.admission.addValidating(new LimitRangeValidation(client));
    hub.admission.addValidating(new ResourceQuotaAdmission(client, { clock }));
    installMetricsEndpoints(hub, { usage, clock });
    await registerNodes(client, options.name, pools, clock.now());
    if (options.controllers !== false) {
      const context: SimContext = {
        cluster: options.name,
        client,
        informers,
        scheduler: clock,
        metrics: controllerMetrics,
        recorder: (component) => new EventRecorder({ client, component, clock, log }),
        log,
      };
      const bind = (namespace: string, name: string, nodeName: string) => bindPod(hub.registry, hub.catalog, namespace, name, nodeName, schedulerUser);
      for (const controller of defaultControllers({ usage, bind, seed: options.seed ?? 1, ...(options.schedulerConfiguration ? { schedulerConfiguration: options.schedulerConfiguration } : {}), ...(options.startLatencyMs !== undefined ? { startLatencyMs: options.startLatencyMs } : {}), ...(options.nodeLifecycle ? { nodeLifecycle: options.nodeLifecycle } : {}) })) {
        await manager.add(controller(context));
      }
      if (pools.some((p) => p.min < p.max)) await manager.add(nodeAutoscaler({ ...options.autoscaler, cluster: options.name, pools })(context));
      // Every controller has subscribed by now; fill the shared caches, nodes first so the
      // scheduler and kubelet never see a pod before its node.
      const nodes = informers.informer(nodesRef);
      nodes.start();
      await nodes.synced;
      informers.start();
      await Promise.all(informers.informers.map((informer) => informer.synced));
      await manager.start();
    }
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return { ...hub, name: options.name, clock, usage, pools, client, manager, controllerMetrics, stop };
}

async function registerNodes(client: ObjectClient, cluster: string, pools: NodePool[], now: number): Promise<void> {
  const nodes = pools.flatMap((pool) => Array.from({ length: pool.count }, (_, i) => poolNode(cluster, pool, i, now)));
  for (let i = 0; i < nodes.length; i += 100) {
    await Promise.all(nodes.slice(i, i + 100).map((node) => client.create(nodesRef, undefined, node).catch((err: unknown) => {
      if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
    })));
  }
}
