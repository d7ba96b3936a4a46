/**
 * The node autoscaler, with the cluster autoscaler's profile:
 *
 * - scale up: pods the scheduler marked Unschedulable are tried, with the scheduler's own
 *   what-if, on fresh nodes of every pool that may still grow; the pool that fits them with the
 *   least waste wins (unused GPUs weigh most, so GPU pods land on the smallest GPU node that
 *   holds them: GPU bin-packing), cheaper per pod on a tie; it gets as many nodes as the pods need;
 * - scale down: a node of a pool above its minimum whose requested CPU and memory both stay below
 *   the utilisation threshold (50%) for the unneeded time (10 min) is removed when the scheduler's
 *   what-if places all its pods on the other nodes: it is tainted, its pods are evicted (their
 *   controllers recreate them elsewhere), then it is deleted. DaemonSet pods do not count, and a
 *   pod with no controller keeps its node, as upstream.
 *
 * It writes what it did as Events (TriggeredScaleUp on pods, ScaleDown on nodes) and a readable
 * summary in the ConfigMap kube-system/cluster-autoscaler-status.
 */
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import type { Informer } from '../client/index.ts';
import type { CancelTimer, Runnable } from '../controller/index.ts';
import { whatIf } from '../scheduler/index.ts';
import type { SimContext, SimController } from './context.ts';
import { poolNode, type NodePool } from './node-pools.ts';
import { nodeLabels } from './instance-types.ts';
import { nodesRef, podsRef } from './resources.ts';
import { array, podNodeName, podPhase, record } from './pods.ts';
import { quantityOr } from '../machinery/quantity.ts';

export interface AutoscalerOptions {
  cluster: string;
  pools: readonly NodePool[];
  /** Cluster time between scans. Default 10 s. */
  scanIntervalMs?: number;
  /** Requested share of allocatable below which a node is unneeded. Default 0.5. */
  scaleDownUtilizationThreshold?: number;
  /** How long a node stays unneeded before it goes. Default 10 min. */
  scaleDownUnneededMs?: number;
  /** Most nodes added to one pool in one scan. Default 100. */
  maxNodesPerScaleUp?: number;
}

export const toBeDeletedTaint = 'ToBeDeletedByClusterAutoscaler';
const statusName = 'cluster-autoscaler-status';

export function nodeAutoscaler(options: AutoscalerOptions): SimController {
  return (ctx) => new NodeAutoscaler(ctx, options);
}

export interface ScaleUpPlan {
  pool: NodePool;
  nodes: number;
  /** Pending pods the new nodes hold. */
  pods: number;
  waste: number;
  hourlyCost: number;
}

class NodeAutoscaler implements Runnable {
  readonly #ctx: SimContext;
  readonly #options: Required<Omit<AutoscalerOptions, 'cluster' | 'pools'>> & Pick<AutoscalerOptions, 'cluster' | 'pools'>;
  readonly #nodes: Informer;
  readonly #pods: Informer;
  readonly #unneededSince = new Map<string, number>();
  readonly #log: string[] = [];
  #timer: CancelTimer | undefined;
  #running = false;

  constructor(ctx: SimContext, options: AutoscalerOptions) {
    this.#ctx = ctx;
    this.#options = { scanIntervalMs: 10_000, scaleDownUtilizationThreshold: 0.5, scaleDownUnneededMs: 10 * 60_000, maxNodesPerScaleUp: 100, ...options };
    this.#nodes = ctx.informers.informer(nodesRef);
    this.#pods = ctx.informers.informer(podsRef);
  }

  async start(): Promise<void> {
    this.#running = true;
    this.#nodes.start();
    this.#pods.start();
    await Promise.all([this.#nodes.synced, this.#pods.synced]);
    const tick = async (): Promise<void> => {
      if (!this.#running) return;
      try {
        await this.scan();
      } catch (err) {
        this.#ctx.log('error', 'node autoscaler: scan failed', { error: err instanceof Error ? err.message : String(err) });
      }
      if (this.#running) this.#timer = this.#ctx.scheduler.after(this.#options.scanIntervalMs, tick);
    };
    this.#timer = this.#ctx.scheduler.after(this.#options.scanIntervalMs, tick);
  }

  async stop(): Promise<void> {
    this.#running = false;
    // The informers are the cluster's, shared: they stop with it.
    this.#timer?.();
  }

  /** One pass: scale up if pods wait, otherwise look for a node to remove. */
  async scan(): Promise<void> {
    const pods = this.#pods.list();
    // Pods that now fit on the nodes there are (new ones the scheduler has not retried them on yet) need no new node.
    const waiting = pods.filter(isUnschedulable);
    const bound = pods.filter((p) => podNodeName(p) && !isFinished(p));
    const fitNow = waiting.length ? new Set(whatIf(this.#nodes.list().filter((n) => !isBeingRemoved(n)), bound, waiting).placements.map((p) => p.pod)) : new Set<string>();
    const pending = waiting.filter((p) => !fitNow.has(`${p.metadata.namespace}/${p.metadata.name}`));
    if (waiting.length > 0) {
      if (pending.length === 0) return;
      const plan = this.planScaleUp(pending);
      if (plan) await this.#scaleUp(plan, pending);
      return;
    }
    await this.#scaleDown();
  }

  /** The best pool to grow for `pending`, and by how much; undefined when no pool can help. */
  planScaleUp(pending: KubeObject[]): ScaleUpPlan | undefined {
    const now = this.#ctx.scheduler.now();
    let best: ScaleUpPlan | undefined;
    for (const pool of this.#options.pools) {
      const current = this.#poolNodes(pool).length;
      const room = Math.min(pool.max - current, this.#options.maxNodesPerScaleUp);
      if (room <= 0) continue;
      // What fits on as many fresh nodes as may be added, then the fewest nodes that hold as much.
      const fresh = Array.from({ length: room }, (_, i) => poolNode(this.#options.cluster, pool, 1_000_000 + i, now));
      const most = whatIf(fresh, [], pending).fits;
      if (most === 0) continue;
      let lo = 1;
      let hi = room;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (whatIf(fresh.slice(0, mid), [], pending).fits >= most) hi = mid;
        else lo = mid + 1;
      }
      const placed = whatIf(fresh.slice(0, lo), [], pending);
      const placedPods = new Set(placed.placements.map((p) => p.pod));
      const used = pending.filter((p) => placedPods.has(`${p.metadata.namespace}/${p.metadata.name}`)).reduce((sum, p) => addRequests(sum, p), { cpu: 0, memory: 0, gpu: 0 });
      const cpu = pool.type.vcpu * lo;
      const memory = pool.type.memoryGiB * 2 ** 30 * lo;
      const gpus = pool.type.gpuCount * lo;
      const waste = (gpus > 0 ? 10 * (1 - used.gpu / gpus) : 0) + (1 - used.cpu / cpu) + (1 - used.memory / memory);
      const hourly = (pool.capacityType === 'spot' ? pool.type.spotHourly : pool.type.onDemandHourly) * lo;
      const plan: ScaleUpPlan = { pool, nodes: lo, pods: placed.fits, waste, hourlyCost: hourly };
      if (!best || plan.pods > best.pods || (plan.pods === best.pods && (plan.waste < best.waste - 1e-9 || (Math.abs(plan.waste - best.waste) <= 1e-9 && plan.hourlyCost / plan.pods < best.hourlyCost / best.pods)))) best = plan;
    }
    return best;
  }

  async #scaleUp(plan: ScaleUpPlan, pending: KubeObject[]): Promise<void> {
    const now = this.#ctx.scheduler.now();
    let index = this.#nextIndex(plan.pool);
    for (let i = 0; i < plan.nodes; i++, index++) {
      await this.#ctx.client.create(nodesRef, undefined, poolNode(this.#options.cluster, plan.pool, index, now)).catch(ignoreExists);
    }
    const message = `pod triggered scale-up: [{${plan.pool.name} ${this.#poolNodes(plan.pool).length}->${this.#poolNodes(plan.pool).length + plan.nodes} (max: ${plan.pool.max})}]`;
    const recorder = this.#ctx.recorder('cluster-autoscaler');
    for (const pod of pending.slice(0, 50)) void recorder.normal(pod, 'TriggeredScaleUp', message);
    await this.#note(`${this.#ctx.scheduler.nowIso()} scale-up: pool ${plan.pool.name} +${plan.nodes} node(s) of ${plan.pool.type.name} for ${plan.pods} pending pod(s)`);
  }

  async #scaleDown(): Promise<void> {
    const now = this.#ctx.scheduler.now();
    const nodes = this.#nodes.list();
    const pods = this.#pods.list().filter((p) => podNodeName(p) && !isFinished(p));
    const byNode = new Map<string, KubeObject[]>();
    for (const p of pods) {
      const list = byNode.get(podNodeName(p)!) ?? [];
      list.push(p);
      byNode.set(podNodeName(p)!, list);
    }
    for (const pool of this.#options.pools) {
      const members = this.#poolNodes(pool);
      if (members.length <= pool.min) {
        for (const n of members) this.#unneededSince.delete(n.metadata.name!);
        continue;
      }
      for (const node of members) {
        const name = node.metadata.name!;
        const onNode = (byNode.get(name) ?? []).filter((p) => !isDaemonPod(p));
        if (utilisation(node, onNode) >= this.#options.scaleDownUtilizationThreshold) {
          this.#unneededSince.delete(name);
          continue;
        }
        const since = this.#unneededSince.get(name) ?? now;
        this.#unneededSince.set(name, since);
        if (now - since < this.#options.scaleDownUnneededMs) continue;
        if (onNode.some((p) => !p.metadata.ownerReferences?.some((r) => r.controller === true))) continue;
        const others = nodes.filter((n) => n.metadata.name !== name && !isBeingRemoved(n));
        const rest = pods.filter((p) => podNodeName(p) !== name);
        const moved = onNode.map((p) => ({ ...p, spec: { ...record(p.spec), nodeName: undefined } }));
        if (whatIf(others, rest, moved).fits < moved.length) continue;
        await this.#remove(node, onNode);
        this.#unneededSince.delete(name);
        return;
      }
    }
  }

  async #remove(node: KubeObject, pods: KubeObject[]): Promise<void> {
    const name = node.metadata.name!;
    const fresh = await this.#ctx.client.get(nodesRef, undefined, name);
    const taints = array(record(fresh.spec).taints).filter((t) => t.key !== toBeDeletedTaint);
    await this.#ctx.client.update(nodesRef, undefined, { ...fresh, spec: { ...record(fresh.spec), unschedulable: true, taints: [...taints, { key: toBeDeletedTaint, value: String(Math.floor(this.#ctx.scheduler.now() / 1000)), effect: 'NoSchedule' }] } });
    for (const pod of pods) {
      await this.#ctx.client.delete(podsRef, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } }).catch(ignoreGone);
    }
    await this.#ctx.client.delete(nodesRef, undefined, name).catch(ignoreGone);
    void this.#ctx.recorder('cluster-autoscaler').normal(node, 'ScaleDown', `node removed by cluster autoscaler: utilisation below ${this.#options.scaleDownUtilizationThreshold} for ${Math.round(this.#options.scaleDownUnneededMs / 60_000)} min; ${pods.length} pod(s) moved`);
    await this.#note(`${this.#ctx.scheduler.nowIso()} scale-down: removed ${name}, moved ${pods.length} pod(s)`);
  }

  #poolNodes(pool: NodePool): KubeObject[] {
    return this.#nodes.list().filter((n) => n.metadata.labels?.[nodeLabels.pool] === pool.name);
  }

  #nextIndex(pool: NodePool): number {
    const prefix = `${this.#options.cluster}-${pool.name}-`;
    let next = 0;
    for (const n of this.#poolNodes(pool)) {
      const i = Number(n.metadata.name!.slice(prefix.length));
      if (Number.isInteger(i)) next = Math.max(next, i + 1);
    }
    return next;
  }

  /** Keeps the last 20 actions in the status ConfigMap. */
  async #note(line: string): Promise<void> {
    this.#log.push(line);
    if (this.#log.length > 20) this.#log.shift();
    const summary = this.#options.pools.map((p) => `${p.name}: ${this.#poolNodes(p).length} node(s) (min ${p.min}, max ${p.max}, ${p.type.name})`).join('\n');
    const data = { status: `${summary}\n`, recent: `${this.#log.join('\n')}\n` };
    try {
      const existing = await this.#ctx.client.get(configMapsRef, 'kube-system', statusName);
      await this.#ctx.client.update(configMapsRef, 'kube-system', { ...existing, data });
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
      await this.#ctx.client.create(configMapsRef, 'kube-system', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: statusName, namespace: 'kube-system' }, data });
    }
  }
}

const configMapsRef = { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };

function isUnschedulable(pod: KubeObject): boolean {
  if (podNodeName(pod) || pod.metadata.deletionTimestamp || isFinished(pod)) return false;
  return array(record(pod.status).conditions).some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
}

function isFinished(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase === 'Succeeded' || phase === 'Failed';
}

function isDaemonPod(pod: KubeObject): boolean {
  return pod.metadata.ownerReferences?.some((r) => r.controller === true && r.kind === 'DaemonSet') === true;
}

function isBeingRemoved(node: KubeObject): boolean {
  return array(record(node.spec).taints).some((t) => t.key === toBeDeletedTaint);
}

function addRequests(sum: { cpu: number; memory: number; gpu: number }, pod: KubeObject): { cpu: number; memory: number; gpu: number } {
  for (const c of array(record(pod.spec).containers)) {
    const requests = record(record(c.resources).requests);
    const limits = record(record(c.resources).limits);
    sum.cpu += quantityOr(requests.cpu, 0);
    sum.memory += quantityOr(requests.memory, 0);
    sum.gpu += quantityOr(requests['nvidia.com/gpu'] ?? limits['nvidia.com/gpu'], 0);
  }
  return sum;
}

/** The larger of the node's requested CPU and memory shares. */
export function utilisation(node: KubeObject, pods: KubeObject[]): number {
  const allocatable = record(record(node.status).allocatable);
  const used = pods.reduce((sum, p) => addRequests(sum, p), { cpu: 0, memory: 0, gpu: 0 });
  const cpu = quantityOr(allocatable.cpu, 0);
  const memory = quantityOr(allocatable.memory, 0);
  const gpu = quantityOr(allocatable['nvidia.com/gpu'], 0);
  return Math.max(cpu ? used.cpu / cpu : 0, memory ? used.memory / memory : 0, gpu ? used.gpu / gpu : 0);
}

function ignoreExists(err: unknown): void {
  if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
}

function ignoreGone(err: unknown): void {
  if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) throw err;
}
