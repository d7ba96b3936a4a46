/**
 * What the portal reads from fleet objects: quantities, conditions, and per-cluster summaries,
 * computed once here so every view shows the same numbers.
 */
import type { WatchedObject } from './state/reducer.ts';

const suffixes: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, Pi: 1024 ** 5, Ei: 1024 ** 6,
};

/** A Kubernetes quantity as a number ('250m' is 0.25, '1Gi' 1073741824); 0 when absent or unreadable. */
export function quantity(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return 0;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(value.trim());
  if (!m) return 0;
  const factor = suffixes[m[2]!];
  return factor === undefined ? 0 : Number(m[1]) * factor;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export function conditions(obj: WatchedObject): Condition[] {
  const status = (obj.status ?? {}) as { conditions?: Condition[] };
  return Array.isArray(status.conditions) ? status.conditions : [];
}

export type Health = 'Ready' | 'NotReady' | 'Unknown';

export function health(obj: WatchedObject): Health {
  const ready = conditions(obj).find((c) => c.type === 'Ready');
  return ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
}

/** The numbers the overview and the clusters table show for one Cluster. */
export interface ClusterSummary {
  name: string;
  provider: string;
  region: string;
  zone: string;
  mode: string;
  /** `ReadOnly` for a cluster another hub owns and this hub only observes; `ReadWrite` otherwise. */
  access: 'ReadWrite' | 'ReadOnly';
  health: Health;
  nodes: number;
  readyNodes: number;
  cpu: { allocated: number; allocatable: number };
  memory: { allocated: number; allocatable: number };
  pods: { allocated: number; allocatable: number };
  gpus: { allocated: number; allocatable: number };
  labels: Record<string, string>;
  version: string;
}

export function clusterSummary(obj: WatchedObject): ClusterSummary {
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const status = (obj.status ?? {}) as Record<string, unknown>;
  const allocatable = (status.allocatable ?? {}) as Record<string, string>;
  const allocated = (status.allocated ?? {}) as Record<string, string>;
  const gpus = Object.values((status.gpus ?? {}) as Record<string, { allocatable?: number; allocated?: number }>);
  return {
    name: obj.metadata.name ?? '',
    provider: String(spec.provider ?? 'unknown'),
    region: String(spec.region ?? 'unknown'),
    zone: String(spec.zone ?? ''),
    mode: String(spec.mode ?? ''),
    access: spec.access === 'ReadOnly' ? 'ReadOnly' : 'ReadWrite',
    health: health(obj),
    nodes: Number(status.nodeCount ?? 0),
    readyNodes: Number(status.readyNodeCount ?? 0),
    cpu: { allocated: quantity(allocated.cpu), allocatable: quantity(allocatable.cpu) },
    memory: { allocated: quantity(allocated.memory), allocatable: quantity(allocatable.memory) },
    pods: { allocated: quantity(allocated.pods), allocatable: quantity(allocatable.pods) },
    gpus: { allocated: gpus.reduce((s, g) => s + (g.allocated ?? 0), 0), allocatable: gpus.reduce((s, g) => s + (g.allocatable ?? 0), 0) },
    labels: ((obj.metadata.labels ?? {}) as Record<string, string>),
    version: String(status.kubernetesVersion ?? ''),
  };
}

/** A share as a whole percentage, 0 when there is nothing to share. */
export function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 100) : 0;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function formatCores(cores: number): string {
  return cores >= 100 ? `${Math.round(cores)}` : `${Number(cores.toFixed(2))}`;
}

/** Relative age of a timestamp ('12s', '5m', '3h', '2d'); '' when absent. */
export function age(time: unknown, now = Date.now()): string {
  if (typeof time !== 'string') return '';
  const s = Math.max(0, Math.round((now - Date.parse(time)) / 1000));
  if (Number.isNaN(s)) return '';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
