/**
 * NodeResourcesFit filters out nodes without room for the pod's requests (cpu, memory,
 * ephemeral-storage, extended resources such as nvidia.com/gpu, and the pod count) and scores the
 * rest by a strategy: LeastAllocated (spread), MostAllocated (bin-pack) or
 * RequestedToCapacityRatio (a piecewise-linear shape over utilization). Scoring counts pods
 * without requests at 100m CPU and 200Mi memory, as upstream does; fitting counts them at 0.
 * NodeResourcesBalancedAllocation scores nodes whose CPU and memory use would stay even.
 */
import type { FilterPlugin, PreFilterPlugin, ScorePlugin } from '../interfaces.ts';
import { maxNodeScore } from '../interfaces.ts';
import type { NodeInfo } from '../node-info.ts';
import type { PodInfo } from '../pod-info.ts';
import { resourceCpu, resourceMemory, type Resources } from '../resources.ts';
import { Status } from '../status.ts';
import { checkKeys, isRecord, numberArg, recordArg } from './args.ts';

export type ScoringStrategyType = 'LeastAllocated' | 'MostAllocated' | 'RequestedToCapacityRatio';

export interface ResourceWeight {
  name: string;
  weight: number;
}

export interface NodeResourcesFitArgs {
  ignoredResources?: string[];
  scoringStrategy?: {
    type?: ScoringStrategyType;
    resources?: ResourceWeight[];
    requestedToCapacityRatio?: { shape: Array<{ utilization: number; score: number }> };
  };
}

const strategies: readonly ScoringStrategyType[] = ['LeastAllocated', 'MostAllocated', 'RequestedToCapacityRatio'];

interface ParsedFitArgs {
  ignored: Set<string>;
  type: ScoringStrategyType;
  resources: ResourceWeight[];
  shape: Array<{ utilization: number; score: number }>;
}

function parseFitArgs(raw: Record<string, unknown>): ParsedFitArgs {
  const where = 'NodeResourcesFit args';
  checkKeys(raw, ['ignoredResources', 'ignoredResourceGroups', 'scoringStrategy'], where);
  const ignored = raw.ignoredResources;
  if (ignored !== undefined && (!Array.isArray(ignored) || !ignored.every((x) => typeof x === 'string'))) throw new Error(`${where}.ignoredResources: must be a list of resource names`);
  const s = recordArg(raw.scoringStrategy, `${where}.scoringStrategy`);
  checkKeys(s, ['type', 'resources', 'requestedToCapacityRatio'], `${where}.scoringStrategy`);
  const type = (s.type ?? 'LeastAllocated') as ScoringStrategyType;
  if (!strategies.includes(type)) throw new Error(`${where}.scoringStrategy.type: must be one of ${strategies.join(', ')}, got ${JSON.stringify(s.type)}`);
  let resources: ResourceWeight[] = [{ name: resourceCpu, weight: 1 }, { name: resourceMemory, weight: 1 }];
  if (s.resources !== undefined) {
    if (!Array.isArray(s.resources) || s.resources.length === 0) throw new Error(`${where}.scoringStrategy.resources: must be a non-empty list of {name, weight}`);
    resources = s.resources.map((r, i) => {
      const w = `${where}.scoringStrategy.resources[${i}]`;
      if (!isRecord(r) || typeof r.name !== 'string' || r.name === '') throw new Error(`${w}.name: must be a resource name such as cpu or nvidia.com/gpu`);
      return { name: r.name, weight: r.weight === undefined ? 1 : numberArg(r.weight, `${w}.weight`, 1, 100) };
    });
  }
  let shape = [{ utilization: 0, score: 10 }, { utilization: 100, score: 0 }];
  if (type === 'RequestedToCapacityRatio') {
    const r = recordArg(s.requestedToCapacityRatio, `${where}.scoringStrategy.requestedToCapacityRatio`);
    if (!Array.isArray(r.shape) || r.shape.length === 0) throw new Error(`${where}.scoringStrategy.requestedToCapacityRatio.shape: must be a non-empty list of {utilization, score} points`);
    shape = r.shape.map((p, i) => {
      const w = `${where}.scoringStrategy.requestedToCapacityRatio.shape[${i}]`;
      if (!isRecord(p)) throw new Error(`${w}: must be {utilization, score}`);
      return { utilization: numberArg(p.utilization, `${w}.utilization`, 0, 100), score: numberArg(p.score, `${w}.score`, 0, 10) };
    });
    for (let i = 1; i < shape.length; i++) {
      if (shape[i]!.utilization <= shape[i - 1]!.utilization) throw new Error(`${where}.scoringStrategy.requestedToCapacityRatio.shape: utilization must increase from point to point`);
    }
  }
  return { ignored: new Set(ignored as string[] | undefined), type, resources, shape };
}

/** The piecewise-linear function through `shape` (utilization 0..100 to score 0..10), scaled to 0..100. */
function shapeScore(shape: Array<{ utilization: number; score: number }>, utilization: number): number {
  if (utilization <= shape[0]!.utilization) return shape[0]!.score * 10;
  for (let i = 1; i < shape.length; i++) {
    const a = shape[i - 1]!;
    const b = shape[i]!;
    if (utilization <= b.utilization) return (a.score + ((b.score - a.score) * (utilization - a.utilization)) / (b.utilization - a.utilization)) * 10;
  }
  return shape[shape.length - 1]!.score * 10;
}

const tooManyPods = 1;
const noCpu = 2;
const noMemory = 4;
const noEphemeral = 8;
const unresolvableBit = 16;

/**
 * Why `pod` does not fit `node` by resources, or undefined when it does; `unresolvable` when
 * even an empty node is too small.
 */
export function insufficientResources(pod: PodInfo, node: NodeInfo, ignored?: Set<string>): { reasons: string[]; unresolvable: boolean } | undefined {
  const mask = fixedMask(pod, node);
  const scalar = scalarShortfalls(pod, node, ignored);
  if (mask === 0 && !scalar) return undefined;
  return { reasons: [...maskReasons(mask), ...(scalar?.reasons ?? [])], unresolvable: (mask & unresolvableBit) !== 0 || scalar?.unresolvable === true };
}

function maskReasons(mask: number): string[] {
  const reasons: string[] = [];
  if (mask & tooManyPods) reasons.push('Too many pods');
  if (mask & noCpu) reasons.push('Insufficient cpu');
  if (mask & noMemory) reasons.push('Insufficient memory');
  if (mask & noEphemeral) reasons.push('Insufficient ephemeral-storage');
  return reasons;
}

/** The shortfalls in pods, cpu, memory and ephemeral storage as bits (allocation-free). */
function fixedMask(pod: PodInfo, node: NodeInfo): number {
  const r = node.requested;
  return maskFor(pod, node.allocatable, node.pods.length, r.milliCpu, r.memory, r.ephemeralStorage);
}

/** fixedMask for a node holding `count` pods that request `milliCpu`, `memory` and `ephemeral` in all. */
function maskFor(pod: PodInfo, a: Resources, count: number, milliCpu: number, memory: number, ephemeral: number): number {
  const q = pod.requests;
  let mask = 0;
  if (count + 1 > a.pods) mask |= tooManyPods;
  if (q.milliCpu > 0 && q.milliCpu > a.milliCpu - milliCpu) mask |= q.milliCpu > a.milliCpu ? noCpu | unresolvableBit : noCpu;
  if (q.memory > 0 && q.memory > a.memory - memory) mask |= q.memory > a.memory ? noMemory | unresolvableBit : noMemory;
  if (q.ephemeralStorage > 0 && q.ephemeralStorage > a.ephemeralStorage - ephemeral) mask |= q.ephemeralStorage > a.ephemeralStorage ? noEphemeral | unresolvableBit : noEphemeral;
  return mask;
}

function scalarShortfalls(pod: PodInfo, node: NodeInfo, ignored?: Set<string>, delta?: Resources): { reasons: string[]; unresolvable: boolean } | undefined {
  const q = pod.requests;
  if (!q.scalar) return undefined;
  let reasons: string[] | undefined;
  let unresolvable = false;
  const a = node.allocatable;
  const r = node.requested;
  for (const [name, amount] of q.scalar) {
    if (amount <= 0 || ignored?.has(name)) continue;
    const alloc = a.scalar?.get(name) ?? 0;
    const requested = (r.scalar?.get(name) ?? 0) + (delta?.scalar?.get(name) ?? 0);
    if (amount > alloc - requested) {
      (reasons ??= []).push(`Insufficient ${name}`);
      if (amount > alloc) unresolvable = true;
    }
  }
  return reasons ? { reasons, unresolvable } : undefined;
}

/** NodeResourcesFit: filter on requests, score by the configured strategy. */
export function nodeResourcesFit(rawArgs: Record<string, unknown> = {}): PreFilterPlugin & FilterPlugin & ScorePlugin {
  const args = parseFitArgs(rawArgs);
  const cpuMemOnly = args.resources.every((r) => r.name === resourceCpu || r.name === resourceMemory);
  const cpuWeight = args.resources.find((r) => r.name === resourceCpu)?.weight ?? 0;
  const memWeight = args.resources.find((r) => r.name === resourceMemory)?.weight ?? 0;
  const type = args.type;
  const shared: Array<Status | undefined> = new Array(32);

  function verdict(mask: number, scalar: { reasons: string[]; unresolvable: boolean } | undefined): Status {
    if (!scalar) {
      if (mask === 0) return Status.success;
      // The same shortfall gives the same status; sharing it saves an allocation per rejected node.
      let s = shared[mask];
      if (!s) {
        s = new Status(mask & unresolvableBit ? 'UnschedulableAndUnresolvable' : 'Unschedulable', maskReasons(mask), 'NodeResourcesFit');
        shared[mask] = Object.freeze(s) as Status;
      }
      return s;
    }
    const reasons = [...maskReasons(mask), ...scalar.reasons];
    return (mask & unresolvableBit) !== 0 || scalar.unresolvable ? Status.unresolvable(...reasons) : Status.unschedulable(...reasons);
  }

  function resourceScore(requested: number, allocatable: number): number {
    if (type === 'LeastAllocated') return requested > allocatable ? 0 : ((allocatable - requested) * maxNodeScore) / allocatable;
    if (type === 'MostAllocated') return requested > allocatable ? maxNodeScore : (requested * maxNodeScore) / allocatable;
    return shapeScore(args.shape, Math.min(100, (requested * 100) / allocatable));
  }

  return {
    name: 'NodeResourcesFit',
    preFilter() {
      return Status.success;
    },
    filter(_state, pod, node) {
      const mask = fixedMask(pod, node);
      return verdict(mask, pod.requests.scalar ? scalarShortfalls(pod, node, args.ignored) : undefined);
    },
    filterWithDelta(_state, pod, node, delta) {
      const r = node.requested;
      const mask = maskFor(pod, node.allocatable, node.pods.length + delta.pods, r.milliCpu + delta.milliCpu, r.memory + delta.memory, r.ephemeralStorage + delta.ephemeralStorage);
      return verdict(mask, pod.requests.scalar ? scalarShortfalls(pod, node, args.ignored, delta) : undefined);
    },
    score(_state, pod, node) {
      const a = node.allocatable;
      if (cpuMemOnly) {
        let sum = 0;
        let weights = 0;
        if (cpuWeight > 0 && a.milliCpu > 0) {
          sum += cpuWeight * resourceScore(node.nonZeroMilliCpu + pod.nonZeroMilliCpu, a.milliCpu);
          weights += cpuWeight;
        }
        if (memWeight > 0 && a.memory > 0) {
          sum += memWeight * resourceScore(node.nonZeroMemory + pod.nonZeroMemory, a.memory);
          weights += memWeight;
        }
        return weights === 0 ? 0 : sum / weights;
      }
      let sum = 0;
      let weights = 0;
      for (const r of args.resources) {
        const alloc = a.get(r.name);
        if (alloc <= 0) continue;
        let requested: number;
        if (r.name === resourceCpu) requested = node.nonZeroMilliCpu + pod.nonZeroMilliCpu;
        else if (r.name === resourceMemory) requested = node.nonZeroMemory + pod.nonZeroMemory;
        else requested = node.requested.get(r.name) + pod.requests.get(r.name);
        sum += r.weight * resourceScore(requested, alloc);
        weights += r.weight;
      }
      return weights === 0 ? 0 : sum / weights;
    },
  } satisfies PreFilterPlugin & FilterPlugin & ScorePlugin;
}

/** NodeResourcesBalancedAllocation: 100 when CPU and memory would be used in equal shares, less the more they differ. */
export function nodeResourcesBalancedAllocation(rawArgs: Record<string, unknown> = {}): ScorePlugin {
  checkKeys(rawArgs, ['resources'], 'NodeResourcesBalancedAllocation args');
  return {
    name: 'NodeResourcesBalancedAllocation',
    score(_state, pod, node) {
      const a = node.allocatable;
      if (a.milliCpu <= 0 || a.memory <= 0) return 0;
      const cpu = Math.min(1, (node.nonZeroMilliCpu + pod.nonZeroMilliCpu) / a.milliCpu);
      const mem = Math.min(1, (node.nonZeroMemory + pod.nonZeroMemory) / a.memory);
      return (1 - Math.abs(cpu - mem) / 2) * maxNodeScore;
    },
  } satisfies ScorePlugin;
}
