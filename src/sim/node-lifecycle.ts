/**
 * Node lifecycle, both halves of it:
 *
 * - heartbeats: each live node's kubelet renews its Lease in kube-node-lease every heartbeat
 *   period (10 s of cluster time by default); a node annotated `sim.nephele.dev/down: "true"` stops;
 * - the node lifecycle controller: a node whose Lease has not been renewed for the grace period
 *   (four heartbeats, 40 s by default) gets Ready=Unknown, the `node.kubernetes.io/unreachable`
 *   NoSchedule and NoExecute taints, and its pods lose their Ready condition; when heartbeats
 *   resume the condition and the taints go. A node whose Ready is False gets the `not-ready` taints.
 * - taint-based eviction: a pod on a node with a NoExecute taint it does not tolerate is deleted at
 *   once; one that tolerates it for `tolerationSeconds` is deleted when that time has passed since
 *   the taint was added. (Pods get 300 s tolerations for not-ready and unreachable on creation, see
 *   `defaultTolerations`.)
 *
 * Large clusters on a fast clock would need more Lease writes than a process can make, so the
 * heartbeat period stretches to keep them near 50 writes per real second (and the grace period
 * with it): fidelity of heartbeat timing gives way before the simulation falls behind its clock.
 */
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import type { Informer } from '../client/index.ts';
import { toMicroTime, type CancelTimer, type Runnable } from '../controller/index.ts';
import type { MutatingAdmissionPlugin } from '../apiserver/admission.ts';
import type { SimController, SimContext } from './context.ts';
import { leasesRef, nodesRef, podsRef } from './resources.ts';
import { array, podNodeName, record, tolerates, type Json } from './pods.ts';
import { nodeNameIndex, simAnnotations } from './kubelet.ts';

export const taintKeys = {
  unreachable: 'node.kubernetes.io/unreachable',
  notReady: 'node.kubernetes.io/not-ready',
} as const;

export interface NodeLifecycleOptions {
  /** Cluster time between a kubelet's Lease renewals. Default 10 s. */
  heartbeatMs?: number;
  /** Missed-heartbeat time after which a node is Unknown, as a multiple of the heartbeat. Default 4. */
  graceHeartbeats?: number;
  /** How often the controller looks at every node (cluster time). Default 5 s. */
  monitorMs?: number;
}

const leaseNamespace = 'kube-node-lease';
const maxLeaseWritesPerRealSecond = 50;

export function nodeLifecycle(options: NodeLifecycleOptions = {}): SimController {
  return (ctx) => new NodeLifecycle(ctx, options);
}

class NodeLifecycle implements Runnable {
  readonly #ctx: SimContext;
  readonly #nodes: Informer;
  readonly #leases: Informer;
  readonly #pods: Informer;
  readonly #baseHeartbeatMs: number;
  readonly #graceHeartbeats: number;
  readonly #monitorMs: number;
  #timers: CancelTimer[] = [];
  #running = false;

  constructor(ctx: SimContext, options: NodeLifecycleOptions) {
    this.#ctx = ctx;
    this.#baseHeartbeatMs = options.heartbeatMs ?? 10_000;
    this.#graceHeartbeats = options.graceHeartbeats ?? 4;
    this.#monitorMs = options.monitorMs ?? 5000;
    this.#nodes = ctx.informers.informer(nodesRef);
    this.#leases = ctx.informers.informer(leasesRef, { namespace: leaseNamespace });
    this.#pods = ctx.informers.informer(podsRef);
    this.#pods.addIndex(nodeNameIndex, (pod) => {
      const node = podNodeName(pod);
      return node ? [node] : [];
    });
  }

  /** The heartbeat period now, stretched for large clusters on fast clocks. */
  get heartbeatMs(): number {
    const speed = (this.#ctx.scheduler as { speed?: number }).speed ?? 1;
    const realSeconds = this.#nodes.size / maxLeaseWritesPerRealSecond;
    return Math.max(this.#baseHeartbeatMs, realSeconds * 1000 * speed);
  }

  get graceMs(): number {
    return this.heartbeatMs * this.#graceHeartbeats;
  }

  async start(): Promise<void> {
    this.#running = true;
    for (const informer of [this.#nodes, this.#leases, this.#pods]) informer.start();
    await Promise.all([this.#nodes.synced, this.#leases.synced, this.#pods.synced]);
    // A node that registers gets its first heartbeat at once, as a kubelet's first act.
    this.#nodes.onAdd((node) => void this.#renew(node).catch((err) => this.#fail('heartbeat', err)));
    await Promise.all(this.#nodes.list().map((node) => this.#renew(node).catch((err) => this.#fail('heartbeat', err))));
    this.#loop('heartbeats', () => this.heartbeatMs, () => this.#heartbeats());
    this.#loop('monitor', () => this.#monitorMs, () => this.#monitor());
  }

  async stop(): Promise<void> {
    this.#running = false;
    // The informers are the cluster's, shared: they stop with it.
    for (const cancel of this.#timers.splice(0)) cancel();
  }

  #loop(name: string, period: () => number, body: () => Promise<void>): void {
    const tick = async (): Promise<void> => {
      if (!this.#running) return;
      try {
        await body();
      } catch (err) {
        this.#fail(name, err);
      }
      if (this.#running) this.#timers.push(this.#ctx.scheduler.after(period(), tick));
    };
    this.#timers.push(this.#ctx.scheduler.after(period(), tick));
  }

  #fail(what: string, err: unknown): void {
    this.#ctx.log('error', `node lifecycle: ${what} failed`, { error: err instanceof Error ? err.message : String(err) });
  }

  async #heartbeats(): Promise<void> {
    const live = this.#nodes.list().filter((n) => n.metadata.annotations?.[simAnnotations.nodeDown] !== 'true');
    for (let i = 0; i < live.length; i += 64) {
      await Promise.all(live.slice(i, i + 64).map((node) => this.#renew(node)));
    }
  }

  async #renew(node: KubeObject): Promise<void> {
    if (node.metadata.annotations?.[simAnnotations.nodeDown] === 'true') return;
    const name = node.metadata.name!;
    const spec = { holderIdentity: name, leaseDurationSeconds: Math.ceil(this.graceMs / 1000), renewTime: toMicroTime(this.#ctx.scheduler.now()) };
    const existing = this.#leases.get(leaseNamespace, name);
    try {
      if (existing) {
        await this.#ctx.client.update(leasesRef, leaseNamespace, { ...existing, spec: { ...record(existing.spec), ...spec } });
      } else {
        await this.#ctx.client.create(leasesRef, leaseNamespace, {
          apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
          metadata: { name, namespace: leaseNamespace, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: node.metadata.uid! }] },
          spec,
        });
      }
    } catch (err) {
      // A lost race with the informer's view is settled by the next heartbeat.
      if (!(err instanceof StatusError && (err.code === 409 || err.code === 404))) throw err;
    }
  }

  async #monitor(): Promise<void> {
    const now = this.#ctx.scheduler.now();
    for (const node of this.#nodes.list()) {
      const lease = this.#leases.get(leaseNamespace, node.metadata.name!);
      const renewed = Date.parse(String(record(lease?.spec).renewTime ?? node.metadata.creationTimestamp ?? ''));
      const silent = !Number.isFinite(renewed) || now - renewed > this.graceMs;
      try {
        await this.#judge(node, silent, now);
        await this.#evict(node, now);
      } catch (err) {
        if (!(err instanceof StatusError && (err.code === 409 || err.code === 404))) throw err;
      }
    }
  }

  /** Sets Ready and the matching taints from whether the node's kubelet is heard from. */
  async #judge(node: KubeObject, silent: boolean, now: number): Promise<void> {
    const conditions = array(record(node.status).conditions);
    const ready = conditions.find((c) => c.type === 'Ready');
    const taints = array(record(node.spec).taints);
    const time = new Date(Math.floor(now / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    if (silent && ready?.status !== 'Unknown') {
      const unknown = { ...ready, type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: time };
      await this.#ctx.client.update(nodesRef, undefined, { ...node, status: { ...record(node.status), conditions: [...conditions.filter((c) => c.type !== 'Ready'), unknown] } }, { subresource: 'status' });
      await this.#markPodsNotReady(node.metadata.name!, time);
      void this.#ctx.recorder('node-controller').normal(node, 'NodeNotReady', `Node ${node.metadata.name} status is now: NodeNotReady`);
    } else if (!silent && ready?.status === 'Unknown') {
      const back = { ...ready, status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastTransitionTime: time, lastHeartbeatTime: time };
      await this.#ctx.client.update(nodesRef, undefined, { ...node, status: { ...record(node.status), conditions: [...conditions.filter((c) => c.type !== 'Ready'), back] } }, { subresource: 'status' });
      void this.#ctx.recorder('node-controller').normal(node, 'NodeReady', `Node ${node.metadata.name} status is now: NodeReady`);
    }
    const status = silent ? 'Unknown' : String(ready?.status ?? 'True');
    const key = status === 'Unknown' ? taintKeys.unreachable : status === 'False' ? taintKeys.notReady : undefined;
    const wanted = key ? [{ key, effect: 'NoSchedule' }, { key, effect: 'NoExecute', timeAdded: time }] : [];
    const others = taints.filter((t) => t.key !== taintKeys.unreachable && t.key !== taintKeys.notReady);
    const ours = taints.filter((t) => t.key === taintKeys.unreachable || t.key === taintKeys.notReady);
    const same = ours.length === wanted.length && wanted.every((w) => ours.some((t) => t.key === w.key && t.effect === w.effect));
    if (!same) {
      const fresh = (await this.#ctx.client.get(nodesRef, undefined, node.metadata.name!));
      await this.#ctx.client.update(nodesRef, undefined, { ...fresh, spec: { ...record(fresh.spec), taints: [...others, ...wanted.map((w) => ours.find((t) => t.key === w.key && t.effect === w.effect) ?? w)] } });
    }
  }

  async #markPodsNotReady(nodeName: string, time: string): Promise<void> {
    for (const pod of this.#pods.byIndex(nodeNameIndex, nodeName)) {
      const conditions = array(record(pod.status).conditions);
      if (!conditions.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      const next = conditions.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', reason: 'NodeNotReady', lastTransitionTime: time } : c));
      try {
        await this.#ctx.client.update(podsRef, pod.metadata.namespace, { ...pod, status: { ...record(pod.status), conditions: next } }, { subresource: 'status' });
      } catch (err) {
        if (!(err instanceof StatusError && (err.code === 409 || err.code === 404))) throw err;
      }
    }
  }

  /** Deletes the pods a NoExecute taint says must go now. */
  async #evict(node: KubeObject, now: number): Promise<void> {
    const noExecute = array(record(node.spec).taints).filter((t) => t.effect === 'NoExecute');
    if (noExecute.length === 0) return;
    for (const pod of this.#pods.byIndex(nodeNameIndex, node.metadata.name!)) {
      if (pod.metadata.deletionTimestamp) continue;
      if (evictionDue(pod, noExecute, now)) {
        await this.#ctx.client.delete(podsRef, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } }).catch((err: unknown) => {
          if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) throw err;
        });
        void this.#ctx.recorder('taint-eviction-controller').normal(pod, 'TaintManagerEviction', `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`);
      }
    }
  }
}

/** True when some NoExecute taint is not tolerated, or tolerated for less time than it has been there. */
export function evictionDue(pod: KubeObject, taints: Json[], now: number): boolean {
  const tolerations = array(record(pod.spec).tolerations);
  for (const taint of taints) {
    const toleration = tolerations.find((t) => tolerates(t, taint));
    if (!toleration) return true;
    if (toleration.tolerationSeconds === undefined || toleration.tolerationSeconds === null) continue;
    const added = Date.parse(String(taint.timeAdded ?? ''));
    const since = Number.isFinite(added) ? added : now;
    if (now >= since + Number(toleration.tolerationSeconds) * 1000) return true;
  }
  return false;
}

/**
 * The DefaultTolerationSeconds admission plugin: every new pod tolerates the not-ready and
 * unreachable NoExecute taints for 300 s unless it says otherwise, so a short outage does not
 * evict it at once.
 */
export const defaultTolerations: MutatingAdmissionPlugin = {
  name: 'DefaultTolerationSeconds',
  admit(request) {
    if (request.operation !== 'CREATE' || request.type.kind !== 'Pod' || request.type.group !== '' || request.subresource || !request.object) return;
    const spec = record(request.object.spec);
    const tolerations = array(spec.tolerations);
    for (const key of [taintKeys.notReady, taintKeys.unreachable]) {
      if (tolerations.some((t) => (t.key === key || (t.operator === 'Exists' && !t.key)) && (!t.effect || t.effect === 'NoExecute'))) continue;
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
    spec.tolerations = tolerations;
    request.object.spec = spec;
  },
};
