/**
 * Instance types for simulated node pools, from data/instance-types.csv (on-demand and spot prices
 * with their sources) and data/gpu-models.csv (which GPU models are NVLink-connected). A simulated
 * Node built from an instance type carries what a real cloud node carries: capacity, allocatable
 * after system reservations, the well-known topology and instance-type labels, GPU labels, and
 * Nephele's price, NUMA and GPU-topology annotations that the scheduler and the cost model read.
 */
import type { KubeObject } from '../machinery/object.ts';
import { readDataCsv } from './csv.ts';

export interface InstanceType {
  provider: 'aws' | 'gcp' | 'azure' | string;
  name: string;
  vcpu: number;
  memoryGiB: number;
  gpuCount: number;
  /** Empty when the type has no GPU. */
  gpuModel: string;
  gpuMemoryGiB: number;
  /** The region the prices were taken in. */
  region: string;
  onDemandHourly: number;
  spotHourly: number;
  /** NUMA nodes the vCPUs and memory are split over (a heuristic: two from 48 vCPUs up). */
  numaNodes: number;
  /** Whether the GPUs are linked by NVLink (one island); otherwise each GPU stands alone. */
  nvlink: boolean;
}

let catalog: Map<string, InstanceType> | undefined;

/** Every instance type in data/instance-types.csv, by name. */
export function instanceTypes(): ReadonlyMap<string, InstanceType> {
  if (catalog) return catalog;
  const linked = new Set(readDataCsv('gpu-models.csv').filter((r) => r.nvlink!.startsWith('yes')).map((r) => r.gpu_model!));
  catalog = new Map();
  for (const row of readDataCsv('instance-types.csv')) {
    const vcpu = Number(row.vcpu);
    const gpuModel = row.gpu_model ?? '';
    catalog.set(row.instance_type!, {
      provider: row.provider!,
      name: row.instance_type!,
      vcpu,
      memoryGiB: Number(row.memory_gib),
      gpuCount: Number(row.gpu_count || 0),
      gpuModel,
      gpuMemoryGiB: Number(row.gpu_memory_gib || 0),
      region: row.region!,
      onDemandHourly: Number(row.on_demand_usd_per_hour),
      spotHourly: Number(row.spot_usd_per_hour_typical || row.on_demand_usd_per_hour),
      numaNodes: vcpu >= 48 ? 2 : 1,
      nvlink: linked.has(gpuModel),
    });
  }
  return catalog;
}

/** The instance type called `name`; the error lists the names there are. */
export function instanceType(name: string): InstanceType {
  const type = instanceTypes().get(name);
  if (!type) throw new Error(`unknown instance type "${name}"; known types: ${[...instanceTypes().keys()].join(', ')}`);
  return type;
}

/** The zones a simulated region has, named as its provider names them. */
export function zonesOf(provider: string, region: string): string[] {
  if (provider === 'gcp') return ['a', 'b', 'c'].map((z) => `${region}-${z}`);
  if (provider === 'azure') return ['1', '2', '3'].map((z) => `${region}-${z}`);
  return ['a', 'b', 'c'].map((z) => `${region}${z}`);
}

export const nodeLabels = {
  hostname: 'kubernetes.io/hostname',
  instanceType: 'node.kubernetes.io/instance-type',
  region: 'topology.kubernetes.io/region',
  zone: 'topology.kubernetes.io/zone',
  capacityType: 'nephele.dev/capacity-type',
  provider: 'nephele.dev/provider',
  pool: 'nephele.dev/node-pool',
  gpuProduct: 'nvidia.com/gpu.product',
  gpuCount: 'nvidia.com/gpu.count',
} as const;

export const nodeAnnotations = {
  /** US dollars per hour this node costs at its capacity type's price. */
  hourlyPrice: 'nephele.dev/hourly-price-usd',
  numaTopology: 'nephele.dev/numa-topology',
  gpuTopology: 'nephele.dev/gpu-topology',
} as const;

export interface SimNodeOptions {
  name: string;
  zone: string;
  /** The region; defaults to the instance type's pricing region. */
  region?: string;
  pool?: string;
  capacityType?: 'on-demand' | 'spot';
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }>;
  /** Cluster time (ms) for the Ready condition's timestamps. */
  now: number;
  kubeletVersion?: string;
}

/** What the system keeps for itself on a node, as the managed Kubernetes offerings reserve it (roughly). */
function reserved(type: InstanceType): { cpuMilli: number; memoryMi: number } {
  const cpuMilli = 60 + 10 * Math.min(type.vcpu, 4) + 2 * Math.max(0, type.vcpu - 4);
  const memoryMi = 255 + Math.round(type.memoryGiB * 1024 * 0.06);
  return { cpuMilli, memoryMi };
}

/** A Ready Node of instance type `type`, as a cloud's node pool would register it. */
export function nodeFromInstanceType(type: InstanceType, options: SimNodeOptions): KubeObject {
  const region = options.region ?? type.region;
  const capacityType = options.capacityType ?? 'on-demand';
  const { cpuMilli, memoryMi } = reserved(type);
  const memoryKi = Math.round(type.memoryGiB * 1024 * 1024);
  const pods = type.vcpu >= 8 ? 250 : 110;
  const capacity: Record<string, string> = { cpu: String(type.vcpu), memory: `${memoryKi}Ki`, pods: String(pods), 'ephemeral-storage': '100Gi' };
  const allocatable: Record<string, string> = { cpu: `${type.vcpu * 1000 - cpuMilli}m`, memory: `${memoryKi - memoryMi * 1024}Ki`, pods: String(pods), 'ephemeral-storage': '95Gi' };
  const labels: Record<string, string> = {
    [nodeLabels.hostname]: options.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    [nodeLabels.instanceType]: type.name,
    [nodeLabels.region]: region,
    [nodeLabels.zone]: options.zone,
    [nodeLabels.provider]: type.provider,
    [nodeLabels.capacityType]: capacityType,
    ...(options.pool ? { [nodeLabels.pool]: options.pool } : {}),
    ...options.labels,
  };
  const annotations: Record<string, string> = {
    [nodeAnnotations.hourlyPrice]: String(capacityType === 'spot' ? type.spotHourly : type.onDemandHourly),
    [nodeAnnotations.numaTopology]: JSON.stringify(numaTopology(type)),
    'node.alpha.kubernetes.io/ttl': '0',
  };
  if (type.gpuCount > 0) {
    capacity['nvidia.com/gpu'] = String(type.gpuCount);
    allocatable['nvidia.com/gpu'] = String(type.gpuCount);
    labels[nodeLabels.gpuProduct] = type.gpuModel;
    labels[nodeLabels.gpuCount] = String(type.gpuCount);
    annotations[nodeAnnotations.gpuTopology] = JSON.stringify(gpuTopology(type));
  }
  const time = new Date(Math.floor(options.now / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: options.name, labels, annotations },
    spec: {
      providerID: `${type.provider}:///${options.zone}/${options.name}`,
      ...(options.taints?.length ? { taints: options.taints } : {}),
    },
    status: {
      capacity,
      allocatable,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: time, lastTransitionTime: time },
        ...['MemoryPressure', 'DiskPressure', 'PIDPressure'].map((t) => ({ type: t, status: 'False', reason: `KubeletHasNo${t}`, message: `kubelet has no ${t.replace('Pressure', '').toLowerCase()} pressure`, lastHeartbeatTime: time, lastTransitionTime: time })),
      ],
      addresses: [{ type: 'InternalIP', address: internalIp(options.name) }, { type: 'Hostname', address: options.name }],
      nodeInfo: {
        kubeletVersion: options.kubeletVersion ?? 'v1.32.0-nephele-sim',
        kubeProxyVersion: options.kubeletVersion ?? 'v1.32.0-nephele-sim',
        containerRuntimeVersion: 'containerd://1.7.0-sim',
        osImage: 'Nephele simulated node',
        kernelVersion: '6.1.0-sim',
        operatingSystem: 'linux',
        architecture: 'amd64',
        machineID: '', systemUUID: '', bootID: '',
      },
    },
  };
}

/** The NUMA nodes' share of the node's CPUs and memory, as the scheduler's NUMA filter reads them. */
function numaTopology(type: InstanceType): Array<{ id: number; cpu: number; memory: string }> {
  const perCpu = type.vcpu / type.numaNodes;
  const perMemKi = Math.floor((type.memoryGiB * 1024 * 1024) / type.numaNodes);
  return Array.from({ length: type.numaNodes }, (_, id) => ({ id, cpu: perCpu, memory: `${perMemKi}Ki` }));
}

/** GPU indices grouped into NVLink islands: one island of all GPUs, or one per GPU without NVLink. */
function gpuTopology(type: InstanceType): { model: string; islands: number[][] } {
  const all = Array.from({ length: type.gpuCount }, (_, i) => i);
  return { model: type.gpuModel, islands: type.nvlink ? [all] : all.map((i) => [i]) };
}

/** A stable private address for a node name, in 10.0.0.0/8. */
export function internalIp(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  h >>>= 0;
  return `10.${(h >>> 16) & 255}.${(h >>> 8) & 255}.${(h & 255) || 1}`;
}
