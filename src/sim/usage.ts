/**
 * The usage model: how much CPU (cores) and memory (bytes) each container of a simulated cluster
 * uses at any instant. Use has a daily and a weekly rhythm, a slow trend, noise and occasional
 * spikes, all chosen by a profile (`web`, `batch`, `steady`, `memory-leak`, `idle`) and scaled to a
 * base level.
 *
 * Use at time `t` is a pure function of (seed, pod, container name, t): noise comes from hashing,
 * never from stored random state, so fourteen days of history can be computed in any order and
 * agree with what the live metrics endpoint serves. The workload (the pod's owner, with a
 * Deployment's pod-template hash dropped) chooses the shape, so the replicas of one Deployment
 * look alike; the pod's own name adds replica-level noise, so they are not identical.
 *
 * CPU is defined on a 15-second grid and interpolated linearly between grid points, which makes
 * its integral (`cpuSecondsBetween`) exact and additive: the counter over [a, c] is the counter
 * over [a, b] plus the one over [b, c].
 *
 * Annotations (on the pod, usually through its workload's pod template):
 *
 * | annotation | meaning | default |
 * | --- | --- | --- |
 * | `usage.nephele.dev/profile` | `web`, `batch`, `steady`, `memory-leak` or `idle` | `batch` for Jobs, `steady` for DaemonSets, else `web` |
 * | `usage.nephele.dev/cpu` | base CPU, a quantity (`"0.5"`, `"250m"`) | 40-70% of the CPU request (2-5% for `idle`) |
 * | `usage.nephele.dev/memory` | base memory, a quantity (`"256Mi"`) | 40-70% of the memory request (20-30% for `idle`) |
 * | `usage.nephele.dev/seed` | an integer mixed into the workload's noise | 0 |
 *
 * `usage.nephele.dev/cpu.NAME` and `usage.nephele.dev/memory.NAME` set one container's base; the
 * plain forms apply to every container without its own. Without a request the base comes from
 * half the limit, and without either from 100m and 128Mi.
 */
import type { KubeObject } from '../machinery/object.ts';
import { array, record } from './pods.ts';
import { parseQuantity } from '../machinery/quantity.ts';

/** What one container uses at one instant. */
export interface ContainerUsage {
  /** Cores (1 = one CPU busy all the time). */
  cpu: number;
  /** Bytes of working-set memory. */
  memory: number;
}

/** CPU accounting of a container with (or without) a CPU limit, over an interval. */
export interface CpuAccounting {
  /** CPU seconds the container wanted: the integral of `containerUsage().cpu`. */
  demandSeconds: number;
  /** CPU seconds it got: the demand capped at the limit at every instant. */
  usedSeconds: number;
  /** Seconds during which the demand was above the limit (0 without a limit). */
  throttledSeconds: number;
}

/** The usage profiles a workload can choose with `usage.nephele.dev/profile`. */
export const usageProfiles = ['web', 'batch', 'steady', 'memory-leak', 'idle'] as const;
export type UsageProfile = (typeof usageProfiles)[number];

export const usageAnnotations = {
  profile: 'usage.nephele.dev/profile',
  cpu: 'usage.nephele.dev/cpu',
  memory: 'usage.nephele.dev/memory',
  seed: 'usage.nephele.dev/seed',
} as const;

/** The 15-second grid CPU is defined on. */
export const usageGridMs = 15_000;

const minute = 60_000;
const hour = 3_600_000;
const day = 86_400_000;
const week = 7 * day;
/** Integrals are cached per aligned chunk of this many grid cells (one hour). */
const chunkCells = hour / usageGridMs;
const maxCachedChunks = 200_000;

/** A pod's usage annotations do not parse; the message names the pod, the annotation and the fix. */
export class UsageAnnotationError extends Error {
  override name = 'UsageAnnotationError';
}

interface ProfileShape {
  /** Default base as a fraction of the request: [low, high], chosen per workload. */
  cpuFraction: [number, number];
  memoryFraction: [number, number];
  /** Relative CPU noise amplitude. */
  cpuNoise: number;
  memoryNoise: number;
  /** Trend: relative growth per week since the pod was created. */
  growthPerWeek: number;
  /** Chance that a 30-minute slot holds a spike. */
  spikeChance: number;
}

const shapes: Record<UsageProfile, ProfileShape> = {
  web: { cpuFraction: [0.4, 0.7], memoryFraction: [0.4, 0.7], cpuNoise: 0.12, memoryNoise: 0.02, growthPerWeek: 0.03, spikeChance: 0.04 },
  batch: { cpuFraction: [0.4, 0.7], memoryFraction: [0.4, 0.7], cpuNoise: 0.15, memoryNoise: 0.03, growthPerWeek: 0.02, spikeChance: 0.02 },
  steady: { cpuFraction: [0.4, 0.7], memoryFraction: [0.4, 0.7], cpuNoise: 0.04, memoryNoise: 0.01, growthPerWeek: 0, spikeChance: 0.01 },
  'memory-leak': { cpuFraction: [0.4, 0.7], memoryFraction: [0.3, 0.45], cpuNoise: 0.05, memoryNoise: 0.01, growthPerWeek: 0, spikeChance: 0.01 },
  idle: { cpuFraction: [0.02, 0.05], memoryFraction: [0.2, 0.3], cpuNoise: 0.2, memoryNoise: 0.01, growthPerWeek: 0, spikeChance: 0.02 },
};

/** Everything the model needs about one container, read from the pod once. */
interface ContainerParams {
  profile: UsageProfile;
  shape: ProfileShape;
  baseCpu: number;
  baseMemory: number;
  /** Hash of (seed, workload): drives the shape. */
  workload: number;
  /** Hash of (seed, namespace/pod, container): drives replica-level noise and spikes. */
  instance: number;
  /** Replica-level scale around 1 (±6%). */
  replicaScale: number;
  /** Hour of day (UTC) at which a web workload peaks. */
  peakHour: number;
  /** Start hour (UTC) of a batch workload's nightly window. */
  batchStart: number;
  /** Memory-leak growth: relative to base, per hour. */
  leakPerHour: number;
  /** Memory-leak restart period assumed before the container started. */
  leakPeriod: number;
  /** The trend's anchor: pod creation (ms), or undefined for no trend. */
  trendAnchor: number | undefined;
  /** The container's start (ms), where the memory leak begins. */
  started: number | undefined;
  /** Identity of these parameters for the integral cache. */
  key: string;
}

/**
 * The usage model of a simulated cluster. Stateless apart from caches: two models with the same
 * seed answer the same for the same pod and time.
 */
export class UsageModel {
  readonly seed: number;
  readonly #params = new WeakMap<KubeObject, Map<string, ContainerParams>>();
  readonly #chunks = new Map<string, CpuAccounting>();

  constructor(options: { seed?: number } = {}) {
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new Error(`usage model seed ${seed} is not an integer`);
    this.seed = seed;
  }

  /** Use of one container of `pod` at time `t` (ms since epoch). Pure: same inputs, same answer. */
  containerUsage(pod: KubeObject, containerName: string, t: number): ContainerUsage {
    const p = this.#paramsOf(pod, containerName);
    return { cpu: interpolatedCpu(p, t), memory: memoryAt(p, t) };
  }

  /** CPU seconds used between `from` and `to` (ms): the exact integral of `containerUsage().cpu`. */
  cpuSecondsBetween(pod: KubeObject, containerName: string, from: number, to: number): number {
    return this.cpuAccountingBetween(pod, containerName, from, to).demandSeconds;
  }

  /**
   * CPU demand, CPU actually used under `limitCores` (the demand capped at the limit), and the time
   * the demand was above the limit, between `from` and `to` (ms). Without a limit, used equals
   * demand and nothing is throttled. Zero when `to <= from`.
   */
  cpuAccountingBetween(pod: KubeObject, containerName: string, from: number, to: number, limitCores?: number): CpuAccounting {
    const p = this.#paramsOf(pod, containerName);
    return this.#account(p, from, to, limitCores !== undefined && limitCores > 0 ? limitCores : Infinity);
  }

  /** The profile and base levels the model uses for a container (what the annotations resolved to). */
  describeContainer(pod: KubeObject, containerName: string): { profile: UsageProfile; baseCpu: number; baseMemory: number } {
    const p = this.#paramsOf(pod, containerName);
    return { profile: p.profile, baseCpu: p.baseCpu, baseMemory: p.baseMemory };
  }

  #paramsOf(pod: KubeObject, containerName: string): ContainerParams {
    let perPod = this.#params.get(pod);
    if (!perPod) {
      perPod = new Map();
      this.#params.set(pod, perPod);
    }
    let p = perPod.get(containerName);
    if (!p) {
      p = containerParams(this.seed, pod, containerName);
      perPod.set(containerName, p);
    }
    return p;
  }

  #account(p: ContainerParams, from: number, to: number, limit: number): CpuAccounting {
    const total: CpuAccounting = { demandSeconds: 0, usedSeconds: 0, throttledSeconds: 0 };
    if (!(to > from)) return total;
    const chunkMs = chunkCells * usageGridMs;
    const firstFull = Math.ceil(from / chunkMs);
    const lastFull = Math.floor(to / chunkMs);
    if (firstFull >= lastFull) {
      addInto(total, integrate(p, from, to, limit));
      return total;
    }
    addInto(total, integrate(p, from, firstFull * chunkMs, limit));
    for (let c = firstFull; c < lastFull; c++) {
      const key = `${p.key}|${limit}|${c}`;
      let chunk = this.#chunks.get(key);
      if (!chunk) {
        chunk = integrate(p, c * chunkMs, (c + 1) * chunkMs, limit);
        if (this.#chunks.size >= maxCachedChunks) this.#chunks.clear();
        this.#chunks.set(key, chunk);
      }
      addInto(total, chunk);
    }
    addInto(total, integrate(p, lastFull * chunkMs, to, limit));
    return total;
  }
}

function addInto(total: CpuAccounting, part: CpuAccounting): void {
  total.demandSeconds += part.demandSeconds;
  total.usedSeconds += part.usedSeconds;
  total.throttledSeconds += part.throttledSeconds;
}

/** Integrates the piecewise-linear CPU over [from, to] exactly, cell by cell of the grid. */
function integrate(p: ContainerParams, from: number, to: number, limit: number): CpuAccounting {
  const out: CpuAccounting = { demandSeconds: 0, usedSeconds: 0, throttledSeconds: 0 };
  if (!(to > from)) return out;
  let cell = Math.floor(from / usageGridMs);
  let left = rawCpu(p, cell * usageGridMs);
  for (;;) {
    const cellStart = cell * usageGridMs;
    const cellEnd = cellStart + usageGridMs;
    const right = rawCpu(p, cellEnd);
    const x0 = Math.max(from, cellStart);
    const x1 = Math.min(to, cellEnd);
    if (x1 > x0) {
      const v0 = left + ((right - left) * (x0 - cellStart)) / usageGridMs;
      const v1 = left + ((right - left) * (x1 - cellStart)) / usageGridMs;
      segment(out, v0, v1, (x1 - x0) / 1000, limit);
    }
    if (cellEnd >= to) return out;
    cell++;
    left = right;
  }
}

/** Adds a linear segment from v0 to v1 lasting `seconds`, capped at `limit`. */
function segment(out: CpuAccounting, v0: number, v1: number, seconds: number, limit: number): void {
  const demand = ((v0 + v1) / 2) * seconds;
  out.demandSeconds += demand;
  if (v0 <= limit && v1 <= limit) {
    out.usedSeconds += demand;
    return;
  }
  if (v0 >= limit && v1 >= limit) {
    out.usedSeconds += limit * seconds;
    out.throttledSeconds += seconds;
    return;
  }
  // The segment crosses the limit at fraction f of its length.
  const f = (limit - v0) / (v1 - v0);
  if (v0 < limit) {
    out.usedSeconds += ((v0 + limit) / 2) * f * seconds + limit * (1 - f) * seconds;
    out.throttledSeconds += (1 - f) * seconds;
  } else {
    out.usedSeconds += limit * f * seconds + ((limit + v1) / 2) * (1 - f) * seconds;
    out.throttledSeconds += f * seconds;
  }
}

function interpolatedCpu(p: ContainerParams, t: number): number {
  const cell = Math.floor(t / usageGridMs);
  const start = cell * usageGridMs;
  const left = rawCpu(p, start);
  if (t === start) return left;
  const right = rawCpu(p, start + usageGridMs);
  return left + ((right - left) * (t - start)) / usageGridMs;
}

/** CPU demand at a grid point, before interpolation. */
function rawCpu(p: ContainerParams, t: number): number {
  const h = hourOfDay(t);
  let level: number;
  switch (p.profile) {
    case 'web': {
      const daily = 1 + 0.8 * Math.cos((2 * Math.PI * (h - p.peakHour)) / 24);
      level = daily * (isWeekend(t) ? 0.65 : 1);
      break;
    }
    case 'batch':
      level = 0.3 + 2.7 * batchWindow(p, t);
      break;
    case 'steady':
    case 'memory-leak':
      level = 1 + 0.05 * Math.cos((2 * Math.PI * (h - p.peakHour)) / 24);
      break;
    case 'idle':
      level = 1;
      break;
  }
  const noise = 1 + p.shape.cpuNoise * (0.7 * valueNoise(p.instance, 1, t, minute) + 0.3 * valueNoise(p.instance, 2, t, 5 * minute));
  const drift = 1 + 0.05 * valueNoise(p.workload, 3, t, 3 * day);
  const spike = spikeAt(p, t);
  const cpu = p.baseCpu * p.replicaScale * trend(p, t) * drift * (level * noise + 2 * spike);
  return Math.max(0, cpu);
}

function memoryAt(p: ContainerParams, t: number): number {
  let level: number;
  switch (p.profile) {
    case 'web': {
      const daily = 1 + 0.8 * Math.cos((2 * Math.PI * (hourOfDay(t) - p.peakHour)) / 24);
      level = 0.85 + 0.15 * daily * (isWeekend(t) ? 0.65 : 1);
      break;
    }
    case 'batch':
      level = 0.8 + 0.8 * batchWindow(p, t);
      break;
    case 'steady':
    case 'idle':
      level = 1;
      break;
    case 'memory-leak': {
      const age = leakAge(p, t);
      level = 1 + p.leakPerHour * (age / hour);
      break;
    }
  }
  const noise = 1 + p.shape.memoryNoise * valueNoise(p.instance, 4, t, 5 * minute);
  const spike = 1 + 0.1 * spikeAt(p, t);
  const memory = p.baseMemory * p.replicaScale * trend(p, t) * level * noise * spike;
  return Math.max(1 << 20, Math.round(memory));
}

function trend(p: ContainerParams, t: number): number {
  if (p.trendAnchor === undefined || p.shape.growthPerWeek === 0) return 1;
  return Math.min(3, Math.max(0.5, 1 + (p.shape.growthPerWeek * (t - p.trendAnchor)) / week));
}

/** 0..1: how far into a batch workload's nightly four-hour window `t` is, with ten-minute ramps. */
function batchWindow(p: ContainerParams, t: number): number {
  const into = (((hourOfDay(t) - p.batchStart) % 24) + 24) % 24;
  const ramp = 1 / 6;
  if (into >= 4 + ramp) return 0;
  if (into < ramp) return into / ramp;
  if (into > 4) return 1 - (into - 4) / ramp;
  return 1;
}

/** Time since the memory leak last started: the container's start, or a notional restart before it. */
function leakAge(p: ContainerParams, t: number): number {
  const start = p.started ?? 0;
  if (t >= start) return t - start;
  return (((t - start) % p.leakPeriod) + p.leakPeriod) % p.leakPeriod;
}

/** 0..1: the envelope of a spike at `t` (at most one per 30-minute slot, 2-8 minutes long, 30-second ramps). */
function spikeAt(p: ContainerParams, t: number): number {
  const slotMs = 30 * minute;
  const slot = Math.floor(t / slotMs);
  const h = mix(p.instance, 5, slot);
  if (unit(h) >= p.shape.spikeChance) return 0;
  const duration = (2 + 6 * unit(mix(h, 1))) * minute;
  const start = slot * slotMs + unit(mix(h, 2)) * (slotMs - duration);
  const magnitude = 0.5 + unit(mix(h, 3));
  const into = t - start;
  if (into <= 0 || into >= duration) return 0;
  const ramp = 30_000;
  return magnitude * Math.min(1, into / ramp, (duration - into) / ramp);
}

function hourOfDay(t: number): number {
  return (((t % day) + day) % day) / hour;
}

function isWeekend(t: number): boolean {
  // 1970-01-01 was a Thursday (day 4 counting from Sunday = 0).
  const weekday = (((Math.floor(t / day) + 4) % 7) + 7) % 7;
  return weekday === 0 || weekday === 6;
}

/** Smooth noise in [-1, 1] with knots every `period` ms, interpolated with a smoothstep. */
function valueNoise(key: number, octave: number, t: number, period: number): number {
  const x = t / period;
  const k = Math.floor(x);
  const f = x - k;
  const a = unit(mix(key, octave, k)) * 2 - 1;
  const b = unit(mix(key, octave, k + 1)) * 2 - 1;
  const s = f * f * (3 - 2 * f);
  return a + (b - a) * s;
}

/** A 32-bit hash of integers (each split into two 32-bit halves), murmur3-style mixing. */
function mix(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    const lo = part >>> 0;
    const hi = Math.floor(part / 4294967296) >>> 0;
    h = round(h, lo);
    h = round(h, hi);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function round(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `text`. */
function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A hash as a number in [0, 1). */
function unit(h: number): number {
  return h / 4294967296;
}

/**
 * The workload a pod belongs to, as `namespace/Kind/name`: its controller owner (a ReplicaSet's
 * name without the pod-template hash, so a Deployment keeps its shape across rollouts), else its
 * generateName, else its own name.
 */
export function workloadOf(pod: KubeObject): { kind: string; name: string; key: string } {
  const ns = pod.metadata.namespace ?? '';
  const owner = pod.metadata.ownerReferences?.find((ref) => ref.controller === true) ?? pod.metadata.ownerReferences?.[0];
  let kind = 'Pod';
  let name = pod.metadata.generateName?.replace(/-$/, '') || pod.metadata.name || '';
  if (owner) {
    kind = owner.kind;
    name = owner.name;
    const hash = pod.metadata.labels?.['pod-template-hash'];
    if (kind === 'ReplicaSet' && hash && name.endsWith(`-${hash}`)) {
      kind = 'Deployment';
      name = name.slice(0, -hash.length - 1);
    }
  }
  return { kind, name, key: `${ns}/${kind}/${name}` };
}

function containerParams(seed: number, pod: KubeObject, containerName: string): ContainerParams {
  const who = `pod ${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? pod.metadata.generateName ?? ''}`;
  const spec = record(pod.spec);
  const container = [...array(spec.containers), ...array(spec.initContainers)].find((c) => c.name === containerName);
  if (!container) throw new UsageAnnotationError(`${who} has no container named ${JSON.stringify(containerName)}`);
  const annotations = pod.metadata.annotations ?? {};
  const workloadInfo = workloadOf(pod);

  const profileText = annotations[usageAnnotations.profile];
  let profile: UsageProfile;
  if (profileText !== undefined) {
    if (!(usageProfiles as readonly string[]).includes(profileText)) {
      throw new UsageAnnotationError(`${who}: annotation ${usageAnnotations.profile}: ${JSON.stringify(profileText)} is not a usage profile; use one of ${usageProfiles.join(', ')}`);
    }
    profile = profileText as UsageProfile;
  } else {
    profile = workloadInfo.kind === 'Job' || workloadInfo.kind === 'CronJob' ? 'batch' : workloadInfo.kind === 'DaemonSet' ? 'steady' : 'web';
  }

  const seedText = annotations[usageAnnotations.seed];
  let workloadSeed = 0;
  if (seedText !== undefined) {
    if (!/^-?\d{1,15}$/.test(seedText.trim())) throw new UsageAnnotationError(`${who}: annotation ${usageAnnotations.seed}: ${JSON.stringify(seedText)} is not an integer`);
    workloadSeed = Number(seedText.trim());
  }

  const workload = mix(seed, workloadSeed, hashText(workloadInfo.key));
  const instance = mix(seed, workloadSeed, hashText(`${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`), hashText(containerName));
  const shape = shapes[profile];
  const resources = record(container.resources);
  const between = (range: [number, number], salt: number) => range[0] + (range[1] - range[0]) * unit(mix(workload, salt, hashText(containerName)));

  const quantityAnnotation = (what: 'cpu' | 'memory'): number | undefined => {
    const key = `${usageAnnotations[what]}.${containerName}`;
    const own = annotations[key];
    const name = own !== undefined ? key : usageAnnotations[what];
    const text = own ?? annotations[usageAnnotations[what]];
    if (text === undefined) return undefined;
    let value: number;
    try {
      value = parseQuantity(text);
    } catch {
      throw new UsageAnnotationError(`${who}: annotation ${name}: ${JSON.stringify(text)} is not a quantity (examples: ${what === 'cpu' ? '"0.5", "250m"' : '"256Mi", "1Gi"'})`);
    }
    if (!(value >= 0) || !Number.isFinite(value)) throw new UsageAnnotationError(`${who}: annotation ${name}: ${JSON.stringify(text)} must be a non-negative quantity`);
    return value;
  };
  const resource = (what: 'cpu' | 'memory'): { request?: number; limit?: number } => {
    const read = (from: unknown) => {
      const v = record(from)[what];
      if (typeof v !== 'string' && typeof v !== 'number') return undefined;
      try {
        return parseQuantity(v);
      } catch {
        return undefined;
      }
    };
    return { request: read(resources.requests), limit: read(resources.limits) };
  };
  const defaultBase = (what: 'cpu' | 'memory', fraction: number): number => {
    const { request, limit } = resource(what);
    if (request !== undefined && request > 0) return request * fraction;
    if (limit !== undefined && limit > 0) return limit * 0.5 * fraction;
    return (what === 'cpu' ? 0.1 : 128 * 2 ** 20) * fraction;
  };

  const baseCpu = quantityAnnotation('cpu') ?? defaultBase('cpu', between(shape.cpuFraction, 11));
  const baseMemory = quantityAnnotation('memory') ?? defaultBase('memory', between(shape.memoryFraction, 12));
  const created = Date.parse(pod.metadata.creationTimestamp ?? '');
  const started = startedAt(pod, containerName);
  const params: Omit<ContainerParams, 'key'> = {
    profile,
    shape,
    baseCpu,
    baseMemory,
    workload,
    instance,
    replicaScale: 1 + 0.06 * (unit(mix(instance, 13)) * 2 - 1),
    peakHour: 12.5 + 3 * unit(mix(workload, 14)),
    batchStart: 0.5 + 3 * unit(mix(workload, 15)),
    leakPerHour: 1 / (24 + 48 * unit(mix(workload, 16))),
    leakPeriod: (1 + 2 * unit(mix(workload, 17))) * day,
    trendAnchor: Number.isFinite(created) ? created : undefined,
    started,
  };
  return { ...params, key: JSON.stringify([profile, baseCpu, baseMemory, workload, instance, params.trendAnchor ?? null]) };
}

/** When the container last started (ms): its running state's startedAt, else the pod's startTime. */
export function startedAt(pod: KubeObject, containerName: string): number | undefined {
  const status = record(pod.status);
  const containerStatus = [...array(status.containerStatuses), ...array(status.initContainerStatuses)].find((c) => c.name === containerName);
  const running = Date.parse(String(record(record(containerStatus?.state).running).startedAt ?? ''));
  if (Number.isFinite(running)) return running;
  const podStart = Date.parse(String(status.startTime ?? ''));
  return Number.isFinite(podStart) ? podStart : undefined;
}
