/** The controller runtime: work queue, reconciler contract, controllers, manager, leader election, events. */
export { WorkQueue, type WorkQueueOptions } from './work-queue.ts';
export { ManualScheduler, realScheduler, type CancelTimer, type Scheduler } from './scheduler.ts';
export { TerminalError, parseRequestKey, requestKey, type ReconcileRequest, type ReconcileResult, type Reconciler } from './reconciler.ts';
export { Controller, stderrLog, type ControllerLog, type ControllerOptions } from './controller.ts';
export { ControllerMetrics, type ReconcileOutcome } from './metrics.ts';
export { Manager, type AddOptions, type ManagerOptions, type Runnable } from './manager.ts';
export { EventRecorder, eventResource, type EventRecorderOptions, type EventType, type InvolvedObject } from './event-recorder.ts';
export { LeaderElector, leaseExpired, leaseResource, toMicroTime, type LeaderElectorOptions, type LeaseSpec } from './leader-election.ts';
export { ControllerBuilder, newControllerBuilder, type BuiltController, type ControllerBuilderOptions, type MapFunction, type WatchOptions } from './builder.ts';
