/**
 * The Deployment controller: one ReplicaSet per pod template (named and labelled by the template's
 * hash), rolled forward with the RollingUpdate strategy's maxSurge and maxUnavailable, or with
 * Recreate, as Kubernetes' deployment controller does. It scales the new ReplicaSet up as far as
 * the surge allows and the old ones down as far as availability allows, prunes old ReplicaSets
 * beyond revisionHistoryLimit, and reports replicas, updatedReplicas, readyReplicas,
 * availableReplicas, unavailableReplicas and the Available and Progressing conditions that
 * `kubectl rollout status` reads.
 *
 * Simplifications: no proportional scaling of several live ReplicaSets while a rollout is under
 * way (the rollout converges instead), and no progress deadline.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { cloneJson } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { newControllerBuilder, type ReconcileRequest, type ReconcileResult } from '../../controller/index.ts';
import type { Informer } from '../../client/index.ts';
import type { SimContext, SimController } from '../context.ts';
import { deploymentsRef, replicaSetsRef } from '../resources.ts';
import { array, controllerRef, podTemplateHashLabel, record, type Json } from '../pods.ts';
import { controllerUid, ownerUidIndex } from './replicaset.ts';

const revisionAnnotation = 'deployment.kubernetes.io/revision';
const desiredAnnotation = 'deployment.kubernetes.io/desired-replicas';
const maxAnnotation = 'deployment.kubernetes.io/max-replicas';

export const deploymentController: SimController = (ctx) => {
  const recorder = ctx.recorder('deployment-controller');
  let deployments!: Informer;
  let sets!: Informer;
  const built = newControllerBuilder({ name: 'deployment', client: ctx.client, informers: ctx.informers, scheduler: ctx.scheduler, metrics: ctx.metrics, log: ctx.log, workers: 2 })
    .for(deploymentsRef)
    .owns(replicaSetsRef)
    .complete({ reconcile: (request) => reconcile(request) });
  [deployments, sets] = built.informers as [Informer, Informer];
  sets.addIndex(ownerUidIndex, controllerUid);

  async function reconcile(request: ReconcileRequest): Promise<ReconcileResult | void> {
    const d = deployments.get(request.namespace, request.name);
    if (!d || d.metadata.deletionTimestamp) return;
    const spec = record(d.spec);
    const replicas = Number(spec.replicas ?? 1);
    const all = sets.byIndex(ownerUidIndex, d.metadata.uid!);
    const hash = templateHash(spec.template);
    let newRS = all.find((rs) => rs.metadata.labels?.[podTemplateHashLabel] === hash && !rs.metadata.deletionTimestamp);
    const old = all.filter((rs) => rs !== newRS && !rs.metadata.deletionTimestamp);
    try {
      if (spec.paused !== true) {
        if (!newRS) {
          newRS = await createReplicaSet(ctx, d, hash, initialReplicas(d, replicas, all), nextRevision(all));
          return;
        }
        const strategy = record(spec.strategy);
        const changed = strategy.type === 'Recreate'
          ? await recreate(ctx, d, newRS, old, replicas)
          : await rollingUpdate(ctx, d, newRS, old, replicas);
        if (changed) return;
        await pruneHistory(ctx, d, old);
      }
      await writeStatus(ctx, d, newRS, old, replicas);
    } catch (err) {
      if (err instanceof StatusError && (err.code === 409 || err.code === 404)) return { requeue: true };
      throw err;
    }
  }

  async function createReplicaSet(context: SimContext, d: KubeObject, hash: string, replicas: number, revision: number): Promise<KubeObject> {
    const spec = record(d.spec);
    const template = cloneJson(record(spec.template));
    const meta = record(template.metadata);
    meta.labels = { ...record(meta.labels), [podTemplateHashLabel]: hash };
    template.metadata = meta;
    const selector = cloneJson(record(spec.selector));
    selector.matchLabels = { ...record(selector.matchLabels), [podTemplateHashLabel]: hash };
    const rs: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...(record(meta.labels) as Record<string, string>) },
        annotations: { [revisionAnnotation]: String(revision), [desiredAnnotation]: String(Number(spec.replicas ?? 1)), [maxAnnotation]: String(Number(spec.replicas ?? 1) + surgeOf(d)) },
        ownerReferences: [controllerRef(d)],
      },
      spec: { replicas, minReadySeconds: Number(spec.minReadySeconds ?? 0), selector, template },
    };
    const created = await context.client.create(replicaSetsRef, d.metadata.namespace, rs);
    await context.client.patch(deploymentsRef, d.metadata.namespace, d.metadata.name!, 'merge', { metadata: { annotations: { [revisionAnnotation]: String(revision) } } });
    void recorder.normal(d, 'ScalingReplicaSet', `Scaled up replica set ${created.metadata.name} from 0 to ${replicas}`);
    return created;
  }

  async function scale(context: SimContext, d: KubeObject, rs: KubeObject, to: number): Promise<void> {
    const from = Number(record(rs.spec).replicas ?? 0);
    if (from === to) return;
    const spec = record(d.spec);
    await context.client.patch(replicaSetsRef, rs.metadata.namespace, rs.metadata.name!, 'merge', {
      metadata: { annotations: { [desiredAnnotation]: String(Number(spec.replicas ?? 1)), [maxAnnotation]: String(Number(spec.replicas ?? 1) + surgeOf(d)) } },
      spec: { replicas: to },
    });
    void recorder.normal(d, 'ScalingReplicaSet', `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`);
  }

  /** Recreate: every old pod goes before any new one starts. Returns true when it changed something. */
  async function recreate(context: SimContext, d: KubeObject, newRS: KubeObject, old: KubeObject[], replicas: number): Promise<boolean> {
    let changed = false;
    for (const rs of old) {
      if (specReplicas(rs) > 0) {
        await scale(context, d, rs, 0);
        changed = true;
      }
    }
    if (changed || old.some((rs) => Number(record(rs.status).replicas ?? 0) > 0)) return changed;
    if (specReplicas(newRS) !== replicas) {
      await scale(context, d, newRS, replicas);
      return true;
    }
    return false;
  }

  async function rollingUpdate(context: SimContext, d: KubeObject, newRS: KubeObject, old: KubeObject[], replicas: number): Promise<boolean> {
    const maxSurge = surgeOf(d);
    const maxUnavailable = unavailableOf(d);
    const all = [newRS, ...old];
    // Scale the new ReplicaSet towards the goal, within replicas + maxSurge in all.
    const newReplicas = specReplicas(newRS);
    if (newReplicas > replicas) {
      await scale(context, d, newRS, replicas);
      return true;
    }
    if (newReplicas < replicas) {
      const total = all.reduce((n, rs) => n + specReplicas(rs), 0);
      const room = Math.min(replicas + maxSurge - total, replicas - newReplicas);
      if (room > 0) {
        await scale(context, d, newRS, newReplicas + room);
        return true;
      }
    }
    // Scale old ReplicaSets down as far as keeping replicas - maxUnavailable available allows.
    const oldTotal = old.reduce((n, rs) => n + specReplicas(rs), 0);
    if (oldTotal === 0) return false;
    const minAvailable = replicas - maxUnavailable;
    const newUnavailable = specReplicas(newRS) - availableOf(newRS);
    let budget = all.reduce((n, rs) => n + specReplicas(rs), 0) - minAvailable - newUnavailable;
    if (budget <= 0) return false;
    let changed = false;
    // First the unhealthy replicas of old sets: removing them costs no availability.
    const byAge = [...old].sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
    const targets = new Map(byAge.map((rs) => [rs, specReplicas(rs)]));
    for (const rs of byAge) {
      const unhealthy = Math.max(0, specReplicas(rs) - availableOf(rs));
      const cut = Math.min(unhealthy, budget);
      if (cut > 0) {
        targets.set(rs, targets.get(rs)! - cut);
        budget -= cut;
      }
    }
    // Then available old replicas, while the whole stays at or above minAvailable.
    let spare = all.reduce((n, rs) => n + availableOf(rs), 0) - minAvailable;
    for (const rs of byAge) {
      if (spare <= 0) break;
      const cut = Math.min(targets.get(rs)!, spare);
      if (cut > 0) {
        targets.set(rs, targets.get(rs)! - cut);
        spare -= cut;
      }
    }
    for (const [rs, to] of targets) {
      if (to !== specReplicas(rs)) {
        await scale(context, d, rs, to);
        changed = true;
      }
    }
    return changed;
  }

  async function pruneHistory(context: SimContext, d: KubeObject, old: KubeObject[]): Promise<void> {
    const limit = Number(record(d.spec).revisionHistoryLimit ?? 10);
    const idle = old.filter((rs) => specReplicas(rs) === 0 && Number(record(rs.status).replicas ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      await context.client.delete(replicaSetsRef, rs.metadata.namespace, rs.metadata.name!, { preconditions: { uid: rs.metadata.uid } });
    }
  }

  return built;
};

async function writeStatus(ctx: SimContext, d: KubeObject, newRS: KubeObject | undefined, old: KubeObject[], replicas: number): Promise<void> {
  const all = newRS ? [newRS, ...old] : old;
  const sum = (field: string) => all.reduce((n, rs) => n + Number(record(rs.status)[field] ?? 0), 0);
  const available = sum('availableReplicas');
  const total = sum('replicas');
  const updated = newRS ? Number(record(newRS.status).replicas ?? 0) : 0;
  const now = ctx.scheduler.nowIso();
  const previous = array(record(d.status).conditions);
  const condition = (type: string, status: string, reason: string, message: string): Json => {
    const before = previous.find((c) => c.type === type);
    const same = before?.status === status;
    return { type, status, lastUpdateTime: before?.reason === reason && same ? before.lastUpdateTime : now, lastTransitionTime: same ? before.lastTransitionTime : now, reason, message };
  };
  const maxUnavailable = unavailableOf(d);
  const complete = newRS !== undefined && updated === replicas && total === replicas && available >= replicas && Number(record(newRS.status).availableReplicas ?? 0) >= replicas;
  const status: Json = {
    observedGeneration: d.metadata.generation ?? 1,
    replicas: total,
    updatedReplicas: updated,
    readyReplicas: sum('readyReplicas'),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, replicas - available),
    conditions: [
      available >= replicas - maxUnavailable
        ? condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
        : condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
      complete
        ? condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${newRS!.metadata.name}" has successfully progressed.`)
        : condition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${newRS?.metadata.name ?? d.metadata.name}" is progressing.`),
    ],
  };
  const before = record(d.status);
  if (['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas'].every((k) => before[k] === status[k])
    && JSON.stringify(array(before.conditions).map((c) => [c.type, c.status, c.reason])) === JSON.stringify(array(status.conditions).map((c) => [c.type, c.status, c.reason]))) return;
  await ctx.client.update(deploymentsRef, d.metadata.namespace, { ...d, status }, { subresource: 'status' });
}

function specReplicas(rs: KubeObject): number {
  return Number(record(rs.spec).replicas ?? 0);
}

function availableOf(rs: KubeObject): number {
  return Number(record(rs.status).availableReplicas ?? 0);
}

function revisionOf(rs: KubeObject): number {
  return Number(rs.metadata.annotations?.[revisionAnnotation] ?? 0);
}

function nextRevision(sets: KubeObject[]): number {
  return sets.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0) + 1;
}

/** The new ReplicaSet starts at full size with no old pods (or Recreate), else at what the surge allows. */
function initialReplicas(d: KubeObject, replicas: number, existing: KubeObject[]): number {
  const live = existing.reduce((n, rs) => n + specReplicas(rs), 0);
  if (live === 0) return replicas;
  if (record(record(d.spec).strategy).type === 'Recreate') return 0;
  return Math.max(0, Math.min(replicas, replicas + surgeOf(d) - live));
}

/** An int-or-percent against `replicas`, rounded up or down. */
function intOrPercent(value: unknown, replicas: number, roundUp: boolean, fallback: string): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const match = /^(\d+)%$/.exec(String(v));
  if (!match) return Number(v) || 0;
  const exact = (Number(match[1]) * replicas) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

function rollingParams(d: KubeObject): { surge: number; unavailable: number } {
  const spec = record(d.spec);
  const rolling = record(record(spec.strategy).rollingUpdate);
  const replicas = Number(spec.replicas ?? 1);
  const surge = intOrPercent(rolling.maxSurge, replicas, true, '25%');
  let unavailable = intOrPercent(rolling.maxUnavailable, replicas, false, '25%');
  // Both zero would never make progress; Kubernetes then allows one unavailable.
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable: Math.min(unavailable, replicas) };
}

function surgeOf(d: KubeObject): number {
  return record(record(d.spec).strategy).type === 'Recreate' ? 0 : rollingParams(d).surge;
}

function unavailableOf(d: KubeObject): number {
  return record(record(d.spec).strategy).type === 'Recreate' ? Number(record(d.spec).replicas ?? 1) : rollingParams(d).unavailable;
}

/** A short, stable hash of a pod template, spelled with the characters Kubernetes uses for it. */
export function templateHash(template: unknown): string {
  const text = canonicalJson(template);
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  h >>>= 0;
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  do {
    out += alphabet[h % alphabet.length];
    h = Math.floor(h / alphabet.length);
  } while (h > 0);
  return out;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
