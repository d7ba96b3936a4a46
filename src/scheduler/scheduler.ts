/**
 * Scheduler is the driver: it takes informer events (nodes, pods, disruption budgets) through its
 * methods, keeps the cache and the queue, and runs scheduling cycles: pop a pod, run its
 * profile's framework, assume the pod in the cache, reserve, then bind through the Binder while
 * the next cycle starts. A failed bind forgets the assumed pod and backs it off. When preemption
 * nominates a node, the driver deletes the victims through the Binder and the pod waits for the
 * deletions to come back as events. Nothing here speaks HTTP.
 */
import { realScheduler, type Scheduler as TimerSource } from '../controller/index.ts';
import type { KubeObject } from '../machinery/object.ts';
import { SchedulerCache } from './cache.ts';
import { defaultSchedulerConfiguration, type SchedulerConfiguration } from './config.ts';
import { disruptionBudget } from './disruption-budget.ts';
import { Framework } from './framework.ts';
import type { Binder, DisruptionBudget, PluginFactory } from './interfaces.ts';
import { podInfo, type PodInfo } from './pod-info.ts';
import { SchedulingQueue, type ClusterEvent, type QueuedPod } from './queue.ts';
import type { CycleState } from './cycle-state.ts';
import { Status } from './status.ts';

/** What happened to one pod in one attempt. */
export interface ScheduleOutcome {
  pod: PodInfo;
  result: 'Scheduled' | 'Unschedulable' | 'Preempting' | 'Error';
  nodeName?: string;
  /** kube-scheduler's message, e.g. `0/3 nodes are available: 3 Insufficient cpu.` */
  message: string;
  nominatedNodeName?: string;
  victims?: PodInfo[];
  attempts: number;
}

export interface SchedulerOptions {
  binder: Binder;
  configuration?: SchedulerConfiguration;
  /** Time and timers; a ManualScheduler in tests. */
  timers?: TimerSource;
  /** Tie-breaks and preemption's sampling offset; inject a seeded one for reproducible runs. */
  random?: () => number;
  registry?: Readonly<Record<string, PluginFactory>>;
  /** Called for every attempt's outcome (events, metrics, logs). */
  onOutcome?: (outcome: ScheduleOutcome) => void;
}

/** Plugins whose rejections a newly placed pod can lift; other unschedulable pods stay put on that event. */
const podAddSensitive = new Set(['InterPodAffinity', 'PodTopologySpread']);

export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly configuration: SchedulerConfiguration;
  readonly frameworks = new Map<string, Framework>();
  readonly binder: Binder;
  #timers: TimerSource;
  #onOutcome: ((o: ScheduleOutcome) => void) | undefined;
  #budgets = new Map<string, DisruptionBudget>();
  #budgetList: DisruptionBudget[] = [];
  #nominated = new Map<string, PodInfo[]>();
  #nominatedNode = new Map<string, string>();
  #running = false;
  #stopWaiters: Array<() => void> = [];
  #loop: Promise<void> | undefined;
  #inFlight = new Set<Promise<unknown>>();

  constructor(options: SchedulerOptions) {
    this.binder = options.binder;
    this.configuration = options.configuration ?? defaultSchedulerConfiguration();
    this.#timers = options.timers ?? realScheduler;
    this.#onOutcome = options.onOutcome;
    this.queue = new SchedulingQueue({
      clock: this.#timers,
      initialBackoffMs: this.configuration.podInitialBackoffSeconds * 1000,
      maxBackoffMs: this.configuration.podMaxBackoffSeconds * 1000,
    });
    for (const profile of this.configuration.profiles) {
      this.frameworks.set(profile.schedulerName, new Framework(profile, {
        snapshot: this.cache,
        binder: this.binder,
        percentageOfNodesToScore: this.configuration.percentageOfNodesToScore,
        disruptionBudgets: () => this.#budgetList,
        ...(options.random ? { random: options.random } : {}),
        ...(options.registry ? { registry: options.registry } : {}),
      }));
    }
  }

  // Informer events.

  addNode(node: KubeObject): void {
    const info = this.cache.addNode(node);
    info.nominatedPods = this.#nominated.get(info.name) ?? null;
    this.queue.moveAllToActiveOrBackoff('NodeAdd');
  }

  updateNode(node: KubeObject): void {
    const info = this.cache.updateNode(node);
    info.nominatedPods = this.#nominated.get(info.name) ?? null;
    this.queue.moveAllToActiveOrBackoff('NodeUpdate');
  }

  deleteNode(node: KubeObject | string): void {
    this.cache.removeNode(typeof node === 'string' ? node : node.metadata.name ?? '');
  }

  /** A pod appeared: bound pods go to the cache, pending pods for one of our profiles to the queue. */
  addPod(pod: KubeObject): void {
    const info = podInfo(pod);
    if (info.nodeName) {
      this.#clearNomination(info.key);
      this.queue.delete(info.key);
      this.cache.addPod(info);
      this.#move('AssignedPodAdd');
      return;
    }
    if (info.terminating || !this.frameworks.has(info.schedulerName)) return;
    this.queue.add(info);
  }

  updatePod(_old: KubeObject | undefined, pod: KubeObject): void {
    const info = podInfo(pod);
    if (info.nodeName) {
      this.addPod(pod);
      return;
    }
    if (info.terminating || !this.frameworks.has(info.schedulerName)) {
      this.queue.delete(info.key);
      return;
    }
    this.queue.update(info);
  }

  deletePod(pod: KubeObject): void {
    const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name ?? ''}`;
    this.#clearNomination(key);
    this.queue.delete(key);
    if (this.cache.nodeOf(key) !== undefined) {
      this.cache.removePod(pod);
      this.queue.moveAllToActiveOrBackoff('PodDelete');
    }
  }

  addPodDisruptionBudget(pdb: KubeObject): void {
    const b = disruptionBudget(pdb);
    this.#budgets.set(b.key, b);
    this.#budgetList = [...this.#budgets.values()];
  }

  updatePodDisruptionBudget(pdb: KubeObject): void {
    this.addPodDisruptionBudget(pdb);
  }

  deletePodDisruptionBudget(pdb: KubeObject): void {
    this.#budgets.delete(`${pdb.metadata.namespace ?? 'default'}/${pdb.metadata.name ?? ''}`);
    this.#budgetList = [...this.#budgets.values()];
    this.queue.moveAllToActiveOrBackoff('PdbChange');
  }

  #move(event: ClusterEvent): void {
    if (event === 'AssignedPodAdd') {
      // Only pods held back by pod-relative plugins can gain from a newly placed pod.
      this.queue.moveAllToActiveOrBackoff(event, (q) => [...q.unschedulablePlugins].some((p) => podAddSensitive.has(p)));
      return;
    }
    this.queue.moveAllToActiveOrBackoff(event);
  }

  #nominate(info: PodInfo, nodeName: string): void {
    this.#clearNomination(info.key);
    this.#nominatedNode.set(info.key, nodeName);
    let list = this.#nominated.get(nodeName);
    if (list) list.push(info);
    else this.#nominated.set(nodeName, (list = [info]));
    // The framework reads nominations off the node, sparing a lookup per node in every cycle.
    const node = this.cache.get(nodeName);
    if (node) node.nominatedPods = list;
  }

  #clearNomination(key: string): void {
    const node = this.#nominatedNode.get(key);
    if (node === undefined) return;
    this.#nominatedNode.delete(key);
    const list = this.#nominated.get(node);
    if (!list) return;
    const i = list.findIndex((p) => p.key === key);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) {
      this.#nominated.delete(node);
      const info = this.cache.get(node);
      if (info) info.nominatedPods = null;
    }
  }

  /** The node a pending pod was nominated to by preemption, if any. */
  nominatedNodeOf(key: string): string | undefined {
    return this.#nominatedNode.get(key);
  }

  #emit(o: ScheduleOutcome): ScheduleOutcome {
    this.#onOutcome?.(o);
    return o;
  }

  /**
   * Runs the scheduling cycle of one queued pod synchronously and starts its binding (or its
   * victims' deletion); the returned promise settles when that finishes.
   */
  #attempt(q: QueuedPod): Promise<ScheduleOutcome> | ScheduleOutcome {
    const info = q.info;
    const fwk = this.frameworks.get(info.schedulerName);
    if (!fwk) {
      this.queue.delete(info.key);
      return this.#emit({ pod: info, result: 'Error', message: `no profile for schedulerName ${info.schedulerName}`, attempts: q.attempts });
    }
    const result = fwk.schedulePod(info, this.#nominatedNode.get(info.key));
    if (!result.status.isSuccess() || !result.nodeName) {
      const pf = result.postFilter;
      if (pf?.nominatedNodeName && pf.victims) {
        this.#nominate(info, pf.nominatedNodeName);
        q.nominatedNodeName = pf.nominatedNodeName;
        this.queue.requeue(q, 'unschedulable', result.rejectedBy ?? []);
        const outcome: ScheduleOutcome = { pod: info, result: 'Preempting', message: result.status.message(), nominatedNodeName: pf.nominatedNodeName, victims: pf.victims, attempts: q.attempts };
        const victims = pf.victims;
        return (async () => {
          await this.binder.nominate?.(info.pod, pf.nominatedNodeName);
          await Promise.all(victims.map((v) => this.binder.deletePod(v.pod)));
          return this.#emit(outcome);
        })();
      }
      const isError = result.status.code === 'Error';
      this.queue.requeue(q, isError ? 'error' : 'unschedulable', result.rejectedBy ?? []);
      return this.#emit({ pod: info, result: isError ? 'Error' : 'Unschedulable', message: result.status.message(), attempts: q.attempts });
    }
    const nodeName = result.nodeName;
    this.cache.assumePod(info, nodeName);
    const reserved = fwk.runReserve(result.state, info, nodeName);
    if (!reserved.isSuccess()) {
      this.cache.forgetPod(info);
      this.queue.requeue(q, 'error');
      return this.#emit({ pod: info, result: 'Error', message: reserved.toString(), attempts: q.attempts });
    }
    return this.#bind(fwk, q, result.state, nodeName);
  }

  async #bind(fwk: Framework, q: QueuedPod, state: CycleState, nodeName: string): Promise<ScheduleOutcome> {
    const info = q.info;
    let status: Status;
    try {
      status = await fwk.runBind(state, info, nodeName);
    } catch (err) {
      status = Status.error((err as Error).message);
    }
    if (!status.isSuccess()) {
      fwk.runUnreserve(state, info, nodeName);
      this.cache.forgetPod(info);
      this.queue.requeue(q, 'error');
      this.queue.moveAllToActiveOrBackoff('PodDelete');
      return this.#emit({ pod: info, result: 'Error', message: status.toString(), attempts: q.attempts });
    }
    this.#clearNomination(info.key);
    this.queue.done(info.key);
    return this.#emit({ pod: info, result: 'Scheduled', nodeName, message: `Successfully assigned ${info.key} to ${nodeName}`, attempts: q.attempts });
  }

  /** Schedules the next ready pod, waiting for its binding; undefined when no pod is ready. */
  async scheduleOne(): Promise<ScheduleOutcome | undefined> {
    const q = this.queue.pop();
    if (!q) return undefined;
    return this.#attempt(q);
  }

  /**
   * Starts the run loop: cycles run back to back while pods are ready, with up to
   * `parallelism` bindings in flight; when none is ready it sleeps until an event or the next
   * backoff expiry. Idempotent.
   */
  run(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#runLoop();
  }

  /** Stops the loop and waits for bindings in flight. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    for (const w of this.#stopWaiters.splice(0)) w();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #runLoop(): Promise<void> {
    const parallelism = this.configuration.parallelism;
    let sinceYield = 0;
    while (this.#running) {
      const q = this.queue.pop();
      if (!q) {
        await this.#sleep();
        continue;
      }
      const r = this.#attempt(q);
      if (r instanceof Promise) {
        const p = r.catch(() => undefined).finally(() => this.#inFlight.delete(p));
        this.#inFlight.add(p);
        if (this.#inFlight.size >= parallelism) await Promise.race(this.#inFlight);
      }
      // Let informer events in between cycles.
      if (++sinceYield >= 32) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }

  #sleep(): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        cancel?.();
        resolve();
      };
      const at = this.queue.nextWakeAt();
      const cancel = at === undefined ? undefined : this.#timers.after(at - this.#timers.now(), finish);
      this.queue.whenActive().then(finish);
      this.#stopWaiters.push(finish);
    });
  }

  /** Resolves once no pod is ready and no binding is in flight (pods may still wait in backoff). */
  async idle(): Promise<void> {
    for (;;) {
      await Promise.allSettled([...this.#inFlight]);
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.queue.flush();
      if (this.#inFlight.size === 0 && this.queue.stats().active === 0) return;
    }
  }
}
