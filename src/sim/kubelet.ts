/**
 * The kubelet model: what every simulated node's kubelet does to the pods bound to it, driven by
 * the cluster clock.
 *
 * - A pod bound to a node goes Pending (ContainerCreating) and, after the start latency, Running;
 *   it becomes Ready at once, or after its readiness probe's initialDelaySeconds.
 * - A container whose modelled memory use (see usage.ts) passes its memory limit is OOMKilled
 *   (exit code 137) and restarted as its restartPolicy says, waiting in CrashLoopBackOff with
 *   the kubelet's doubling back-off (10 s up to 5 min) between restarts.
 * - A pod annotated `sim.nephele.dev/run-seconds` (and every Job pod, 30 s by default) exits after
 *   that long with the exit code in `sim.nephele.dev/exit-code` (default 0): Succeeded or Failed
 *   under restartPolicy Never, restarted under OnFailure when the code is not 0.
 * - A pod bound to a node that no longer exists is deleted, as the pod garbage collector does.
 * - A node annotated `sim.nephele.dev/down: "true"` has a dead kubelet: it touches nothing there.
 *
 * CPU use above the limit is throttled rather than fatal; the cAdvisor metrics report it.
 */
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import { newControllerBuilder, type ReconcileRequest, type ReconcileResult } from '../controller/index.ts';
import type { Informer } from '../client/index.ts';
import type { SimContext, SimController } from './context.ts';
import { nodesRef, podsRef } from './resources.ts';
import { array, podNodeName, podPhase, record, type Json } from './pods.ts';
import { quantityOr } from '../machinery/quantity.ts';
import { internalIp } from './instance-types.ts';

export const simAnnotations = {
  /** On a Node: its kubelet is down (stops heartbeats and pod updates). */
  nodeDown: 'sim.nephele.dev/down',
  /** On a Pod: its containers exit after this many seconds of running. */
  runSeconds: 'sim.nephele.dev/run-seconds',
  /** On a Pod: the exit code they exit with (default 0). */
  exitCode: 'sim.nephele.dev/exit-code',
} as const;

/** What the kubelet needs from the usage model. */
export interface ContainerUsageSource {
  containerUsage(pod: KubeObject, containerName: string, t: number): { cpu: number; memory: number };
}

export interface KubeletOptions {
  /** Cluster time from binding to Running. Default 2 s. */
  startLatencyMs?: number;
  usage: ContainerUsageSource;
}

/** Index of pods by the node they are bound to. */
export const nodeNameIndex = 'spec.nodeName';

const oomScanWindowMs = 60 * 60_000;
const oomScanStepMs = 30_000;
const jobRunSeconds = 30;

export function kubeletModel(options: KubeletOptions): SimController {
  const startLatencyMs = options.startLatencyMs ?? 2000;
  return (ctx) => {
    let pods!: Informer;
    let nodes!: Informer;
    const built = newControllerBuilder({ name: 'kubelet', client: ctx.client, informers: ctx.informers, scheduler: ctx.scheduler, metrics: ctx.metrics, log: ctx.log, workers: 4 })
      .for(podsRef)
      .watches(nodesRef, (node) => pods.byIndex(nodeNameIndex, node.metadata.name!).map((p) => ({ namespace: p.metadata.namespace, name: p.metadata.name! })))
      .complete({ reconcile: (request) => reconcile(request) });
    [pods, nodes] = built.informers as [Informer, Informer];
    pods.addIndex(nodeNameIndex, (pod) => {
      const node = podNodeName(pod);
      return node ? [node] : [];
    });

    async function reconcile(request: ReconcileRequest): Promise<ReconcileResult | void> {
      const pod = pods.get(request.namespace, request.name);
      if (!pod || pod.metadata.deletionTimestamp) return;
      const nodeName = podNodeName(pod);
      if (!nodeName) return;
      const node = nodes.get(undefined, nodeName);
      try {
        if (!node) {
          await ctx.client.delete(podsRef, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
          return;
        }
        if (node.metadata.annotations?.[simAnnotations.nodeDown] === 'true') return;
        const phase = podPhase(pod);
        if (phase === 'Succeeded' || phase === 'Failed') return;
        return await step(ctx, pod, node);
      } catch (err) {
        if (err instanceof StatusError && (err.code === 404 || err.code === 409)) return err.code === 409 ? { requeue: true } : undefined;
        throw err;
      }
    }

    /** Moves the pod one step along its life; returns when to look again. */
    async function step(context: SimContext, pod: KubeObject, node: KubeObject): Promise<ReconcileResult | void> {
      const now = context.scheduler.now();
      const status = record(pod.status);
      const containers = array(record(pod.spec).containers);
      if (!status.startTime) {
        const startTime = context.scheduler.nowIso();
        await writeStatus(context, pod, {
          phase: 'Pending',
          hostIP: internalIp(node.metadata.name!),
          podIP: podIp(pod),
          startTime,
          qosClass: qosClass(containers),
          conditions: conditions(pod, startTime, { PodScheduled: true, Initialized: true, ContainersReady: false, Ready: false }),
          containerStatuses: containers.map((c) => ({ name: c.name, image: c.image, imageID: '', ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } })),
        });
        return { requeueAfter: startLatencyMs };
      }
      const startedAt = Date.parse(String(status.startTime));
      const statuses = array(status.containerStatuses);
      if (podPhase(pod) === 'Pending') {
        const due = startedAt + startLatencyMs;
        if (now < due) return { requeueAfter: due - now };
        return run(context, pod, containers, statuses.map((s) => Number(s.restartCount ?? 0)), now);
      }
      // Running: a container waiting out a crash back-off restarts when it is over.
      const waiting = statuses.find((s) => record(record(s.state).waiting).reason === 'CrashLoopBackOff');
      if (waiting) {
        const finished = Date.parse(String(record(record(waiting.lastState).terminated).finishedAt ?? ''));
        const due = finished + backoffMs(Number(waiting.restartCount ?? 1));
        if (now < due) return { requeueAfter: due - now };
        return run(context, pod, containers, statuses.map((s) => Number(s.restartCount ?? 0)), now);
      }
      // Readiness after the probe's initial delay.
      const notReady = statuses.find((s) => s.ready !== true && record(s.state).running);
      if (notReady) {
        const due = readyAt(containers, statuses);
        if (now < due) return { requeueAfter: due - now };
        return writeStatus(context, pod, { ...status, conditions: conditions(pod, context.scheduler.nowIso(), { ContainersReady: true, Ready: true }), containerStatuses: statuses.map((s) => ({ ...s, ready: true })) }).then(() => next(pod, containers, now));
      }
      const exit = exitDue(pod, statuses);
      if (exit !== undefined && now >= exit.at) return terminate(context, pod, statuses, exit.code, exit.code === 0 ? 'Completed' : 'Error');
      const oom = oomAt(pod, containers, statuses, now);
      if (oom !== undefined && oom.at <= now) return terminate(context, pod, statuses, 137, 'OOMKilled', oom.container);
      return next(pod, containers, now);
    }

    /** When to look at a running pod again: its exit, or its next memory check; never when neither can happen. */
    function next(pod: KubeObject, containers: Json[], now: number): ReconcileResult | undefined {
      const statuses = array(record(pod.status).containerStatuses);
      const times: number[] = [];
      // Only a container with a memory limit can be OOMKilled; a pod without one needs no timer
      // (one per pod adds up at 20,000 pods) until something about it changes.
      if (containers.some((c) => Number.isFinite(quantityOr(record(record(c.resources).limits).memory, Number.POSITIVE_INFINITY)))) {
        times.push(oomAt(pod, containers, statuses, now)?.at ?? now + oomScanWindowMs);
      }
      const exit = exitDue(pod, statuses);
      if (exit) times.push(exit.at);
      return times.length > 0 ? { requeueAfter: Math.max(1, Math.min(...times) - now) } : undefined;
    }

    async function run(context: SimContext, pod: KubeObject, containers: Json[], restarts: number[], now: number): Promise<ReconcileResult | undefined> {
      const startedAt = context.scheduler.nowIso();
      const old = array(record(pod.status).containerStatuses);
      const statuses = containers.map((c, i) => ({
        name: c.name, image: c.image, imageID: `sim://${String(c.image)}`, containerID: `containerd://${pod.metadata.uid}-${i}-${restarts[i] ?? 0}`,
        ready: !record(c.readinessProbe).initialDelaySeconds,
        started: true,
        restartCount: restarts[i] ?? 0,
        state: { running: { startedAt } },
        ...(old[i]?.lastState ? { lastState: old[i]!.lastState } : {}),
      }));
      const ready = statuses.every((s) => s.ready);
      const updated = await writeStatus(context, pod, {
        ...record(pod.status),
        phase: 'Running',
        conditions: conditions(pod, startedAt, { PodScheduled: true, Initialized: true, ContainersReady: ready, Ready: ready }),
        containerStatuses: statuses,
      });
      return next(updated, containers, now);
    }

    /** A container exited (or was killed): restart it or finish the pod, as restartPolicy says. */
    async function terminate(context: SimContext, pod: KubeObject, statuses: Json[], code: number, reason: string, which?: string): Promise<ReconcileResult | void> {
      const policy = String(record(pod.spec).restartPolicy ?? 'Always');
      const finishedAt = context.scheduler.nowIso();
      const restart = policy === 'Always' || (policy === 'OnFailure' && code !== 0);
      const next = statuses.map((s) => {
        if (which !== undefined && s.name !== which) return s;
        const terminated = { exitCode: code, reason, startedAt: record(record(s.state).running).startedAt, finishedAt, containerID: s.containerID };
        return restart
          ? { ...s, ready: false, started: false, restartCount: Number(s.restartCount ?? 0) + 1, lastState: { terminated }, state: { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${String(s.name)} in pod ${pod.metadata.name}` } } }
          : { ...s, ready: false, started: false, state: { terminated } };
      });
      if (restart) {
        await writeStatus(context, pod, { ...record(pod.status), conditions: conditions(pod, finishedAt, { ContainersReady: false, Ready: false }), containerStatuses: next });
        const restarts = Math.max(...next.map((s) => Number(s.restartCount ?? 0)));
        return { requeueAfter: backoffMs(restarts) };
      }
      await writeStatus(context, pod, {
        ...record(pod.status),
        phase: code === 0 ? 'Succeeded' : 'Failed',
        conditions: conditions(pod, finishedAt, { ContainersReady: false, Ready: false }),
        containerStatuses: next,
      });
    }

    /** When the pod's containers exit on their own, if they do. */
    function exitDue(pod: KubeObject, statuses: Json[]): { at: number; code: number } | undefined {
      const annotations = pod.metadata.annotations ?? {};
      const isJob = pod.metadata.ownerReferences?.some((r) => r.kind === 'Job') === true;
      const seconds = annotations[simAnnotations.runSeconds] !== undefined ? Number(annotations[simAnnotations.runSeconds]) : isJob ? jobRunSeconds : undefined;
      if (seconds === undefined || !Number.isFinite(seconds)) return undefined;
      const started = Math.max(...statuses.map((s) => Date.parse(String(record(record(s.state).running).startedAt ?? ''))).filter(Number.isFinite));
      if (!Number.isFinite(started)) return undefined;
      return { at: started + seconds * 1000, code: Number(annotations[simAnnotations.exitCode] ?? 0) || 0 };
    }

    /** The first time within the scan window at which a running container's memory use passes its limit. */
    function oomAt(pod: KubeObject, containers: Json[], statuses: Json[], now: number): { at: number; container: string } | undefined {
      let first: { at: number; container: string } | undefined;
      for (const c of containers) {
        const limit = quantityOr(record(record(c.resources).limits).memory, Number.POSITIVE_INFINITY);
        if (!Number.isFinite(limit)) continue;
        const s = statuses.find((x) => x.name === c.name);
        if (!s || !record(s.state).running) continue;
        const name = String(c.name);
        for (let t = now; t <= now + oomScanWindowMs; t += oomScanStepMs) {
          if (first && t >= first.at) break;
          if (options.usage.containerUsage(pod, name, t).memory > limit) {
            first = { at: t, container: name };
            break;
          }
        }
      }
      return first;
    }

    return built;
  };
}

async function writeStatus(ctx: SimContext, pod: KubeObject, status: Json): Promise<KubeObject> {
  return ctx.client.update(podsRef, pod.metadata.namespace, { ...pod, status }, { subresource: 'status' });
}

/** The pod's conditions with the named ones set (transition times move only when a value changes). */
function conditions(pod: KubeObject, now: string, set: Record<string, boolean>): Json[] {
  const old = array(record(pod.status).conditions);
  const types = ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'];
  return types.map((type) => {
    const before = old.find((c) => c.type === type);
    const value = type in set ? (set[type] ? 'True' : 'False') : String(before?.status ?? 'False');
    const changed = before?.status !== value;
    return {
      type,
      status: value,
      lastProbeTime: null,
      lastTransitionTime: changed ? now : before!.lastTransitionTime,
      ...(value === 'False' && (type === 'Ready' || type === 'ContainersReady') ? { reason: 'ContainersNotReady', message: 'containers with unready status' } : {}),
    };
  });
}

function readyAt(containers: Json[], statuses: Json[]): number {
  let due = 0;
  for (const s of statuses) {
    const spec = containers.find((c) => c.name === s.name);
    const delay = Number(record(spec?.readinessProbe).initialDelaySeconds ?? 0);
    const started = Date.parse(String(record(record(s.state).running).startedAt ?? ''));
    if (Number.isFinite(started)) due = Math.max(due, started + delay * 1000);
  }
  return due;
}

/** The kubelet's crash back-off: 10 s, doubling per restart, at most 5 minutes. */
export function backoffMs(restarts: number): number {
  return Math.min(300_000, 10_000 * 2 ** Math.max(0, restarts - 1));
}

/** Guaranteed when every container's requests equal its limits for cpu and memory; BestEffort with none. */
export function qosClass(containers: Json[]): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const resources = record(c.resources);
    const requests = record(resources.requests);
    const limits = record(resources.limits);
    if (Object.keys(requests).length || Object.keys(limits).length) any = true;
    for (const r of ['cpu', 'memory']) {
      if (limits[r] === undefined || (requests[r] !== undefined && quantityOr(requests[r], -1) !== quantityOr(limits[r], -2))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function podIp(pod: KubeObject): string {
  const ip = internalIp(`${pod.metadata.namespace}/${pod.metadata.name}/${pod.metadata.uid}`).split('.');
  return `10.244.${ip[2]}.${ip[3]}`;
}
