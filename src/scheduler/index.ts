/**
 * The in-cluster scheduler: kube-scheduler's framework (queue, cache, profiles of plugins at
 * extension points, preemption) as a library, plus what-if placement for fleet decisions.
 */
export { Status, type Code } from './status.ts';
export { CycleState, type Cloneable } from './cycle-state.ts';
export { Resources, defaultMemoryRequest, defaultMilliCpuRequest, resourceCpu, resourceEphemeralStorage, resourceGpu, resourceMemory, resourcePods } from './resources.ts';
export { podInfo, compileSelector, tolerates, type PodInfo, type Selector, type Taint, type Toleration, type AffinityTerm, type SpreadConstraint, type HostPort } from './pod-info.ts';
export { NodeInfo, NumaState, GpuState, type NumaCell } from './node-info.ts';
export { SchedulerCache, type Snapshot } from './cache.ts';
export { SchedulingQueue, type QueuedPod, type ClusterEvent, type SchedulingQueueOptions } from './queue.ts';
export {
  maxNodeScore,
  type AnyPlugin, type Binder, type BindPlugin, type DisruptionBudget, type FilterPlugin, type FrameworkHandle, type Plugin, type PluginFactory,
  type PostFilterPlugin, type PostFilterResult, type PreFilterPlugin, type PreScorePlugin, type ReservePlugin, type ScorePlugin,
} from './interfaces.ts';
export { Framework, numFeasibleNodesToFind, diagnose, type FrameworkOptions, type ScheduleResult } from './framework.ts';
export {
  loadSchedulerConfiguration, schedulerConfiguration, defaultSchedulerConfiguration, SchedulerConfigError, extensionPoints,
  type ExtensionPoint, type ProfileConfiguration, type SchedulerConfiguration,
} from './config.ts';
export { inTreeRegistry, defaultPlugins } from './plugins/registry.ts';
export { disruptionBudget, disruptionsAllowed } from './disruption-budget.ts';
export { selectVictimsOnNode, type Candidate } from './plugins/default-preemption.ts';
export { Scheduler, type ScheduleOutcome, type SchedulerOptions } from './scheduler.ts';
export { whatIf, maxReplicas, type WhatIfResult, type WhatIfPlacement, type WhatIfRejection, type MaxReplicasOptions } from './what-if.ts';
export { makePod, makeNode, PodBuilder, NodeBuilder } from './testing.ts';
export * as annotations from './annotations.ts';
