/**
 * What-if placement for fleet decisions: how many pods would fit on a set of nodes, and where,
 * without touching any live scheduler. Each call builds its own cache from the inputs, so it is
 * pure: the same inputs give the same answer, and nothing outside changes. Preemption is not
 * simulated: a candidate either fits beside the existing pods or it does not.
 */
import type { KubeObject } from '../machinery/object.ts';
import { SchedulerCache } from './cache.ts';
import { defaultSchedulerConfiguration, type ProfileConfiguration } from './config.ts';
import { Framework } from './framework.ts';
import { podInfo } from './pod-info.ts';
import { seededRandom } from '../machinery/random.ts';

export interface WhatIfPlacement {
  /** `namespace/name` of the candidate. */
  pod: string;
  nodeName: string;
}

export interface WhatIfRejection {
  pod: string;
  /** kube-scheduler's message: `0/3 nodes are available: 3 Insufficient cpu.` */
  message: string;
}

export interface WhatIfResult {
  /** How many candidates fit. */
  fits: number;
  placements: WhatIfPlacement[];
  unschedulable: WhatIfRejection[];
}

function build(nodes: readonly KubeObject[], existingPods: readonly KubeObject[], profile?: ProfileConfiguration) {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.addNode(n);
  for (const p of existingPods) cache.addPod(p);
  const base = profile ?? defaultSchedulerConfiguration().profiles[0]!;
  // No preemption and no binding in a what-if.
  const whatIfProfile: ProfileConfiguration = { ...base, points: { ...base.points, postFilter: [], reserve: [], bind: [] } };
  const fwk = new Framework(whatIfProfile, { snapshot: cache, random: seededRandom(0x9e3779b9) });
  return { cache, fwk };
}

/**
 * Places `candidatePods` one after another (in the order given) on `nodes`, beside
 * `existingPods` (those with spec.nodeName; others are ignored), and says which fit where.
 */
export function whatIf(nodes: readonly KubeObject[], existingPods: readonly KubeObject[], candidatePods: readonly KubeObject[], profile?: ProfileConfiguration): WhatIfResult {
  const { cache, fwk } = build(nodes, existingPods, profile);
  const result: WhatIfResult = { fits: 0, placements: [], unschedulable: [] };
  for (const pod of candidatePods) {
    const info = podInfo(pod);
    const r = fwk.schedulePod(info);
    if (r.status.isSuccess() && r.nodeName) {
      cache.assumePod(info, r.nodeName);
      result.fits++;
      result.placements.push({ pod: info.key, nodeName: r.nodeName });
    } else {
      result.unschedulable.push({ pod: info.key, message: r.status.message() });
    }
  }
  return result;
}

export interface MaxReplicasOptions {
  /** Stop counting here; default 100000. */
  limit?: number;
  profile?: ProfileConfiguration;
}

/**
 * How many more replicas of `podTemplate` (a Pod, or a PodTemplateSpec with metadata and spec)
 * fit on `nodes` beside `existingPods`, placing them as the scheduler would, so spread and
 * anti-affinity among the replicas count.
 */
export function maxReplicas(nodes: readonly KubeObject[], existingPods: readonly KubeObject[], podTemplate: { metadata?: KubeObject['metadata']; spec?: unknown }, options: MaxReplicasOptions = {}): number {
  const limit = options.limit ?? 100_000;
  const { cache, fwk } = build(nodes, existingPods, options.profile);
  const meta = podTemplate.metadata ?? {};
  const base = meta.name ?? meta.generateName ?? 'replica';
  const spec = { ...(podTemplate.spec as Record<string, unknown> | undefined) };
  delete spec.nodeName;
  let count = 0;
  while (count < limit) {
    const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { ...meta, name: `${base}-what-if-${count}`, namespace: meta.namespace ?? 'default' }, spec };
    const info = podInfo(pod);
    const r = fwk.schedulePod(info);
    if (!r.status.isSuccess() || !r.nodeName) break;
    cache.assumePod(info, r.nodeName);
    count++;
  }
  return count;
}
