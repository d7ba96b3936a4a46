/**
 * A child hub as a member of its parent: it has no nodes of its own, so its capacity is its
 * Ready members' capacity summed (the issue's "capacity summarised upward"): node counts,
 * capacity, allocatable and allocated per resource, GPUs by model, the resource model's
 * replicas per shape, and the CPU price weighted by CPUs.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject } from '../../machinery/object.ts';
import { formatBytes, formatCpu, quantityOr } from '../../machinery/quantity.ts';
import type { ClusterResourceSummary, ResourceList, ResourceModelEntry } from './summary.ts';
import { isClusterReady } from './conditions.ts';

type Json = Record<string, unknown>;
const rec = (v: unknown): Json => (isPlainObject(v) ? v : {});


function addList(into: Map<string, number>, list: unknown): void {
  for (const [k, v] of Object.entries(rec(list))) into.set(k, (into.get(k) ?? 0) + quantityOr(v, 0));
}

function format(sums: Map<string, number>): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of [...sums].sort(([a], [b]) => a.localeCompare(b))) {
    out[k] = k === 'cpu' ? formatCpu(v) : k === 'memory' || k.includes('storage') ? formatBytes(v) : String(Math.round(v));
  }
  return out;
}

export function summarizeHubMembers(clusters: KubeObject[]): ClusterResourceSummary & { resourceModel: ResourceModelEntry[] } {
  const live = clusters.filter((c) => isClusterReady(c) && !c.metadata.deletionTimestamp);
  const capacity = new Map<string, number>();
  const allocatable = new Map<string, number>();
  const allocated = new Map<string, number>();
  const gpus: ClusterResourceSummary['gpus'] = {};
  const model = new Map<string, ResourceModelEntry>();
  let nodeCount = 0;
  let readyNodeCount = 0;
  let pricedCpu = 0;
  let priceTimesCpu = 0;
  for (const c of live) {
    const s = rec(c.status);
    nodeCount += Number(s.nodeCount ?? 0);
    readyNodeCount += Number(s.readyNodeCount ?? 0);
    addList(capacity, s.capacity);
    addList(allocatable, s.allocatable);
    addList(allocated, s.allocated);
    for (const [m, g] of Object.entries(rec(s.gpus))) {
      const gr = rec(g);
      const into = (gpus[m] ??= { capacity: 0, allocatable: 0, allocated: 0 });
      into.capacity += Number(gr.capacity ?? 0);
      into.allocatable += Number(gr.allocatable ?? 0);
      into.allocated += Number(gr.allocated ?? 0);
    }
    for (const e of Array.isArray(s.resourceModel) ? (s.resourceModel as Json[]) : []) {
      const name = String(e.name);
      const entry = model.get(name) ?? { name, requests: rec(e.requests) as Record<string, string>, maxReplicas: 0 };
      entry.maxReplicas += Number(e.maxReplicas ?? 0);
      model.set(name, entry);
    }
    const price = Number(rec(s.pricing).cpuCoreHourUSD);
    const cpus = quantityOr(rec(s.allocatable).cpu, 0);
    if (Number.isFinite(price) && cpus > 0) {
      pricedCpu += cpus;
      priceTimesCpu += price * cpus;
    }
  }
  return {
    nodeCount, readyNodeCount,
    capacity: format(capacity), allocatable: format(allocatable), allocated: format(allocated),
    gpus,
    cpuCoreHourUSD: pricedCpu > 0 ? priceTimesCpu / pricedCpu : undefined,
    resourceModel: [...model.values()].sort((a, b) => a.name.localeCompare(b.name)),
  };
}
