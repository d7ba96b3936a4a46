/**
 * A simulated cluster with some controllers running on it, for the workload controllers' tests:
 * the test plays the kubelet by writing pod status through the status subresource.
 */
import { Registry } from 'prom-client';
import { InProcessClient, SharedInformerFactory, type ObjectClient } from '../../client/index.ts';
import { EventRecorder, realScheduler, type Runnable, type Scheduler } from '../../controller/index.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { startSimulatedCluster, type SimulatedCluster } from '../cluster.ts';
import type { SimContext, SimController } from '../context.ts';
import { podsRef } from '../resources.ts';

export interface ControllerHarness {
  cluster: SimulatedCluster;
  client: ObjectClient;
  scheduler: Scheduler;
  context: SimContext;
  /** Writes the status a kubelet would for a started pod: Running, and Ready unless `ready` is false. */
  runPod(pod: KubeObject, ready?: boolean): Promise<KubeObject>;
  /** Writes a finished pod's phase (Succeeded or Failed). */
  finishPod(pod: KubeObject, phase: 'Succeeded' | 'Failed'): Promise<KubeObject>;
  /** Pods in `namespace` whose labels match `labelSelector`, sorted by name. */
  pods(namespace: string, labelSelector?: string): Promise<KubeObject[]>;
  stop(): Promise<void>;
}

/**
 * Starts a bare simulated cluster named `name` (none of its own controllers, so nothing but the
 * test plays kubelet or scheduler) on `scheduler`'s clock, and `controllers` on it, sharing one context.
 */
export async function startControllerHarness(name: string, controllers: SimController[], scheduler: Scheduler = realScheduler): Promise<ControllerHarness> {
  const cluster = await startSimulatedCluster({ name, scheduler, controllers: false });
  const client = new InProcessClient(cluster.registry, cluster.catalog);
  const informers = new SharedInformerFactory(client);
  const context: SimContext = {
    cluster: name,
    client,
    informers,
    scheduler,
    metrics: new Registry(),
    recorder: (component) => new EventRecorder({ client, component, clock: scheduler, log: () => {} }),
    log: () => {},
  };
  const running: Runnable[] = controllers.map((controller) => controller(context));
  for (const runnable of running) await runnable.start();
  const writeStatus = async (pod: KubeObject, status: Record<string, unknown>): Promise<KubeObject> => {
    const fresh = await client.get(podsRef, pod.metadata.namespace, pod.metadata.name!);
    return client.update(podsRef, pod.metadata.namespace, { ...fresh, status: { ...(fresh.status as object), ...status } }, { subresource: 'status' });
  };
  return {
    cluster,
    client,
    scheduler,
    context,
    runPod: (pod, ready = true) => writeStatus(pod, {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: scheduler.nowIso() }],
    }),
    finishPod: (pod, phase) => writeStatus(pod, {
      phase,
      conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: scheduler.nowIso() }],
    }),
    async pods(namespace, labelSelector) {
      const list = await client.list(podsRef, namespace, labelSelector ? { labelSelector } : {});
      return list.items.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!, 'en', { numeric: true }));
    },
    async stop() {
      for (const runnable of running.reverse()) await runnable.stop();
      await informers.stop();
      await cluster.stop();
    },
  };
}
