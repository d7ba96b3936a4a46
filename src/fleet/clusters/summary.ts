/**
 * What a member cluster's nodes and pods add up to, as the Cluster's status reports it: node
 * counts, capacity and allocatable summed over nodes, what bound pods request, GPUs by model, the
 * price of a CPU core hour, and how many more pods of a few standard shapes the cluster's own
 * scheduler would place. Pure functions of the objects given, so the hub (reading a member) and
 * the pull agent (reading the cluster it runs beside) report the same numbers.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject } from '../../machinery/object.ts';
import { maxReplicas } from '../../scheduler/index.ts';
import { formatBytes, formatCpu, quantityOr } from '../../machinery/quantity.ts';

/** The node label naming a node's GPU model (set by NVIDIA's GPU feature discovery). */
export const gpuProductLabel = 'nvidia.com/gpu.product';
/** The extended resource NVIDIA's device plugin advertises. */
export const gpuResource = 'nvidia.com/gpu';
/** The node annotation with what the node costs an hour, in US dollars. */
export const hourlyPriceAnnotation = 'nephele.dev/hourly-price-usd';

export type ResourceList = Record<string, string>;

export interface GpuModelSummary {
  capacity: number;
  allocatable: number;
  allocated: number;
}

/** The node- and pod-derived part of a Cluster's status. */
export interface ClusterResourceSummary {
  nodeCount: number;
  readyNodeCount: number;
  capacity: ResourceList;
  allocatable: ResourceList;
  allocated: ResourceList;
  /** By the nodes' `nvidia.com/gpu.product` label; absent models are omitted. */
  gpus: Record<string, GpuModelSummary>;
  /** Undefined when no node carries a price annotation. */
  cpuCoreHourUSD: number | undefined;
}

/** A pod shape whose headroom the resource model reports. */
export interface ResourceShape {
  name: string;
  requests: Record<string, string>;
}

/** One row of status.resourceModel. */
export interface ResourceModelEntry {
  name: string;
  requests: Record<string, string>;
  maxReplicas: number;
}

/** The shapes a Cluster's resource model reports unless told otherwise. */
export const standardShapes: readonly ResourceShape[] = [
  { name: 'small', requests: { cpu: '250m', memory: '256Mi' } },
  { name: 'medium', requests: { cpu: '1', memory: '1Gi' } },
  { name: 'large', requests: { cpu: '4', memory: '8Gi' } },
  { name: 'gpu-1', requests: { cpu: '1', memory: '4Gi', [gpuResource]: '1' } },
];

function record(value: unknown): Record<string, unknown> {
  return isPlainObject(value) ? value : {};
}

/** A node whose Ready condition is True. */
export function isNodeReady(node: KubeObject): boolean {
  const conditions = record(node.status).conditions;
  return Array.isArray(conditions) && conditions.some((c) => isPlainObject(c) && c.type === 'Ready' && c.status === 'True');
}

/** Neither Succeeded nor Failed: the pod still holds what it requested. */
export function isPodNonTerminal(pod: KubeObject): boolean {
  const phase = record(pod.status).phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * What a pod requests, as the scheduler counts it: the sum over its containers, raised to the
 * largest single init container where that is more, plus the pod's overhead.
 */
export function podRequests(pod: KubeObject): Map<string, number> {
  const spec = record(pod.spec);
  const total = new Map<string, number>();
  for (const container of Array.isArray(spec.containers) ? spec.containers : []) {
    for (const [name, value] of Object.entries(record(record(record(container).resources).requests))) {
      total.set(name, (total.get(name) ?? 0) + quantityOr(value, 0));
    }
  }
  for (const container of Array.isArray(spec.initContainers) ? spec.initContainers : []) {
    for (const [name, value] of Object.entries(record(record(record(container).resources).requests))) {
      const amount = quantityOr(value, 0);
      if (amount > (total.get(name) ?? 0)) total.set(name, amount);
    }
  }
  for (const [name, value] of Object.entries(record(spec.overhead))) total.set(name, (total.get(name) ?? 0) + quantityOr(value, 0));
  return total;
}

/** Formats a summed quantity of `resource`: cores for cpu, binary units for bytes, plain counts otherwise. */
export function formatResource(resource: string, amount: number): string {
  if (resource === 'cpu') return formatCpu(amount);
  if (resource === 'memory' || resource.endsWith('storage') || resource.startsWith('hugepages-')) return formatBytes(amount);
  return Number.isInteger(amount) ? String(amount) : String(Math.round(amount * 1000) / 1000);
}

function addAll(into: Map<string, number>, list: unknown): void {
  for (const [name, value] of Object.entries(record(list))) into.set(name, (into.get(name) ?? 0) + quantityOr(value, 0));
}

function formatList(amounts: Map<string, number>): ResourceList {
  const out: ResourceList = {};
  for (const name of [...amounts.keys()].sort()) out[name] = formatResource(name, amounts.get(name)!);
  return out;
}

/**
 * Sums `nodes` and the non-terminal pods bound to them (`spec.nodeName` set; pending pods hold
 * nothing yet). A pod bound to a node not in `nodes` still counts towards `allocated`, but its
 * GPUs have no model to count under.
 */
export function summarizeResources(nodes: readonly KubeObject[], pods: readonly KubeObject[]): ClusterResourceSummary {
  const capacity = new Map<string, number>();
  const allocatable = new Map<string, number>();
  const allocated = new Map<string, number>();
  const gpus: Record<string, GpuModelSummary> = {};
  const modelOfNode = new Map<string, string>();
  let readyNodeCount = 0;
  let pricedCpu = 0;
  let price = 0;
  for (const node of nodes) {
    const status = record(node.status);
    addAll(capacity, status.capacity);
    addAll(allocatable, status.allocatable);
    if (isNodeReady(node)) readyNodeCount++;
    const model = node.metadata.labels?.[gpuProductLabel];
    if (model) {
      modelOfNode.set(node.metadata.name!, model);
      const entry = gpus[model] ??= { capacity: 0, allocatable: 0, allocated: 0 };
      entry.capacity += Math.round(quantityOr(record(status.capacity)[gpuResource], 0));
      entry.allocatable += Math.round(quantityOr(record(status.allocatable)[gpuResource], 0));
    }
    const hourly = Number(node.metadata.annotations?.[hourlyPriceAnnotation]);
    const cpu = quantityOr(record(status.capacity).cpu, 0);
    if (Number.isFinite(hourly) && hourly >= 0 && cpu > 0 && node.metadata.annotations?.[hourlyPriceAnnotation] !== undefined) {
      price += hourly;
      pricedCpu += cpu;
    }
  }
  for (const pod of pods) {
    const nodeName = record(pod.spec).nodeName;
    if (typeof nodeName !== 'string' || nodeName === '' || !isPodNonTerminal(pod)) continue;
    const requests = podRequests(pod);
    for (const [name, amount] of requests) allocated.set(name, (allocated.get(name) ?? 0) + amount);
    // Each pod takes one of its node's pod slots, as `pods` in allocatable counts them.
    allocated.set('pods', (allocated.get('pods') ?? 0) + 1);
    const model = modelOfNode.get(nodeName);
    const gpu = requests.get(gpuResource);
    if (model && gpu) gpus[model]!.allocated += Math.round(gpu);
  }
  return {
    nodeCount: nodes.length,
    readyNodeCount,
    capacity: formatList(capacity),
    allocatable: formatList(allocatable),
    allocated: formatList(allocated),
    gpus,
    cpuCoreHourUSD: pricedCpu > 0 ? Math.round((price / pricedCpu) * 1e6) / 1e6 : undefined,
  };
}

/**
 * What makes two nodes the same to a plain pod shape: everything but the node's identity. Nodes
 * of one pool differ only in name, hostname label and provider ID.
 */
function nodeShapeKey(node: KubeObject): string {
  const { 'kubernetes.io/hostname': _hostname, ...labels } = node.metadata.labels ?? {};
  void _hostname;
  const { providerID: _providerID, ...spec } = record(node.spec);
  void _providerID;
  return JSON.stringify([labels, node.metadata.annotations ?? {}, spec, record(node.status).allocatable ?? {}]);
}

/**
 * How many more pods of each shape the cluster's scheduler would place beside `pods` on `nodes`,
 * from the scheduler's what-if (`maxReplicas`), each count stopping at `limit`.
 *
 * The shapes are plain (requests only: no affinity, spread or host ports), so what fits on one
 * node does not depend on the others, and the count is the sum of `maxReplicas` node by node;
 * empty nodes that differ only in name share one computation. A pool of a hundred identical
 * empty nodes costs one node's what-if, not a hundred scheduling cycles per replica. Still
 * compute it when nodes or pods changed, not every heartbeat.
 */
export function resourceModel(nodes: readonly KubeObject[], pods: readonly KubeObject[], shapes: readonly ResourceShape[] = standardShapes, limit = 100_000): ResourceModelEntry[] {
  // Only bound, running pods take room; the what-if ignores unbound ones anyway.
  const podsByNode = new Map<string, KubeObject[]>();
  for (const pod of pods) {
    const nodeName = record(pod.spec).nodeName;
    if (typeof nodeName !== 'string' || !isPodNonTerminal(pod)) continue;
    let list = podsByNode.get(nodeName);
    if (!list) podsByNode.set(nodeName, list = []);
    list.push(pod);
  }
  const schedulable = nodes.filter((n) => isNodeReady(n) && record(n.spec).unschedulable !== true);
  const keys = schedulable.map((n) => (podsByNode.has(n.metadata.name!) ? undefined : nodeShapeKey(n)));
  return shapes.map((shape) => {
    const template = {
      metadata: { name: `resource-model-${shape.name}`, namespace: 'default' },
      spec: { containers: [{ name: 'main', image: 'resource-model', resources: { requests: shape.requests } }] },
    };
    const byKey = new Map<string, number>();
    let total = 0;
    for (const [i, node] of schedulable.entries()) {
      if (total >= limit) break;
      const key = keys[i];
      const known = key === undefined ? undefined : byKey.get(key);
      const room = limit - total;
      const count = known !== undefined ? Math.min(known, room) : maxReplicas([node], podsByNode.get(node.metadata.name!) ?? [], template, { limit: room });
      // A count cut short by the limit is not what the node holds: do not reuse it.
      if (key !== undefined && known === undefined && count < room) byKey.set(key, count);
      total += count;
    }
    return { name: shape.name, requests: { ...shape.requests }, maxReplicas: total };
  });
}
