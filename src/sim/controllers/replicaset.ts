/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods matching each ReplicaSet, creating
 * them from its template in slow-start batches (1, 2, 4, ... as Kubernetes does, so a broken
 * template fails fast) and deleting the least valuable first when there are too many (unscheduled
 * before scheduled, pending before running, not ready before ready, most restarts, newest). It
 * reports replicas, fullyLabeledReplicas, readyReplicas and availableReplicas in the status, at
 * most once a second of cluster time while its pods keep changing.
 *
 * Simplification: pods are owned through their controller ownerReference only; orphans matching a
 * selector are not adopted.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { labelSelectorFromObject } from '../../machinery/selectors.ts';
import { newControllerBuilder, type ReconcileRequest, type ReconcileResult } from '../../controller/index.ts';
import type { Informer } from '../../client/index.ts';
import type { SimContext, SimController } from '../context.ts';
import { podsRef, replicaSetsRef } from '../resources.ts';
import { array, isPodActive, isPodAvailable, isPodReady, podFromTemplate, podNodeName, podPhase, record } from '../pods.ts';
import { Expectations } from './expectations.ts';

/** Index of pods (and ReplicaSets) by the uid of their controller owner. */
export const ownerUidIndex = 'controller-uid';

export function controllerUid(obj: KubeObject): string[] {
  const ref = obj.metadata.ownerReferences?.find((r) => r.controller === true);
  return ref ? [ref.uid] : [];
}

/** Most pods one ReplicaSet creates in one reconcile, as Kubernetes' burstReplicas. */
const burstReplicas = 500;

/**
 * Least cluster time between two status writes of one ReplicaSet, unless its generation moved:
 * a ReplicaSet whose hundreds of pods start at once reports their progress in steps rather than
 * once per pod (each write also wakes the Deployment controller, which writes its own status).
 */
const statusIntervalMs = 1000;

export const replicaSetController: SimController = (ctx) => {
  const expectations = new Expectations(() => ctx.scheduler.now());
  /** When each ReplicaSet's status was last written (cluster time). */
  const statusWritten = new Map<string, number>();
  const recorder = ctx.recorder('replicaset-controller');
  let sets!: Informer;
  let pods!: Informer;
  const built = newControllerBuilder({ name: 'replicaset', client: ctx.client, informers: ctx.informers, scheduler: ctx.scheduler, metrics: ctx.metrics, log: ctx.log, workers: 4 })
    .for(replicaSetsRef)
    .owns(podsRef)
    .complete({ reconcile: (request) => reconcile(request) });
  [sets, pods] = built.informers as [Informer, Informer];
  pods.addIndex(ownerUidIndex, controllerUid);
  const ownerKey = (pod: KubeObject): string | undefined => {
    const ref = pod.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === 'ReplicaSet');
    return ref ? `${pod.metadata.namespace}/${ref.name}` : undefined;
  };
  pods.onAdd((pod) => {
    const owner = ownerKey(pod);
    if (owner) expectations.observedAdd(owner);
  });
  pods.onDelete((pod) => {
    const owner = ownerKey(pod);
    if (owner) expectations.observedDelete(owner, `${pod.metadata.namespace}/${pod.metadata.name}`);
  });

  async function reconcile(request: ReconcileRequest): Promise<ReconcileResult | void> {
    const key = `${request.namespace}/${request.name}`;
    const rs = sets.get(request.namespace, request.name);
    if (!rs) {
      expectations.forget(key);
      statusWritten.delete(key);
      return;
    }
    const owned = pods.byIndex(ownerUidIndex, rs.metadata.uid!);
    const active = owned.filter(isPodActive);
    const spec = record(rs.spec);
    const want = rs.metadata.deletionTimestamp ? 0 : Number(spec.replicas ?? 1);
    if (expectations.satisfied(key)) {
      const diff = want - active.length;
      if (diff > 0) await createPods(ctx, rs, key, Math.min(diff, burstReplicas));
      else if (diff < 0) await deletePods(ctx, key, pickVictims(active, -diff));
    }
    return writeStatus(ctx, rs, owned, statusWritten);
  }

  async function createPods(context: SimContext, rs: KubeObject, key: string, count: number): Promise<void> {
    expectations.expectAdds(key, count);
    let created = 0;
    // Slow start: batches of 1, 2, 4, ...; a failing batch stops the rest.
    for (let batch = 1; created < count; batch *= 2) {
      const size = Math.min(batch, count - created);
      const results = await Promise.allSettled(Array.from({ length: size }, () => context.client.create(podsRef, rs.metadata.namespace, podFromTemplate(rs))));
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      created += size;
      for (const f of failed) {
        expectations.addFailed(key);
        void recorder.warning(rs, 'FailedCreate', `Error creating: ${messageOf(f.reason)}`);
      }
      if (failed.length > 0) {
        for (let skipped = count - created; skipped > 0; skipped--) expectations.addFailed(key);
        throw failed[0]!.reason;
      }
    }
    void recorder.normal(rs, 'SuccessfulCreate', `Created ${count} pod${count === 1 ? '' : 's'}`);
  }

  async function deletePods(context: SimContext, key: string, victims: KubeObject[]): Promise<void> {
    expectations.expectDeletes(key, victims.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
    await Promise.all(victims.map(async (pod) => {
      try {
        await context.client.delete(podsRef, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
      } catch (err) {
        expectations.observedDelete(key, `${pod.metadata.namespace}/${pod.metadata.name}`);
        if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) throw err;
      }
    }));
  }

  return built;
};

/** Orders candidates for deletion, most expendable first, and returns the first `count`. */
export function pickVictims(pods: KubeObject[], count: number): KubeObject[] {
  const phaseRank = (p: KubeObject): number => ({ Pending: 0, Unknown: 1, Running: 2 } as Record<string, number>)[podPhase(p)] ?? 0;
  const restarts = (p: KubeObject): number => array(record(p.status).containerStatuses).reduce((n, c) => n + Number(c.restartCount ?? 0), 0);
  return [...pods].sort((a, b) =>
    Number(podNodeName(a) !== undefined) - Number(podNodeName(b) !== undefined)
    || phaseRank(a) - phaseRank(b)
    || Number(isPodReady(a)) - Number(isPodReady(b))
    || restarts(b) - restarts(a)
    || String(b.metadata.creationTimestamp ?? '').localeCompare(String(a.metadata.creationTimestamp ?? '')),
  ).slice(0, count);
}

async function writeStatus(ctx: SimContext, rs: KubeObject, owned: KubeObject[], written: Map<string, number>): Promise<ReconcileResult | void> {
  const spec = record(rs.spec);
  const minReadySeconds = Number(spec.minReadySeconds ?? 0);
  const now = ctx.scheduler.now();
  const templateLabels = Object.entries(record(record(record(spec.template).metadata).labels) as Record<string, string>);
  const selector = labelSelectorFromObject(spec.selector);
  // One pass over the owned pods: a ReplicaSet syncs on every change to any of its pods.
  let replicas = 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  let waiting = false;
  for (const pod of owned) {
    if (!isPodActive(pod)) continue;
    replicas++;
    const labels = pod.metadata.labels;
    if (selector.matches(labels) && templateLabels.every(([k, v]) => labels?.[k] === v)) fullyLabeled++;
    if (!isPodReady(pod)) continue;
    ready++;
    if (isPodAvailable(pod, minReadySeconds, now)) available++;
    // A pod that is ready but not yet available becomes available once minReadySeconds pass.
    else waiting = true;
  }
  const status = {
    ...record(rs.status),
    replicas,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rs.metadata.generation ?? 1,
  };
  const old = record(rs.status);
  if (!['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration'].every((k) => old[k] === status[k as keyof typeof status])) {
    const key = `${rs.metadata.namespace}/${rs.metadata.name}`;
    const last = written.get(key);
    // The write that says the ReplicaSet has settled goes at once: rollouts wait for it.
    const want = Number(record(rs.spec).replicas ?? 1);
    const settled = replicas === want && ready === want && available === want;
    if (!settled && last !== undefined && now - last < statusIntervalMs && old.observedGeneration === status.observedGeneration) {
      return { requeueAfter: last + statusIntervalMs - now };
    }
    written.set(key, now);
    try {
      await ctx.client.update(replicaSetsRef, rs.metadata.namespace, { ...rs, status }, { subresource: 'status' });
    } catch (err) {
      if (err instanceof StatusError && err.code === 409) return { requeue: true };
      if (err instanceof StatusError && err.code === 404) return;
      throw err;
    }
  }
  return waiting ? { requeueAfter: 1000 } : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
