/**
 * The pull agent: runs beside a member cluster the hub cannot reach (behind NAT, at the edge) and
 * does from there what the hub does for push members. It registers the member's Cluster on the
 * hub with `spec.mode: Pull`, writes the Cluster's status every heartbeat (the same collection as
 * the hub's, MemberObserver, run against the member), and applies the Work objects the hub keeps
 * for it in `nephele-cluster-NAME` with `applyWork`, writing their status back and pruning what
 * a deleted Work leaves behind (the finalizer `fleet.nephele.dev/agent-cleanup` holds a Work
 * until its objects are gone from the member).
 */
import type { ClusterSpec, ClusterStatus } from '../../api/kinds/fleet.ts';
import type { ObjectClient } from '../../client/index.ts';
import { newControllerBuilder, realScheduler, stderrLog, type BuiltController, type CancelTimer, type ControllerLog, type Scheduler } from '../../controller/index.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject, jsonEqual } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { ReadOnlyMemberClient, type MemberClient } from '../../member/index.ts';
import { executionNamespace, fleetRefs } from '../context.ts';
import { applyWork, pruneWork, workStatus } from './apply-work.ts';
import { setCondition } from './conditions.ts';
import { readyStatus } from './cluster-controller.ts';
import { MemberObserver } from './observer.ts';

/** Holds a Work until the agent has deleted what it applied from the member. */
export const agentCleanupFinalizer = 'fleet.nephele.dev/agent-cleanup';

export interface ClusterAgentOptions {
  /** The member's name on the hub (a DNS label). */
  name: string;
  /** The hub's API. */
  hub: ObjectClient;
  /** The member cluster the agent runs beside. */
  member: MemberClient;
  /** Labels to put on the Cluster. */
  labels?: Record<string, string>;
  /** Where the member is. */
  provider?: string;
  region?: string;
  zone?: string;
  /** Time between heartbeats; default 10 s. */
  heartbeatMs?: number;
  /** How often a Work is applied again to refresh its status; default 30 s. */
  resyncMs?: number;
  scheduler?: Scheduler;
  /**
   * Register the cluster `spec.access: ReadOnly` and only report its status: for a cluster whose
   * workloads another hub owns. The agent then never writes to the member and applies no Work.
   */
  readOnly?: boolean;
  /** Field manager of the applies on the member; default `nephele-agent`. */
  fieldManager?: string;
  log?: ControllerLog;
}

export interface ClusterAgent {
  /** Registers the Cluster, sends the first heartbeat, and starts applying Work. */
  start(): Promise<void>;
  /** Stops heartbeats and Work; the Cluster stays (the hub marks it unreachable after the grace period). */
  stop(): Promise<void>;
  /** Sends one heartbeat now. */
  heartbeat(): Promise<void>;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function clusterAgent(options: ClusterAgentOptions): ClusterAgent {
  if (!dnsLabel.test(options.name) || options.name.length > 63) throw new Error(`cluster name ${JSON.stringify(options.name)} is not a DNS label (lower-case letters, digits and '-', at most 63)`);
  const { name, hub } = options;
  const member = options.readOnly ? new ReadOnlyMemberClient(options.member) : options.member;
  const scheduler = options.scheduler ?? realScheduler;
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const resyncMs = options.resyncMs ?? 30_000;
  const log = options.log ?? stderrLog;
  const namespace = executionNamespace(name);
  let cancel: CancelTimer | undefined;
  let stopped = false;
  let works: BuiltController | undefined;
  let beating: Promise<void> | undefined;
  const observer = new MemberObserver(member, { onModel: () => void heartbeat() });

  async function register(): Promise<void> {
    const wanted: ClusterSpec = {
      mode: 'Pull',
      access: options.readOnly ? 'ReadOnly' : 'ReadWrite',
      ...(options.provider ? { provider: options.provider } : {}),
      ...(options.region ? { region: options.region } : {}),
      ...(options.zone ? { zone: options.zone } : {}),
    };
    let existing: KubeObject | undefined;
    try {
      existing = await hub.get(fleetRefs.clusters, undefined, name);
    } catch (err) {
      if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
    }
    if (!existing) {
      await hub.create(fleetRefs.clusters, undefined, { apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Cluster', metadata: { name, ...(options.labels ? { labels: options.labels } : {}) }, spec: wanted });
    } else {
      const mode = isPlainObject(existing.spec) ? existing.spec.mode : undefined;
      if (mode !== undefined && mode !== 'Pull') throw new Error(`Cluster ${name} on the hub has spec.mode ${String(mode)}: the agent only runs Pull clusters (delete it, or pick another --name)`);
      await hub.patch(fleetRefs.clusters, undefined, name, 'merge', { metadata: { labels: options.labels ?? {} }, spec: wanted });
    }
    try {
      await hub.create({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false }, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
    } catch (err) {
      if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
    }
  }

  async function beat(): Promise<void> {
    const cluster = await hub.get(fleetRefs.clusters, undefined, name);
    const previous = (isPlainObject(cluster.status) ? cluster.status : {}) as ClusterStatus;
    const now = scheduler.nowIso();
    let next: ClusterStatus;
    try {
      if (!(await member.healthy())) throw new Error('did not answer /readyz');
      const report = await observer.report();
      next = readyStatus(report, (isPlainObject(cluster.spec) ? cluster.spec : {}) as ClusterSpec, previous, `member cluster ${name} is ready (reported by its agent)`, now);
    } catch (err) {
      // The agent is up but its cluster is not: the hub should know that, not just time out.
      next = { ...previous, conditions: setCondition(previous.conditions, { type: 'Ready', status: 'False', reason: 'ClusterNotReady', message: `the agent cannot use member cluster ${name}: ${(err as Error).message}` }, now), lastHeartbeatTime: now };
    }
    await hub.patch(fleetRefs.clusters, undefined, name, 'json', [{ op: 'add', path: '/status', value: next }], { subresource: 'status' });
    observer.refreshModel();
  }

  /** One heartbeat at a time; a call while one runs waits for it. */
  function heartbeat(): Promise<void> {
    beating ??= beat().catch((err: unknown) => log('error', 'agent: heartbeat failed', { cluster: name, error: (err as Error).message })).finally(() => { beating = undefined; });
    return beating;
  }

  function schedule(): void {
    if (stopped) return;
    cancel = scheduler.after(heartbeatMs, async () => {
      await heartbeat();
      schedule();
    });
  }

  async function reconcileWork(workName: string): Promise<{ requeueAfter: number } | void> {
    const work = works!.informers[0]!.get(namespace, workName);
    if (!work) return;
    if (work.metadata.deletionTimestamp) {
      if (!work.metadata.finalizers?.includes(agentCleanupFinalizer)) return;
      await pruneWork(member, work);
      await hub.update(fleetRefs.works, namespace, { ...work, metadata: { ...work.metadata, finalizers: work.metadata.finalizers.filter((f) => f !== agentCleanupFinalizer) } });
      return;
    }
    if (!work.metadata.finalizers?.includes(agentCleanupFinalizer)) {
      await hub.update(fleetRefs.works, namespace, { ...work, metadata: { ...work.metadata, finalizers: [...(work.metadata.finalizers ?? []), agentCleanupFinalizer] } });
      return;
    }
    const summary = await applyWork(member, work, options.fieldManager ? { fieldManager: options.fieldManager } : {});
    const next = workStatus(summary, work.status, scheduler.nowIso());
    if (!jsonEqual(next, work.status)) {
      await hub.patch(fleetRefs.works, namespace, workName, 'json', [{ op: 'add', path: '/status', value: next }], { subresource: 'status' });
    }
    return { requeueAfter: resyncMs };
  }

  return {
    async start() {
      await register();
      await heartbeat();
      schedule();
      if (options.readOnly) return;
      works = newControllerBuilder({ name: `agent-work-${name}`, client: hub, scheduler, log })
        .for(fleetRefs.works, { namespace })
        .complete({ reconcile: (request) => reconcileWork(request.name) });
      await works.start();
    },
    async stop() {
      stopped = true;
      cancel?.();
      await works?.stop();
      await beating;
      await observer.stop();
    },
    heartbeat,
  };
}
