/**
 * NodeInfo is one node as the scheduler sees it: the node's parsed fields, allocatable, the
 * running sums of what its pods request, the pods themselves (and those with affinity, kept
 * apart so affinity plugins scan only them), host ports in use, and per-NUMA-node and per-GPU
 * allocations. It changes incrementally through addPod/removePod; nothing is recomputed per cycle.
 */
import type { KubeObject } from '../machinery/object.ts';
import { gpuIndicesAnnotation, gpuProductLabel, gpuTopologyAnnotation, numaTopologyAnnotation } from './annotations.ts';
import type { PodInfo, Taint } from './pod-info.ts';
import { resourceGpu, Resources } from './resources.ts';
import { quantityOr } from '../machinery/quantity.ts';

type Json = Record<string, unknown>;
function rec(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}

/** Removes `list[i]` keeping order, without the array splice allocates. */
function removeAt<T>(list: T[], i: number): void {
  for (let j = i + 1; j < list.length; j++) list[j - 1] = list[j]!;
  list.length--;
}

/** One NUMA node's capacity and what aligned pods hold of it. */
export interface NumaCell {
  milliCpu: number;
  memory: number;
  usedMilliCpu: number;
  usedMemory: number;
}

/** Per-NUMA accounting; only pods that asked for single-NUMA placement are pinned to a cell. */
export class NumaState {
  cells: NumaCell[];
  /** Pod key to the cell it holds. */
  assigned = new Map<string, number>();

  constructor(cells: NumaCell[]) {
    this.cells = cells;
  }

  /** The cell a pod asking `milliCpu`/`memory` would get: the tightest that fits, or -1. */
  choose(milliCpu: number, memory: number): number {
    let best = -1;
    let bestFree = Infinity;
    for (let i = 0; i < this.cells.length; i++) {
      const c = this.cells[i]!;
      const freeCpu = c.milliCpu - c.usedMilliCpu;
      const freeMem = c.memory - c.usedMemory;
      if (freeCpu >= milliCpu && freeMem >= memory && freeCpu < bestFree) {
        best = i;
        bestFree = freeCpu;
      }
    }
    return best;
  }

  clone(): NumaState {
    const copy = new NumaState(this.cells.map((c) => ({ ...c })));
    copy.assigned = new Map(this.assigned);
    return copy;
  }
}

/** Per-GPU accounting: which indices are taken, and the NVLink islands they form. */
export class GpuState {
  count: number;
  /** Islands of NVLinked GPU indices; a GPU in no listed island is an island of its own. */
  islands: number[][];
  /** Which island each GPU index belongs to. */
  islandOf: Int32Array;
  /** Owner pod key per GPU index; undefined when free. */
  owner: Array<string | undefined>;
  assigned = new Map<string, number[]>();

  constructor(count: number, islands: number[][]) {
    this.count = count;
    const seen = new Set<number>();
    const clean: number[][] = [];
    for (const island of islands) {
      const members = island.filter((i) => Number.isInteger(i) && i >= 0 && i < count && !seen.has(i));
      members.forEach((i) => seen.add(i));
      if (members.length > 0) clean.push(members);
    }
    for (let i = 0; i < count; i++) if (!seen.has(i)) clean.push([i]);
    this.islands = clean;
    this.islandOf = new Int32Array(count);
    clean.forEach((island, n) => island.forEach((i) => (this.islandOf[i] = n)));
    this.owner = new Array(count).fill(undefined);
  }

  freeIn(island: number[]): number {
    let free = 0;
    for (const i of island) if (this.owner[i] === undefined) free++;
    return free;
  }

  /**
   * The GPU indices a pod asking `count` GPUs would get, or undefined when they cannot be had.
   * Linked pods take them from the tightest island that holds them all; others fill the tightest
   * islands first, so whole islands stay free for linked pods.
   */
  choose(count: number, linked: boolean): number[] | undefined {
    if (count <= 0) return [];
    const byTightness = this.islands
      .map((island) => ({ island, free: this.freeIn(island) }))
      .filter((x) => x.free > 0)
      .sort((a, b) => a.free - b.free);
    if (linked) {
      const fit = byTightness.find((x) => x.free >= count);
      if (!fit) return undefined;
      return fit.island.filter((i) => this.owner[i] === undefined).slice(0, count);
    }
    const picked: number[] = [];
    // Prefer an island that holds the whole request; else fill from the tightest.
    const whole = byTightness.find((x) => x.free >= count);
    const order = whole ? [whole, ...byTightness.filter((x) => x !== whole)] : byTightness;
    for (const { island } of order) {
      for (const i of island) {
        if (picked.length === count) break;
        if (this.owner[i] === undefined) picked.push(i);
      }
    }
    return picked.length === count ? picked : undefined;
  }

  clone(): GpuState {
    const copy = Object.create(GpuState.prototype) as GpuState;
    copy.count = this.count;
    copy.islands = this.islands;
    copy.islandOf = this.islandOf;
    copy.owner = [...this.owner];
    copy.assigned = new Map(this.assigned);
    return copy;
  }
}

/** The pods of a node below some priority, summed (NodeInfo.requestedBelow). */
export interface PriorityTotals {
  /** The node's generation these totals were worked out at. */
  generation: number;
  priority: number;
  count: number;
  milliCpu: number;
  memory: number;
}

/** A problem found reading a node's annotations; the node is still usable, without that feature. */
export interface NodeParseWarning {
  node: string;
  message: string;
}

function parseNumaTopology(raw: string | undefined): NumaCell[] | string | undefined {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return `annotation ${numaTopologyAnnotation} is not JSON`;
  }
  if (!Array.isArray(value) || value.length === 0) return `annotation ${numaTopologyAnnotation} must be a non-empty JSON list like [{"cpu":"32","memory":"128Gi"}]`;
  return value.map((cell) => ({
    milliCpu: Math.round(quantityOr(rec(cell).cpu, 0) * 1000),
    memory: quantityOr(rec(cell).memory, 0),
    usedMilliCpu: 0,
    usedMemory: 0,
  }));
}

function parseGpuTopology(raw: string | undefined): number[][] | string {
  if (raw === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return `annotation ${gpuTopologyAnnotation} is not JSON`;
  }
  const islands = Array.isArray(value) ? value : rec(value).islands;
  if (!Array.isArray(islands) || !islands.every((i) => Array.isArray(i) && i.every((n) => Number.isInteger(n)))) {
    return `annotation ${gpuTopologyAnnotation} must be a JSON list of GPU index lists like [[0,1,2,3],[4,5,6,7]]`;
  }
  return islands as number[][];
}

/** The taints of every untainted node: one array, never changed. */
const noTaints: Taint[] = [];

/** Allocatable amounts by value, so nodes of one shape share one (never changed) Resources. */
const allocatables = new Map<string, Resources>();

/**
 * `r`, or an equal Resources already handed to another node. A filter pass reads every node's
 * allocatable; with one object per node shape it stays in the CPU cache instead of costing a
 * memory load per node.
 */
function sharedAllocatable(r: Resources): Resources {
  let key = `${r.milliCpu}/${r.memory}/${r.ephemeralStorage}/${r.pods}`;
  if (r.scalar) for (const [k, v] of [...r.scalar].sort((a, b) => (a[0] < b[0] ? -1 : 1))) key += `/${k}=${v}`;
  const known = allocatables.get(key);
  if (known) return known;
  // A bound on distinct shapes: past it, nodes keep their own.
  if (allocatables.size < 1024) allocatables.set(key, r);
  return r;
}

export class NodeInfo {
  // What every filter pass reads comes first, so it shares the object's first cache line.
  unschedulable!: boolean;
  /** Never changed in place (untainted nodes share one empty array). */
  taints!: Taint[];
  /** Never changed in place: nodes with equal allocatable amounts share one. */
  allocatable!: Resources;
  requested = new Resources();
  pods: PodInfo[] = [];
  /**
   * Pending pods that preemption nominated to this node, kept by the Scheduler driver (a
   * Framework given its own `nominatedPods` map reads that instead); null when none.
   */
  nominatedPods: readonly PodInfo[] | null = null;
  /** Bumped on every change; lets callers notice a node moved under them. */
  generation = 0;
  /** Internal: requestedBelow's last answer, good while `generation` stays the same. */
  belowMemo: PriorityTotals = { generation: -1, priority: 0, count: 0, milliCpu: 0, memory: 0 };
  node!: KubeObject;
  name!: string;
  labels!: Record<string, string>;
  gpuModel: string | undefined;
  numa: NumaState | null = null;
  gpu: GpuState | null = null;
  /** Problems reading this node's annotations. */
  warnings: string[] = [];
  nonZeroMilliCpu = 0;
  nonZeroMemory = 0;
  podsWithAffinity: PodInfo[] = [];
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  /** `protocol/port` to the host IPs bound on it. */
  usedPorts: Map<string, string[]> | null = null;

  constructor(node: KubeObject) {
    this.setNode(node);
  }

  /** Reads `node`'s fields; keeps the pods and their accounting (and re-pins NUMA/GPU holders). */
  setNode(node: KubeObject): void {
    const spec = rec(node.spec);
    const status = rec(node.status);
    this.node = node;
    this.name = node.metadata.name ?? '';
    this.labels = node.metadata.labels ?? {};
    this.unschedulable = spec.unschedulable === true;
    const taints = Array.isArray(spec.taints) ? spec.taints : [];
    this.taints = taints.length === 0 ? noTaints : taints.map((t) => ({ key: String(rec(t).key ?? ''), value: String(rec(t).value ?? ''), effect: String(rec(t).effect ?? '') }));
    const allocatable = status.allocatable ?? status.capacity;
    const parsed = Resources.fromList(allocatable);
    if (rec(allocatable).pods === undefined) parsed.pods = 110;
    this.allocatable = sharedAllocatable(parsed);
    this.gpuModel = this.labels[gpuProductLabel];
    const annotations = node.metadata.annotations ?? {};
    this.warnings = [];
    const numa = parseNumaTopology(annotations[numaTopologyAnnotation]);
    if (typeof numa === 'string') this.warnings.push(numa);
    this.numa = Array.isArray(numa) ? new NumaState(numa) : null;
    const gpus = Math.floor(this.allocatable.scalar?.get(resourceGpu) ?? 0);
    const islands = parseGpuTopology(annotations[gpuTopologyAnnotation]);
    if (typeof islands === 'string') this.warnings.push(islands);
    this.gpu = gpus > 0 ? new GpuState(gpus, typeof islands === 'string' ? [] : islands) : null;
    if (this.pods.length > 0 && (this.numa || this.gpu)) for (const p of this.pods) this.pinPod(p);
    this.generation++;
  }

  /** Pins an aligned pod to a NUMA cell and a GPU pod to GPU indices (best effort for pods bound elsewhere). */
  pinPod(p: PodInfo): void {
    if (this.numa && p.numaAligned) {
      const cell = this.numa.choose(p.requests.milliCpu, p.requests.memory);
      if (cell >= 0) {
        const c = this.numa.cells[cell]!;
        c.usedMilliCpu += p.requests.milliCpu;
        c.usedMemory += p.requests.memory;
        this.numa.assigned.set(p.key, cell);
      }
    }
    if (this.gpu && p.gpuCount > 0) {
      const recorded = p.pod.metadata.annotations?.[gpuIndicesAnnotation];
      let indices: number[] | undefined;
      if (recorded) {
        const parsed = recorded.split(',').map(Number);
        if (parsed.every((i) => Number.isInteger(i) && i >= 0 && i < this.gpu!.count && this.gpu!.owner[i] === undefined)) indices = parsed;
      }
      indices ??= this.gpu.choose(p.gpuCount, p.gpuLinked);
      if (indices) {
        for (const i of indices) this.gpu.owner[i] = p.key;
        this.gpu.assigned.set(p.key, indices);
      }
    }
  }

  /** Internal: releases what pinPod took. */
  unpinPod(p: PodInfo): void {
    if (this.numa) {
      const cell = this.numa.assigned.get(p.key);
      if (cell !== undefined) {
        const c = this.numa.cells[cell]!;
        c.usedMilliCpu -= p.requests.milliCpu;
        c.usedMemory -= p.requests.memory;
        this.numa.assigned.delete(p.key);
      }
    }
    if (this.gpu) {
      const indices = this.gpu.assigned.get(p.key);
      if (indices) {
        for (const i of indices) this.gpu.owner[i] = undefined;
        this.gpu.assigned.delete(p.key);
      }
    }
  }

  addPod(p: PodInfo): void {
    this.pods.push(p);
    if (p.hasAffinity) {
      this.podsWithAffinity.push(p);
      if (p.requiredAntiAffinity.length > 0) this.podsWithRequiredAntiAffinity.push(p);
    }
    this.requested.add(p.requests);
    this.nonZeroMilliCpu += p.nonZeroMilliCpu;
    this.nonZeroMemory += p.nonZeroMemory;
    if (p.hostPorts.length > 0) {
      this.usedPorts ??= new Map();
      for (const hp of p.hostPorts) {
        const k = `${hp.protocol}/${hp.port}`;
        const ips = this.usedPorts.get(k);
        if (ips) ips.push(hp.ip);
        else this.usedPorts.set(k, [hp.ip]);
      }
    }
    if (this.numa || this.gpu) this.pinPod(p);
    this.generation++;
  }

  /** Removes the pod with `p.key`; false when it is not on this node. */
  removePod(p: PodInfo): boolean {
    const pods = this.pods;
    let i = pods.length - 1;
    while (i >= 0 && pods[i] !== p) i--;
    if (i < 0) {
      const key = p.key;
      for (let j = 0; j < this.pods.length; j++) {
        if (this.pods[j]!.key === key) {
          i = j;
          break;
        }
      }
      if (i < 0) return false;
    }
    const held = this.pods[i]!;
    removeAt(this.pods, i);
    if (this.podsWithAffinity.length > 0) {
      const a = this.podsWithAffinity.indexOf(held);
      if (a >= 0) removeAt(this.podsWithAffinity, a);
    }
    if (this.podsWithRequiredAntiAffinity.length > 0) {
      const r = this.podsWithRequiredAntiAffinity.indexOf(held);
      if (r >= 0) removeAt(this.podsWithRequiredAntiAffinity, r);
    }
    this.requested.add(held.requests, -1);
    this.nonZeroMilliCpu -= held.nonZeroMilliCpu;
    this.nonZeroMemory -= held.nonZeroMemory;
    if (held.hostPorts.length > 0 && this.usedPorts) {
      for (const hp of held.hostPorts) {
        const k = `${hp.protocol}/${hp.port}`;
        const ips = this.usedPorts.get(k);
        if (!ips) continue;
        const j = ips.indexOf(hp.ip);
        if (j >= 0) ips.splice(j, 1);
        if (ips.length === 0) this.usedPorts.delete(k);
      }
    }
    if (this.numa || this.gpu) this.unpinPod(held);
    this.generation++;
    return true;
  }

  /**
   * What the pods of priority below `priority` hold: how many, and their summed cpu and memory
   * requests. Remembered until the node next changes, so preemption's scan over thousands of
   * nodes reads one small record per node instead of every pod. The record is the node's own:
   * read it before the next call.
   */
  requestedBelow(priority: number): Readonly<PriorityTotals> {
    const m = this.belowMemo;
    if (m.generation === this.generation && m.priority === priority) return m;
    let count = 0;
    let milliCpu = 0;
    let memory = 0;
    const pods = this.pods;
    for (let i = 0; i < pods.length; i++) {
      const p = pods[i]!;
      if (p.priority >= priority) continue;
      count++;
      milliCpu += p.requests.milliCpu;
      memory += p.requests.memory;
    }
    m.generation = this.generation;
    m.priority = priority;
    m.count = count;
    m.milliCpu = milliCpu;
    m.memory = memory;
    return m;
  }

  /** A copy to change freely (preemption's dry runs); pods are shared, containers are not. */
  clone(): NodeInfo {
    const copy = Object.create(NodeInfo.prototype) as NodeInfo;
    Object.assign(copy, this);
    copy.belowMemo = { generation: -1, priority: 0, count: 0, milliCpu: 0, memory: 0 };
    copy.requested = this.requested.clone();
    copy.pods = [...this.pods];
    copy.podsWithAffinity = [...this.podsWithAffinity];
    copy.podsWithRequiredAntiAffinity = [...this.podsWithRequiredAntiAffinity];
    copy.usedPorts = this.usedPorts ? new Map([...this.usedPorts].map(([k, v]) => [k, [...v]])) : null;
    copy.numa = this.numa?.clone() ?? null;
    copy.gpu = this.gpu?.clone() ?? null;
    return copy;
  }
}
