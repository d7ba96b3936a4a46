/**
 * The simulated cluster's kube-scheduler: the scheduler framework (src/scheduler) fed by informers
 * on Nodes, Pods and PodDisruptionBudgets, binding through the pods/binding logic and deleting
 * preemption victims through the API. Pods that cannot be placed get PodScheduled=False with
 * reason Unschedulable and kube-scheduler's message (which the node autoscaler looks for), and
 * FailedScheduling / Scheduled / Preempted events as kube-scheduler records them.
 */
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import type { Informer } from '../client/index.ts';
import type { Runnable } from '../controller/index.ts';
import { Scheduler, type ScheduleOutcome, type SchedulerConfiguration } from '../scheduler/index.ts';
import type { SimContext, SimController } from './context.ts';
import { nodesRef, podDisruptionBudgetsRef, podsRef } from './resources.ts';
import { array, podPhase, record } from './pods.ts';

export interface KubeSchedulerOptions {
  /** Binds a pod to a node (pods/binding). */
  bind(namespace: string, name: string, nodeName: string): Promise<void>;
  configuration?: SchedulerConfiguration;
  /** Seeded tie-breaks, so a simulation repeats. */
  random?: () => number;
}

export function kubeScheduler(options: KubeSchedulerOptions): SimController {
  return (ctx) => new KubeScheduler(ctx, options);
}

function isTerminal(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase === 'Succeeded' || phase === 'Failed';
}

class KubeScheduler implements Runnable {
  readonly scheduler: Scheduler;
  readonly #ctx: SimContext;
  readonly #informers: Informer[];

  constructor(ctx: SimContext, options: KubeSchedulerOptions) {
    this.#ctx = ctx;
    const recorder = ctx.recorder('default-scheduler');
    this.scheduler = new Scheduler({
      timers: ctx.scheduler,
      ...(options.configuration ? { configuration: options.configuration } : {}),
      ...(options.random ? { random: options.random } : {}),
      binder: {
        bind: (pod, nodeName) => options.bind(pod.metadata.namespace!, pod.metadata.name!, nodeName),
        deletePod: async (victim) => {
          await ctx.client.delete(podsRef, victim.metadata.namespace, victim.metadata.name!, { preconditions: { uid: victim.metadata.uid } }).catch(ignoreGone);
          void recorder.normal(victim, 'Preempted', 'Preempted by a pod with higher priority');
        },
        nominate: async (pod, nodeName) => {
          await ctx.client.patch(podsRef, pod.metadata.namespace, pod.metadata.name!, 'merge', { status: { nominatedNodeName: nodeName ?? null } }, { subresource: 'status' }).catch(ignoreGone);
        },
      },
      onOutcome: (outcome) => void this.#report(outcome, recorder).catch((err: unknown) => ctx.log('error', 'scheduler: reporting an outcome failed', { error: String(err) })),
    });
    const nodes = ctx.informers.informer(nodesRef);
    const pods = ctx.informers.informer(podsRef);
    const budgets = ctx.informers.informer(podDisruptionBudgetsRef);
    const s = this.scheduler;
    nodes.onAdd((n) => s.addNode(n));
    nodes.onUpdate((n) => s.updateNode(n));
    nodes.onDelete((n) => s.deleteNode(n));
    // Finished pods hold no resources, as kube-scheduler's informer leaves them out.
    pods.onAdd((p) => (isTerminal(p) ? undefined : s.addPod(p)));
    pods.onUpdate((p, old) => (isTerminal(p) ? s.deletePod(p) : s.updatePod(old, p)));
    pods.onDelete((p) => s.deletePod(p));
    budgets.onAdd((b) => s.addPodDisruptionBudget(b));
    budgets.onUpdate((b) => s.updatePodDisruptionBudget(b));
    budgets.onDelete((b) => s.deletePodDisruptionBudget(b));
    this.#informers = [nodes, budgets, pods];
  }

  async start(): Promise<void> {
    // Nodes first, so pods listed next find their nodes in the cache (when nobody else started
    // the shared informers already).
    for (const informer of this.#informers) {
      informer.start();
      await informer.synced;
    }
    this.scheduler.run();
  }

  async stop(): Promise<void> {
    // The informers are the cluster's, shared: they stop with it.
    await this.scheduler.stop();
  }

  async #report(outcome: ScheduleOutcome, recorder: ReturnType<SimContext['recorder']>): Promise<void> {
    const pod = outcome.pod.pod;
    if (outcome.result === 'Scheduled') {
      void recorder.normal(pod, 'Scheduled', outcome.message);
      return;
    }
    if (outcome.result === 'Preempting') return;
    void recorder.warning(pod, 'FailedScheduling', outcome.message);
    const conditions = array(record(pod.status).conditions);
    const current = conditions.find((c) => c.type === 'PodScheduled');
    if (current?.status === 'False' && current.message === outcome.message) return;
    const condition = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: outcome.message, lastProbeTime: null, lastTransitionTime: this.#ctx.scheduler.nowIso() };
    await this.#ctx.client.patch(podsRef, pod.metadata.namespace, pod.metadata.name!, 'strategic', { status: { conditions: [condition] } }, { subresource: 'status' }).catch(ignoreGone);
  }
}

function ignoreGone(err: unknown): void {
  if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) throw err;
}
