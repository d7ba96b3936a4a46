/**
 * ClusterInfo is a Cluster object read once into what placement needs: identity, topology,
 * taints, readiness, capacity, GPUs, the resource model, prices, energy and latency. Parsing is
 * memoised per object (a WeakMap on identity), so a fleet of a thousand clusters is read once
 * and then reused by every decision; Cluster objects must therefore be treated as immutable once
 * handed in (informer caches replace objects on change, they do not edit them).
 */
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject } from '../../machinery/object.ts';
import { parseQuantity } from '../../machinery/quantity.ts';

/** The extended resource name of NVIDIA GPUs. */
export const gpuResource = 'nvidia.com/gpu';

export interface ClusterTaint {
  key: string;
  value: string | undefined;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface GpuCounts {
  capacity: number;
  allocatable: number;
  allocated: number;
}

/** One pod shape of status.resourceModel, with its requests parsed. */
export interface ResourceShape {
  name: string;
  requests: Readonly<Record<string, number>>;
  maxReplicas: number;
}

export interface ClusterInfo {
  readonly object: KubeObject;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly provider: string | undefined;
  readonly region: string | undefined;
  readonly zone: string | undefined;
  /** spec.access: ReadOnly clusters belong to another hub and are never placed on. */
  readonly access: 'ReadWrite' | 'ReadOnly';
  readonly taints: readonly ClusterTaint[];
  /** The Ready condition: 'Unknown' when the cluster has none. */
  readonly ready: { status: 'True' | 'False' | 'Unknown'; reason?: string; message?: string };
  /** Allocatable resources in base units (cores, bytes, counts); undefined when not reported. */
  readonly allocatable: Readonly<Record<string, number>> | undefined;
  readonly allocated: Readonly<Record<string, number>>;
  /** GPUs by model. */
  readonly gpus: Readonly<Record<string, GpuCounts>>;
  readonly resourceModel: readonly ResourceShape[];
  /** Hourly prices: spec.pricing.cpuCoreHourUSD overrides the one read from the nodes. */
  readonly pricing: { cpuCoreHourUSD?: number; memoryGiBHourUSD?: number; gpuHourUSD?: number };
  readonly carbonIntensityGramsPerKWh: number | undefined;
  readonly pue: number | undefined;
  /** Round-trip milliseconds from named user regions. */
  readonly latency: Readonly<Record<string, number>>;
}

/** A Cluster object placement cannot read; the message names the cluster and the field. */
export class PlacementInputError extends Error {
  override name = 'PlacementInputError';
}

const cache = new WeakMap<KubeObject, ClusterInfo>();

/** The ClusterInfo of a Cluster object, parsed on first use and memoised; throws PlacementInputError on malformed fields. */
export function clusterInfo(cluster: KubeObject): ClusterInfo {
  let info = cache.get(cluster);
  if (!info) {
    info = parseCluster(cluster);
    cache.set(cluster, info);
  }
  return info;
}

function record(v: unknown): Record<string, unknown> {
  return isPlainObject(v) ? v : {};
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function optionalNumber(v: unknown, where: string, name: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new PlacementInputError(`cluster ${name}: ${where} must be a non-negative number, got ${JSON.stringify(v)}`);
  return v;
}

function resourceList(v: unknown, where: string, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(record(v))) {
    if (typeof value !== 'string' && typeof value !== 'number') throw new PlacementInputError(`cluster ${name}: ${where}.${key} must be a quantity, got ${JSON.stringify(value)}`);
    try {
      out[key] = parseQuantity(value);
    } catch (err) {
      throw new PlacementInputError(`cluster ${name}: ${where}.${key}: ${(err as Error).message}`);
    }
  }
  return out;
}

function parseCluster(cluster: KubeObject): ClusterInfo {
  const name = cluster.metadata?.name;
  if (typeof name !== 'string' || name === '') throw new PlacementInputError('a Cluster object has no metadata.name');
  if (cluster.kind !== undefined && cluster.kind !== 'Cluster') throw new PlacementInputError(`cluster ${name}: kind must be Cluster, got ${String(cluster.kind)}`);
  const spec = record(cluster.spec);
  const status = record(cluster.status);

  const taints: ClusterTaint[] = [];
  for (const t of Array.isArray(spec.taints) ? spec.taints : []) {
    const taint = record(t);
    const effect = taint.effect;
    if (typeof taint.key !== 'string' || (effect !== 'NoSchedule' && effect !== 'PreferNoSchedule' && effect !== 'NoExecute')) {
      throw new PlacementInputError(`cluster ${name}: spec.taints entries need a key and an effect of NoSchedule, PreferNoSchedule or NoExecute, got ${JSON.stringify(t)}`);
    }
    taints.push({ key: taint.key, value: optionalString(taint.value), effect });
  }

  let ready: ClusterInfo['ready'] = { status: 'Unknown', reason: 'NoReadyCondition', message: 'the cluster has not reported a Ready condition' };
  for (const c of Array.isArray(status.conditions) ? status.conditions : []) {
    const cond = record(c);
    if (cond.type !== 'Ready') continue;
    const s = cond.status === 'True' || cond.status === 'False' ? cond.status : 'Unknown';
    ready = { status: s, ...(typeof cond.reason === 'string' ? { reason: cond.reason } : {}), ...(typeof cond.message === 'string' ? { message: cond.message } : {}) };
  }

  const gpus: Record<string, GpuCounts> = {};
  for (const [model, raw] of Object.entries(record(status.gpus))) {
    const g = record(raw);
    gpus[model] = {
      capacity: optionalNumber(g.capacity, `status.gpus.${model}.capacity`, name) ?? 0,
      allocatable: optionalNumber(g.allocatable, `status.gpus.${model}.allocatable`, name) ?? 0,
      allocated: optionalNumber(g.allocated, `status.gpus.${model}.allocated`, name) ?? 0,
    };
  }

  const resourceModel: ResourceShape[] = [];
  for (const raw of Array.isArray(status.resourceModel) ? status.resourceModel : []) {
    const entry = record(raw);
    const shapeName = typeof entry.name === 'string' ? entry.name : '';
    resourceModel.push({
      name: shapeName,
      requests: resourceList(entry.requests, `status.resourceModel[${shapeName}].requests`, name),
      maxReplicas: Math.floor(optionalNumber(entry.maxReplicas, `status.resourceModel[${shapeName}].maxReplicas`, name) ?? 0),
    });
  }

  const statusPricing = record(status.pricing);
  const specPricing = record(spec.pricing);
  const pricing: ClusterInfo['pricing'] = {};
  const cpuPrice = optionalNumber(specPricing.cpuCoreHourUSD, 'spec.pricing.cpuCoreHourUSD', name) ?? optionalNumber(statusPricing.cpuCoreHourUSD, 'status.pricing.cpuCoreHourUSD', name);
  const memoryPrice = optionalNumber(statusPricing.memoryGiBHourUSD, 'status.pricing.memoryGiBHourUSD', name);
  const gpuPrice = optionalNumber(statusPricing.gpuHourUSD, 'status.pricing.gpuHourUSD', name);
  if (cpuPrice !== undefined) pricing.cpuCoreHourUSD = cpuPrice;
  if (memoryPrice !== undefined) pricing.memoryGiBHourUSD = memoryPrice;
  if (gpuPrice !== undefined) pricing.gpuHourUSD = gpuPrice;

  const energy = record(spec.energy);
  const latency: Record<string, number> = {};
  for (const [region, ms] of Object.entries(record(spec.latency))) {
    latency[region] = optionalNumber(ms, `spec.latency.${region}`, name) ?? 0;
  }

  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(record(cluster.metadata.labels))) labels[k] = String(v);

  return {
    object: cluster,
    name,
    labels,
    provider: optionalString(spec.provider),
    region: optionalString(spec.region),
    zone: optionalString(spec.zone),
    access: spec.access === 'ReadOnly' ? 'ReadOnly' : 'ReadWrite',
    taints,
    ready,
    allocatable: isPlainObject(status.allocatable) ? resourceList(status.allocatable, 'status.allocatable', name) : undefined,
    allocated: resourceList(status.allocated, 'status.allocated', name),
    gpus,
    resourceModel,
    pricing,
    carbonIntensityGramsPerKWh: optionalNumber(energy.carbonIntensityGramsPerKWh, 'spec.energy.carbonIntensityGramsPerKWh', name),
    pue: optionalNumber(energy.pue, 'spec.energy.pue', name),
    latency,
  };
}
