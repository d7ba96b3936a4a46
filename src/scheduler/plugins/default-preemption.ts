/**
 * DefaultPreemption is the PostFilter that runs when no node fits: it looks for nodes where
 * removing pods of lower priority would let the pod in, keeps as many of those pods as still
 * allows it (the more important first), and picks the node whose victims cost least: fewest
 * PodDisruptionBudget violations, then the lowest highest victim priority, the smallest priority
 * sum, the fewest victims, the most recently started. It returns the node and victims; the caller
 * deletes the victims and the pod is tried again, nominated to that node.
 */
import type { CycleState } from '../cycle-state.ts';
import { disruptionsAllowed } from '../disruption-budget.ts';
import type { DisruptionBudget, FrameworkHandle, PostFilterPlugin, PostFilterResult } from '../interfaces.ts';
import type { NodeInfo } from '../node-info.ts';
import type { PodInfo } from '../pod-info.ts';
import { Resources } from '../resources.ts';
import { Status } from '../status.ts';
import { checkKeys, numberArg } from './args.ts';

export interface Candidate {
  node: NodeInfo;
  victims: PodInfo[];
  pdbViolations: number;
}

/** More important first: higher priority, then the earlier started. */
function moreImportant(a: PodInfo, b: PodInfo): number {
  return b.priority - a.priority || a.startTime - b.startTime;
}

function betterCandidate(a: Candidate, b: Candidate): boolean {
  if (a.pdbViolations !== b.pdbViolations) return a.pdbViolations < b.pdbViolations;
  const aMax = a.victims[0]!.priority;
  const bMax = b.victims[0]!.priority;
  if (aMax !== bMax) return aMax < bMax;
  let aSum = 0;
  let bSum = 0;
  for (const v of a.victims) aSum += v.priority + 2 ** 31;
  for (const v of b.victims) bSum += v.priority + 2 ** 31;
  if (aSum !== bSum) return aSum < bSum;
  if (a.victims.length !== b.victims.length) return a.victims.length < b.victims.length;
  const earliest = (c: Candidate) => {
    let t = Infinity;
    for (const v of c.victims) if (v.priority === c.victims[0]!.priority && v.startTime < t) t = v.startTime;
    return t;
  };
  return earliest(a) > earliest(b);
}

/**
 * True when `pod` could fit `node`'s cpu, memory and pod count with every pod of lower priority
 * gone and the pods nominated there counted as placed: a necessary condition NodeResourcesFit
 * imposes on the dry run (which filters with nominated pods), checked by arithmetic before any
 * dry run. Late in a wave of preemptions most nodes hold a preemptor already or have one
 * nominated, and this rules them out reading little more than the node itself.
 */
function mightFitWithoutLower(handle: FrameworkHandle, pod: PodInfo, node: NodeInfo): boolean {
  const q = pod.requests;
  const a = node.allocatable;
  const below = node.requestedBelow(pod.priority);
  let count = node.pods.length - below.count;
  let cpu = node.requested.milliCpu - below.milliCpu;
  let memory = node.requested.memory - below.memory;
  for (let pass = 0; pass < 2; pass++) {
    if (count + 1 > a.pods) return false;
    if (q.milliCpu > 0 && q.milliCpu > a.milliCpu - cpu) return false;
    if (q.memory > 0 && q.memory > a.memory - memory) return false;
    if (pass === 1) break;
    // Only nodes that pass without them need the nominated pods looked up.
    const nominated = handle.nominatedPodsFor(pod, node);
    if (!nominated) break;
    for (let i = 0; i < nominated.length; i++) {
      const r = nominated[i]!.requests;
      cpu += r.milliCpu;
      memory += r.memory;
    }
    count += nominated.length;
  }
  return true;
}

/**
 * The victims on `node` that must go for `pod` to fit, or undefined when removing every
 * lower-priority pod would not be enough. The node and state are as they were afterwards.
 * `resourcesChecked` (NodeResourcesFit is among the filters) lets it rule nodes out by
 * arithmetic first. When every filter in force can judge pod changes by arithmetic
 * (FrameworkHandle.runFiltersWithDelta), the dry run changes nothing at all; otherwise it removes
 * and re-adds pods on the node (withPodsChanged). Both give the same victims.
 */
export function selectVictimsOnNode(
  handle: FrameworkHandle,
  state: CycleState,
  pod: PodInfo,
  node: NodeInfo,
  budgets: readonly DisruptionBudget[],
  allowed: ReadonlyMap<string, number>,
  resourcesChecked = false,
): Candidate | undefined {
  if (resourcesChecked && !mightFitWithoutLower(handle, pod, node)) return undefined;
  const lower: PodInfo[] = [];
  // By arithmetic: `delta` is what the node holds less what it held.
  const delta = new Resources();
  const pods = node.pods;
  for (let i = 0; i < pods.length; i++) {
    const p = pods[i]!;
    if (p.priority >= pod.priority) continue;
    lower.push(p);
    delta.add(p.requests, -1);
  }
  if (lower.length === 0) return undefined;
  delta.pods = -lower.length;
  const fits = handle.runFiltersWithDelta(state, pod, node, delta);
  if (fits !== undefined) {
    if (!fits.isSuccess()) return undefined;
    return reprieve(node, lower, budgets, allowed, (p) => {
      delta.add(p.requests);
      delta.pods++;
      // Filters marked nodeOnly passed above, and adding a pod back cannot change them.
      if (handle.runFiltersWithDelta(state, pod, node, delta, true)!.isSuccess()) return true;
      delta.add(p.requests, -1);
      delta.pods--;
      return false;
    });
  }

  // withPodsChanged restores the node to its pods before the dry run, whatever the reprieves left.
  return handle.withPodsChanged(state, pod, node, [], lower, (s, n) => {
    if (!handle.runFiltersWithNominatedPods(s, pod, n).isSuccess()) return undefined;
    return reprieve(node, lower, budgets, allowed, (p) => {
      n.addPod(p);
      handle.runPreFilterAddPod(s, pod, p, n);
      if (handle.runFiltersWithNominatedPods(s, pod, n).isSuccess()) return true;
      n.removePod(p);
      handle.runPreFilterRemovePod(s, pod, p, n);
      return false;
    });
  });
}

/**
 * With every pod of `lower` gone and the pod fitting, puts them back one at a time, the more
 * important first (PodDisruptionBudget-violating ones before the others); `putBack` adds one and
 * says whether the pod still fits, undoing the add when it does not. The ones that could not go
 * back are the victims; undefined when all could.
 */
function reprieve(
  node: NodeInfo,
  lower: PodInfo[],
  budgets: readonly DisruptionBudget[],
  allowed: ReadonlyMap<string, number>,
  putBack: (p: PodInfo) => boolean,
): Candidate | undefined {
  lower.sort(moreImportant);

  let violating: PodInfo[] | undefined;
  let safe = lower;
  if (budgets.length > 0) {
    violating = [];
    safe = [];
    const left = new Map(allowed);
    for (const p of lower) {
      let violates = false;
      for (const b of budgets) {
        if (!b.matches(p)) continue;
        const count = left.get(b.key)! - 1;
        left.set(b.key, count);
        if (count < 0) violates = true;
      }
      (violates ? violating : safe).push(p);
    }
  }

  let victims: PodInfo[] | undefined;
  let pdbViolations = 0;
  for (let pass = 0; pass < 2; pass++) {
    const list = pass === 0 ? violating : safe;
    if (!list) continue;
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      if (putBack(p)) continue;
      (victims ??= []).push(p);
      if (pass === 0) pdbViolations++;
    }
  }
  if (!victims) return undefined;
  // Each pass kept its order; only a mix of the two needs sorting again.
  if (pdbViolations > 0 && pdbViolations < victims.length) victims.sort(moreImportant);
  return { node, victims, pdbViolations };
}

export function defaultPreemption(rawArgs: Record<string, unknown> = {}, handle?: FrameworkHandle): PostFilterPlugin {
  checkKeys(rawArgs, ['minCandidateNodesPercentage', 'minCandidateNodesAbsolute'], 'DefaultPreemption args');
  const pct = rawArgs.minCandidateNodesPercentage === undefined ? 10 : numberArg(rawArgs.minCandidateNodesPercentage, 'DefaultPreemption args.minCandidateNodesPercentage', 0, 100);
  const abs = rawArgs.minCandidateNodesAbsolute === undefined ? 100 : numberArg(rawArgs.minCandidateNodesAbsolute, 'DefaultPreemption args.minCandidateNodesAbsolute', 0, 1e9);
  if (pct === 0 && abs === 0) throw new Error('DefaultPreemption args: minCandidateNodesPercentage and minCandidateNodesAbsolute cannot both be 0');

  return {
    name: 'DefaultPreemption',
    postFilter(state, pod, statuses): PostFilterResult {
      if (!handle) return { status: Status.error('DefaultPreemption has no framework handle') };
      if (pod.preemptionPolicy === 'Never') return { status: Status.unresolvable('not eligible for preemption: preemptionPolicy is Never') };
      const nodes = handle.snapshot.nodes;
      const potential: NodeInfo[] = [];
      for (let i = 0; i < statuses.nodes.length; i++) if (statuses.statuses[i]!.code === 'Unschedulable') potential.push(statuses.nodes[i]!);
      if (potential.length === 0) return { status: Status.unresolvable('preemption: no node where removing pods would help') };
      const budgets = handle.disruptionBudgets();
      const allowed = disruptionsAllowed(budgets, budgets.length > 0 ? handle.snapshot.pods() : []);
      const wanted = Math.min(potential.length, Math.max(Math.floor((nodes.length * pct) / 100), abs));
      const offset = Math.floor(handle.random() * potential.length);
      const resourcesChecked = ((state.filters ?? []) as Array<{ name: string }>).some((f) => f.name === 'NodeResourcesFit');
      let best: Candidate | undefined;
      let found = 0;
      for (let i = 0; i < potential.length && found < wanted; i++) {
        const c = selectVictimsOnNode(handle, state, pod, potential[(offset + i) % potential.length]!, budgets, allowed, resourcesChecked);
        if (!c) continue;
        found++;
        if (!best || betterCandidate(c, best)) best = c;
      }
      if (!best) return { status: Status.unschedulable('preemption: no node where removing lower-priority pods lets the pod fit') };
      return { status: Status.success, nominatedNodeName: best.node.name, victims: best.victims };
    },
  } satisfies PostFilterPlugin;
}

/** DefaultBinder hands the pod to the Binder the scheduler was given. */
export function defaultBinder(_rawArgs: Record<string, unknown> = {}, handle?: FrameworkHandle) {
  return {
    name: 'DefaultBinder',
    async bind(_state: CycleState, pod: PodInfo, nodeName: string): Promise<Status> {
      const binder = handle?.binder;
      if (!binder) return Status.error('no Binder was given to the scheduler');
      try {
        await binder.bind(pod.pod, nodeName);
        return Status.success;
      } catch (err) {
        return Status.error(`binding ${pod.key} to ${nodeName}: ${(err as Error).message}`);
      }
    },
  };
}
