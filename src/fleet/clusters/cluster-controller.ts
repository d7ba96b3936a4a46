/**
 * The cluster controller: keeps the hub connected to each member cluster a Cluster object names,
 * and the Cluster's status a true account of the member.
 *
 * - Simulated (`spec.mode: Simulated`): starts the simulated cluster in process, in
 *   HOME/clusters/NAME, and reaches it through an in-process MemberClient; the finalizer
 *   `fleet.nephele.dev/cluster-cleanup` holds a deleted Cluster until its member has stopped.
 * - Push (`spec.mode: Push`, or a `kubeconfigSecretRef`): reads the kubeconfig from the Secret
 *   and connects over HTTPS; a changed Secret or spec reconnects.
 * - Pull (`spec.mode: Pull`): the agent beside the member reports status; the hub only watches
 *   that the heartbeats keep coming.
 *
 * Every heartbeat (10 s of hub time by default) asks the member's /readyz and writes the status
 * from informer caches on the member (see MemberObserver). A member that has not answered for the
 * grace period (40 s) turns Ready=Unknown (ClusterNotReachable) and gets the NoExecute taints
 * `cluster.nephele.dev/not-ready` and `cluster.nephele.dev/unreachable`, which go again when it
 * answers. A Cluster with `spec.access: ReadOnly` (Push or Pull) is shared with another hub that
 * owns its workloads: the hub observes it through a client that refuses every write, and
 * placement never picks it. A Cluster annotated `sim.nephele.dev/down: "true"` is treated as unreachable while its
 * simulated member keeps running, for failover tests.
 */
import { rmSync } from 'node:fs';
import type { ClusterSpec, ClusterStatus } from '../../api/kinds/fleet.ts';
import type { ResourceRef } from '../../client/index.ts';
import { newControllerBuilder, type BuiltController, type ReconcileResult, type Runnable } from '../../controller/index.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject, jsonEqual } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { InProcessMemberClient, KubeMemberClient, ReadOnlyMemberClient, type MemberClient } from '../../member/index.ts';
import { startSimulatedCluster, type SimulatedCluster, type SimulatedClusterOptions } from '../../sim/cluster.ts';
import { clusterFromSimulationSpec, clusterHome } from '../../sim/fleet.ts';
import { executionNamespace, fleetRefs, type FleetContext, type FleetController } from '../context.ts';
import { findCondition, notReadyTaintKey, reconcileTaints, setCondition, unreachableTaintKey, type Condition } from './conditions.ts';
import { FailableMemberClient, simulatedDownAnnotation } from './failable-member.ts';
import { MemberObserver, ModelQueue, type MemberReport } from './observer.ts';
import type { ResourceShape } from './summary.ts';

/** Holds a deleted Cluster until the hub has let go of its member (stopped a simulated one). */
export const clusterCleanupFinalizer = 'fleet.nephele.dev/cluster-cleanup';
/** The Secret key holding a member's kubeconfig unless `kubeconfigSecretRef.key` says otherwise. */
export const defaultKubeconfigKey = 'kubeconfig';

export const secretsRef: ResourceRef = { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true };
const namespacesRef: ResourceRef = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };

/** Reasons of the Ready condition the hub writes. */
export const clusterReasons = {
  ready: 'ClusterReady',
  notReachable: 'ClusterNotReachable',
  secretNotFound: 'SecretNotFound',
  invalidKubeconfig: 'InvalidKubeconfig',
  simulationFailed: 'SimulationFailed',
  awaitingAgent: 'AwaitingAgent',
  invalidAccess: 'InvalidAccess',
} as const;

export interface ClusterControllerOptions {
  /** Hub time between heartbeats; default 10 s. */
  heartbeatMs?: number;
  /** How long a member may miss heartbeats before it is not ready and tainted; default 40 s. */
  gracePeriodMs?: number;
  /** Clusters reconciled at once; default 16. */
  workers?: number;
  /** Pod shapes of the resource model; the standard four by default. */
  shapes?: readonly ResourceShape[];
  /** Stop counting replicas of one shape here; default 100,000. */
  modelLimit?: number;
  /** Options for the simulated members this controller starts (a port, or no controllers). */
  simulated?: Pick<SimulatedClusterOptions, 'controllers' | 'log' | 'nodeLifecycle'>;
}

export type ClusterMode = 'Push' | 'Pull' | 'Simulated';

/** The mode a Cluster's spec asks for: `mode` when set, else Push with a kubeconfig Secret, Simulated with a simulation. */
export function clusterMode(spec: ClusterSpec): ClusterMode {
  if (spec.mode) return spec.mode;
  if (spec.kubeconfigSecretRef) return 'Push';
  if (spec.simulation) return 'Simulated';
  return 'Push';
}

/** Why the hub has no connection to a member: becomes Ready=False with this reason. */
interface ConnectionProblem {
  reason: string;
  message: string;
}

/** What the controller keeps per member between reconciles. */
interface MemberState {
  mode: ClusterMode;
  /** What the connection was made from; a different key reconnects. */
  connectionKey: string;
  client?: MemberClient;
  failable?: FailableMemberClient;
  simulated?: SimulatedCluster;
  observer?: MemberObserver;
  problem?: ConnectionProblem;
  /** Secret `namespace/name` the connection was read from (push). */
  secret?: string;
  lastProbeAt?: number;
  lastSuccessAt?: number;
  /** Set when a newly computed resource model waits to be written. */
  modelDirty: boolean;
  namespaceReady?: boolean;
}

function spec(cluster: KubeObject): ClusterSpec {
  return (isPlainObject(cluster.spec) ? cluster.spec : {}) as ClusterSpec;
}

function status(cluster: KubeObject): ClusterStatus {
  return (isPlainObject(cluster.status) ? cluster.status : {}) as ClusterStatus;
}

/** The cluster controller as a FleetController; see the file comment for what it does. */
export function clusterController(options: ClusterControllerOptions = {}): FleetController {
  return (context) => new ClusterReconciler(context, options).runnable();
}

class ClusterReconciler {
  readonly #context: FleetContext;
  readonly #heartbeatMs: number;
  readonly #graceMs: number;
  readonly #options: ClusterControllerOptions;
  readonly #states = new Map<string, MemberState>();
  readonly #models = new ModelQueue();
  #built: BuiltController | undefined;

  constructor(context: FleetContext, options: ClusterControllerOptions) {
    this.#context = context;
    this.#options = options;
    this.#heartbeatMs = options.heartbeatMs ?? 10_000;
    this.#graceMs = options.gracePeriodMs ?? 40_000;
  }

  runnable(): Runnable {
    return {
      start: async () => {
        this.#built = newControllerBuilder({
          name: 'cluster',
          client: this.#context.client,
          scheduler: this.#context.scheduler,
          metrics: this.#context.metrics,
          log: this.#context.log,
          workers: this.#options.workers ?? 16,
        })
          .for(fleetRefs.clusters)
          .watches(secretsRef, (secret) => this.#clustersUsing(secret))
          .complete({
            reconcile: async (request) => {
              try {
                return await this.#reconcile(request.name);
              } catch (err) {
                // A pull member's agent writes the same status; losing that race is routine.
                if (err instanceof StatusError && err.reason === 'Conflict') return { requeue: true };
                throw err;
              }
            },
          });
        await this.#built.start();
      },
      stop: async () => {
        await this.#built?.stop();
        this.#built = undefined;
        await Promise.all([...this.#states.keys()].map((name) => this.#disconnect(name, false)));
      },
    };
  }

  #clustersUsing(secret: KubeObject): Array<{ name: string }> {
    const key = `${secret.metadata.namespace}/${secret.metadata.name}`;
    return [...this.#states].filter(([, s]) => s.secret === key).map(([name]) => ({ name }));
  }

  async #reconcile(name: string): Promise<ReconcileResult | void> {
    const cluster = this.#built?.informers[0]?.get(undefined, name);
    if (!cluster) {
      await this.#disconnect(name, true);
      return;
    }
    if (cluster.metadata.deletionTimestamp) {
      await this.#disconnect(name, true);
      await this.#removeFinalizer(cluster);
      return;
    }
    const mode = clusterMode(spec(cluster));
    if (mode === 'Simulated' && !cluster.metadata.finalizers?.includes(clusterCleanupFinalizer)) {
      // Stops nothing before the finalizer is in place; the write's event reconciles again.
      await this.#context.client.update(fleetRefs.clusters, undefined, {
        ...cluster, metadata: { ...cluster.metadata, finalizers: [...(cluster.metadata.finalizers ?? []), clusterCleanupFinalizer] },
      });
      return;
    }
    const state = await this.#connect(name, cluster, mode);
    if (!state.namespaceReady) {
      await this.#ensureNamespace(executionNamespace(name));
      state.namespaceReady = true;
    }
    let downChanged = false;
    if (state.failable) {
      const down = cluster.metadata.annotations?.[simulatedDownAnnotation] === 'true';
      downChanged = state.failable.down !== down;
      state.failable.down = down;
    }
    const now = this.#context.scheduler.now();
    // Pull clusters cost nothing to look at (no probe), so every change is looked at at once.
    const probeDue = mode === 'Pull' || state.lastProbeAt === undefined || now - state.lastProbeAt >= this.#heartbeatMs || state.modelDirty || downChanged;
    if (!probeDue) return { requeueAfter: this.#heartbeatMs - (now - state.lastProbeAt!) };
    state.lastProbeAt = now;
    state.modelDirty = false;
    if (mode === 'Pull') await this.#watchPullHeartbeats(cluster, now);
    else await this.#heartbeat(cluster, state, now);
    return { requeueAfter: this.#heartbeatMs };
  }

  /** The state for `cluster`, (re)connecting when what the connection is made from changed. */
  async #connect(name: string, cluster: KubeObject, mode: ClusterMode): Promise<MemberState> {
    const s = spec(cluster);
    let key: string;
    let secretKey: string | undefined;
    let secret: KubeObject | undefined;
    let secretMissing = false;
    if (mode === 'Simulated') {
      key = JSON.stringify(['Simulated', s.simulation ?? null, s.region ?? null, s.access ?? null]);
    } else if (mode === 'Push') {
      const ref = s.kubeconfigSecretRef;
      if (ref) {
        secretKey = `${ref.namespace}/${ref.name}`;
        try {
          secret = await this.#context.client.get(secretsRef, ref.namespace, ref.name);
        } catch (err) {
          if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
          secretMissing = true;
        }
      }
      key = JSON.stringify(['Push', ref ?? null, secret?.metadata.uid ?? null, secret?.metadata.resourceVersion ?? null, s.access ?? null]);
    } else {
      key = 'Pull';
    }
    const existing = this.#states.get(name);
    if (existing && existing.connectionKey === key) return existing;
    if (existing) await this.#disconnect(name, false);
    const state: MemberState = { mode, connectionKey: key, modelDirty: false, ...(secretKey ? { secret: secretKey } : {}) };
    this.#states.set(name, state);
    if (mode === 'Simulated' && s.access === 'ReadOnly') {
      state.problem = { reason: clusterReasons.invalidAccess, message: 'spec.access ReadOnly is for a cluster another hub owns, reached with Push or Pull; this hub would run a Simulated cluster itself (remove spec.access, or register the other hub\'s member with `nephele join --read-only`)' };
    } else if (mode === 'Simulated') {
      try {
        const simulation = s.simulation ?? { nodes: 3 };
        const sim = await startSimulatedCluster({
          ...clusterFromSimulationSpec(name, { ...simulation, ...(s.region ? { region: s.region } : {}) }, simulation.speed !== undefined ? { speed: simulation.speed } : {}),
          home: clusterHome(this.#context.home, name),
          ...(simulation.startLatencySeconds !== undefined ? { startLatencyMs: simulation.startLatencySeconds * 1000 } : {}),
          ...this.#options.simulated,
        });
        state.simulated = sim;
        state.failable = new FailableMemberClient(new InProcessMemberClient(sim, { name }));
        state.client = state.failable;
      } catch (err) {
        state.problem = { reason: clusterReasons.simulationFailed, message: `the simulated cluster did not start: ${(err as Error).message}` };
      }
    } else if (mode === 'Push') {
      state.problem = this.#pushClient(name, cluster, secret, secretMissing, state);
      if (state.client && s.access === 'ReadOnly') state.client = new ReadOnlyMemberClient(state.client);
    }
    if (state.client) {
      state.observer = new MemberObserver(state.client, {
        ...(this.#options.shapes ? { shapes: this.#options.shapes } : {}),
        ...(this.#options.modelLimit !== undefined ? { modelLimit: this.#options.modelLimit } : {}),
        modelQueue: this.#models,
        onModel: () => {
          state.modelDirty = true;
          this.#built?.controller.enqueue({ name });
        },
      });
      await this.#context.members.set(name, state.client);
    }
    return state;
  }

  /** Builds the push client into `state`, or says why it cannot. */
  #pushClient(name: string, cluster: KubeObject, secret: KubeObject | undefined, secretMissing: boolean, state: MemberState): ConnectionProblem | undefined {
    const ref = spec(cluster).kubeconfigSecretRef;
    if (!ref) return { reason: clusterReasons.invalidKubeconfig, message: 'spec.kubeconfigSecretRef is not set: a Push cluster needs the Secret holding its kubeconfig (see `nephele join`)' };
    if (secretMissing || !secret) return { reason: clusterReasons.secretNotFound, message: `Secret ${ref.namespace}/${ref.name} holding the kubeconfig does not exist` };
    const dataKey = ref.key ?? defaultKubeconfigKey;
    const data = isPlainObject(secret.data) ? secret.data : {};
    const stringData = isPlainObject(secret.stringData) ? secret.stringData : {};
    const encoded = data[dataKey];
    const yaml = typeof encoded === 'string' ? Buffer.from(encoded, 'base64').toString('utf8') : typeof stringData[dataKey] === 'string' ? String(stringData[dataKey]) : undefined;
    if (yaml === undefined) {
      return { reason: clusterReasons.invalidKubeconfig, message: `Secret ${ref.namespace}/${ref.name} has no key ${JSON.stringify(dataKey)}; it has ${Object.keys(data).map((k) => JSON.stringify(k)).join(', ') || 'no keys'}` };
    }
    try {
      state.client = KubeMemberClient.fromKubeconfigYaml(name, yaml, { healthTimeoutMs: Math.min(2000, this.#heartbeatMs) });
      return undefined;
    } catch (err) {
      return { reason: clusterReasons.invalidKubeconfig, message: `Secret ${ref.namespace}/${ref.name} key ${JSON.stringify(dataKey)}: ${(err as Error).message}` };
    }
  }

  /** Forgets the member: stops its observer, drops the connection, stops a simulated member. */
  async #disconnect(name: string, forget: boolean): Promise<void> {
    const state = this.#states.get(name);
    if (!state) return;
    this.#states.delete(name);
    await state.observer?.stop();
    if (state.client && this.#context.members.get(name) === state.client) await this.#context.members.set(name, undefined);
    else await state.client?.close();
    if (state.simulated) {
      await state.simulated.stop();
      // A deleted Cluster's member is gone for good: so are its certificates and kubeconfig.
      if (forget) rmSync(clusterHome(this.#context.home, name), { recursive: true, force: true });
    }
  }

  async #removeFinalizer(cluster: KubeObject): Promise<void> {
    if (!cluster.metadata.finalizers?.includes(clusterCleanupFinalizer)) return;
    try {
      await this.#context.client.update(fleetRefs.clusters, undefined, {
        ...cluster, metadata: { ...cluster.metadata, finalizers: cluster.metadata.finalizers.filter((f) => f !== clusterCleanupFinalizer) },
      });
    } catch (err) {
      if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
    }
  }

  async #ensureNamespace(namespace: string): Promise<void> {
    try {
      await this.#context.client.create(namespacesRef, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'fleet.nephele.dev/execution-namespace': 'true' } } });
    } catch (err) {
      if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
    }
  }

  /** One heartbeat of a push or simulated member: probe, collect, write status and taints. */
  async #heartbeat(cluster: KubeObject, state: MemberState, now: number): Promise<void> {
    const nowIso = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const name = cluster.metadata.name!;
    const previous = status(cluster);
    if (state.problem || !state.client || !state.observer) {
      const problem = state.problem ?? { reason: clusterReasons.notReachable, message: `no connection to member cluster ${name}` };
      await this.#write(cluster, { ...previous, conditions: setCondition(previous.conditions, { type: 'Ready', status: 'False', reason: problem.reason, message: problem.message }, nowIso) }, [notReadyTaintKey], nowIso);
      return;
    }
    let report: MemberReport | undefined;
    let failure = '';
    try {
      if (await state.client.healthy()) report = await state.observer.report();
      else failure = 'did not answer /readyz';
    } catch (err) {
      failure = (err as Error).message;
    }
    if (report) {
      state.lastSuccessAt = now;
      const next = readyStatus(report, spec(cluster), previous, `member cluster ${name} is ready`, nowIso);
      await this.#write(cluster, next, [], nowIso);
      state.observer.refreshModel();
      return;
    }
    // Within the grace period a missed heartbeat changes nothing: one lost probe is no outage.
    const since = state.lastSuccessAt ?? heartbeatOf(previous);
    if (since !== undefined && now - since < this.#graceMs) return;
    const message = since === undefined
      ? `member cluster ${name} ${failure}`
      : `member cluster ${name} has not answered for ${Math.round((now - since) / 1000)} s: ${failure}`;
    await this.#write(cluster, { ...previous, conditions: setCondition(previous.conditions, { type: 'Ready', status: 'Unknown', reason: clusterReasons.notReachable, message }, nowIso) }, [notReadyTaintKey, unreachableTaintKey], nowIso);
  }

  /** Pull members write their own status; the hub marks them unreachable when heartbeats stop. */
  async #watchPullHeartbeats(cluster: KubeObject, now: number): Promise<void> {
    const nowIso = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const previous = status(cluster);
    const last = heartbeatOf(previous);
    const ready = findCondition(previous.conditions, 'Ready');
    if (last !== undefined && now - last < this.#graceMs) {
      await this.#write(cluster, previous, ready?.status === 'True' ? [] : [notReadyTaintKey], nowIso);
      return;
    }
    const created = Date.parse(cluster.metadata.creationTimestamp ?? '');
    if (last === undefined && Number.isFinite(created) && now - created < this.#graceMs) {
      const conditions = ready ? previous.conditions : setCondition(previous.conditions, { type: 'Ready', status: 'Unknown', reason: clusterReasons.awaitingAgent, message: `waiting for the agent of ${cluster.metadata.name} to report (nephele agent)` }, nowIso);
      await this.#write(cluster, { ...previous, conditions }, [notReadyTaintKey], nowIso);
      return;
    }
    const message = last === undefined
      ? `the agent of ${cluster.metadata.name} has never reported`
      : `the agent of ${cluster.metadata.name} has not reported for ${Math.round((now - last) / 1000)} s`;
    await this.#write(cluster, { ...previous, conditions: setCondition(previous.conditions, { type: 'Ready', status: 'Unknown', reason: clusterReasons.notReachable, message }, nowIso) }, [notReadyTaintKey, unreachableTaintKey], nowIso);
  }

  /** Writes taints (spec) and status where they differ from what the Cluster holds. */
  async #write(cluster: KubeObject, next: ClusterStatus, taintKeys: string[], nowIso: string): Promise<void> {
    const name = cluster.metadata.name!;
    const s = spec(cluster);
    const taints = reconcileTaints(s.taints, taintKeys, nowIso);
    if (!jsonEqual(taints, s.taints ?? [])) {
      await this.#context.client.patch(fleetRefs.clusters, undefined, name, 'merge', { spec: { taints } });
    }
    const previous = status(cluster);
    if (!jsonEqual(next, previous)) {
      // The whole status at once (maps such as gpus lose keys too); without a resourceVersion for
      // push and simulated members, whose status only the hub writes.
      // A pull member's agent writes status too: there the write is pinned to the version read.
      if (clusterMode(s) === 'Pull') await this.#context.client.update(fleetRefs.clusters, undefined, { ...cluster, status: next }, { subresource: 'status' });
      else await this.#context.client.patch(fleetRefs.clusters, undefined, name, 'json', [{ op: 'add', path: '/status', value: next }], { subresource: 'status' });
      const before = findCondition(previous.conditions, 'Ready');
      const after = findCondition(next.conditions, 'Ready');
      if (after && (before?.status !== after.status || before?.reason !== after.reason)) this.#record(cluster, after);
    }
  }

  #record(cluster: KubeObject, ready: Condition): void {
    const recorder = this.#context.recorder('cluster-controller');
    const event = ready.status === 'True' ? recorder.normal(cluster, ready.reason ?? 'ClusterReady', ready.message ?? '') : recorder.warning(cluster, ready.reason ?? 'ClusterNotReady', ready.message ?? '');
    event.catch(() => undefined);
  }
}

/** lastHeartbeatTime in epoch milliseconds, or undefined. */
function heartbeatOf(s: ClusterStatus): number | undefined {
  const t = Date.parse(s.lastHeartbeatTime ?? '');
  return Number.isFinite(t) ? t : undefined;
}

/**
 * The status a heartbeat writes for a member that answered: Ready, and what `report` says of it.
 * A resource model not computed yet keeps the previous one; the spec's price wins over the nodes'.
 */
export function readyStatus(report: MemberReport, spec: ClusterSpec, previous: ClusterStatus, message: string, now: string): ClusterStatus {
  const pricing = spec.pricing?.cpuCoreHourUSD ?? report.cpuCoreHourUSD;
  const resourceModel = report.resourceModel ?? previous.resourceModel;
  return {
    conditions: setCondition(previous.conditions, { type: 'Ready', status: 'True', reason: clusterReasons.ready, message }, now),
    kubernetesVersion: report.kubernetesVersion,
    nodeCount: report.nodeCount,
    readyNodeCount: report.readyNodeCount,
    capacity: report.capacity,
    allocatable: report.allocatable,
    allocated: report.allocated,
    gpus: report.gpus,
    ...(resourceModel ? { resourceModel } : {}),
    ...(pricing !== undefined ? { pricing: { cpuCoreHourUSD: pricing } } : {}),
    hub: report.hub,
    lastHeartbeatTime: now,
  };
}
