/**
 * The Job controller of a simulated cluster: runs a Job's pods until `completions` of them have
 * succeeded, at most `parallelism` at a time (NonIndexed), or one success for each completion
 * index 0..completions-1 (Indexed, each pod carrying its index). It fails the Job when more pods
 * failed than `backoffLimit` allows (BackoffLimitExceeded) or when it ran longer than
 * `activeDeadlineSeconds` (DeadlineExceeded), deleting the pods still active; it removes active
 * pods while `suspend` is true; and it deletes a finished Job `ttlSecondsAfterFinished` after it
 * finished, on the cluster's clock.
 *
 * Conditions follow Kubernetes 1.32: SuccessCriteriaMet then Complete, FailureTarget then Failed,
 * Suspended. Counts are read from the pods that exist, and never go down: a finished pod deleted
 * by hand is not run again. Pod failure policies, success policies, backoff delays between
 * retries and per-index backoff limits are not modelled.
 */
import type { ObjectClient } from '../../client/index.ts';
import { newControllerBuilder, type EventRecorder, type ReconcileRequest, type ReconcileResult, type Scheduler } from '../../controller/index.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { jsonEqual } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import type { SimController } from '../context.ts';
import { array, isControlledBy, isPodReady, isPodTerminating, podFromTemplate, podPhase, record, type Json } from '../pods.ts';
import { jobsRef, podsRef } from '../resources.ts';

export const jobNameLabel = 'batch.kubernetes.io/job-name';
export const legacyJobNameLabel = 'job-name';
export const controllerUidLabel = 'batch.kubernetes.io/controller-uid';
export const legacyControllerUidLabel = 'controller-uid';
/** Annotation (and label) carrying an Indexed Job pod's completion index. */
export const jobCompletionIndexAnnotation = 'batch.kubernetes.io/job-completion-index';

/** The Job controller, for a simulated cluster's manager. */
export const jobController: SimController = (ctx) => {
  const reconciler = new JobReconciler(ctx.client, ctx.scheduler, ctx.recorder('job-controller'));
  return newControllerBuilder({ name: 'job', client: ctx.client, informers: ctx.informers, scheduler: ctx.scheduler, metrics: ctx.metrics, log: ctx.log })
    .for(jobsRef)
    .owns(podsRef)
    .complete(reconciler);
};

type Condition = Json & { type: string; status: string };

/** Converges one Job's pods and status; level-based and idempotent. */
export class JobReconciler {
  readonly #client: ObjectClient;
  readonly #scheduler: Scheduler;
  readonly #recorder: EventRecorder;

  constructor(client: ObjectClient, scheduler: Scheduler, recorder: EventRecorder) {
    this.#client = client;
    this.#scheduler = scheduler;
    this.#recorder = recorder;
  }

  async reconcile(request: ReconcileRequest): Promise<ReconcileResult | void> {
    let job: KubeObject;
    try {
      job = await this.#client.get(jobsRef, request.namespace, request.name);
    } catch (err) {
      if (isStatus(err, 'NotFound')) return;
      throw err;
    }
    if (job.metadata.deletionTimestamp) return;
    const status = record(job.status);
    const conditions = array(status.conditions) as Condition[];
    if (isFinished(conditions)) return this.#expire(job, conditions);

    const spec = record(job.spec);
    const now = this.#scheduler.now();
    const nowIso = this.#scheduler.nowIso();
    const indexed = spec.completionMode === 'Indexed';
    const completions = spec.completions === undefined || spec.completions === null ? undefined : Number(spec.completions);
    const parallelism = Number(spec.parallelism ?? 1);
    const backoffLimit = Number(spec.backoffLimit ?? 6);
    const suspended = spec.suspend === true;

    const listed = await this.#client.list(podsRef, request.namespace, { labelSelector: `${controllerUidLabel}=${job.metadata.uid}` });
    const pods = listed.items.filter((pod) => isControlledBy(pod, job));
    const active = pods.filter((p) => !isFinishedPod(p) && !isPodTerminating(p));
    const succeededPods = pods.filter((p) => podPhase(p) === 'Succeeded');
    const failedPods = pods.filter((p) => podPhase(p) === 'Failed');
    const completedIndexes = indexed ? indexesOf(succeededPods, completions ?? 0) : new Set<number>();
    const succeeded = Math.max(Number(status.succeeded ?? 0), indexed ? completedIndexes.size : succeededPods.length);
    const failed = Math.max(Number(status.failed ?? 0), failedPods.length);

    const next: Json = { ...status };
    let nextConditions = conditions;
    const setCondition = (type: string, reason: string, message: string, value = 'True'): void => {
      nextConditions = withCondition(nextConditions, { type, status: value, reason, message, lastProbeTime: nowIso, lastTransitionTime: nowIso });
    };
    let requeueAfter: number | undefined;
    let remaining = active;

    const failure = conditionOf(conditions, 'FailureTarget');
    const success = conditionOf(conditions, 'SuccessCriteriaMet');
    if (failure) {
      remaining = await this.#deleteAll(job, active);
      if (remaining.length === 0 && !pods.some(isPodTerminating)) {
        setCondition('Failed', String(failure.reason), String(failure.message));
        void this.#recorder.warning(job, String(failure.reason), String(failure.message));
      }
    } else if (success) {
      remaining = await this.#deleteAll(job, active);
      if (remaining.length === 0) {
        setCondition('Complete', String(success.reason), String(success.message));
        next.completionTime = nowIso;
        void this.#recorder.normal(job, 'Completed', 'Job completed');
      }
    } else if (failed > backoffLimit) {
      setCondition('FailureTarget', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      remaining = await this.#deleteAll(job, active);
      if (remaining.length === 0) {
        setCondition('Failed', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
        void this.#recorder.warning(job, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      }
    } else if (completions !== undefined && succeeded >= completions) {
      setCondition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods');
      remaining = await this.#deleteAll(job, active);
      if (remaining.length === 0) {
        setCondition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods');
        next.completionTime = nowIso;
        void this.#recorder.normal(job, 'Completed', 'Job completed');
      }
    } else if (completions === undefined && succeeded > 0 && active.length === 0) {
      // A work queue Job (no completions) is done once one pod succeeded and none is left running.
      setCondition('SuccessCriteriaMet', 'CompletionsReached', 'Reached expected number of succeeded pods');
      setCondition('Complete', 'CompletionsReached', 'Reached expected number of succeeded pods');
      next.completionTime = nowIso;
      void this.#recorder.normal(job, 'Completed', 'Job completed');
    } else if (suspended) {
      remaining = await this.#deleteAll(job, active);
      if (conditionOf(conditions, 'Suspended')?.status !== 'True') {
        setCondition('Suspended', 'JobSuspended', 'Job suspended');
        void this.#recorder.normal(job, 'Suspended', 'Job suspended');
      }
    } else {
      if (conditionOf(conditions, 'Suspended')?.status === 'True') {
        setCondition('Suspended', 'JobResumed', 'Job resumed', 'False');
        void this.#recorder.normal(job, 'Resumed', 'Job resumed');
        // The deadline counts from the resume, as in Kubernetes.
        next.startTime = nowIso;
      }
      next.startTime ??= nowIso;
      const deadline = spec.activeDeadlineSeconds === undefined ? undefined : Date.parse(String(next.startTime)) + Number(spec.activeDeadlineSeconds) * 1000;
      if (deadline !== undefined && now >= deadline) {
        setCondition('FailureTarget', 'DeadlineExceeded', 'Job was active longer than specified deadline');
        remaining = await this.#deleteAll(job, active);
        if (remaining.length === 0) {
          setCondition('Failed', 'DeadlineExceeded', 'Job was active longer than specified deadline');
          void this.#recorder.warning(job, 'DeadlineExceeded', 'Job was active longer than specified deadline');
        }
      } else {
        if (deadline !== undefined) requeueAfter = deadline - now;
        remaining = indexed
          ? await this.#manageIndexed(job, active, completedIndexes, completions ?? 0, parallelism)
          : await this.#manageNonIndexed(job, active, succeeded, completions, parallelism);
      }
    }

    next.active = remaining.length;
    next.ready = remaining.filter(isPodReady).length;
    next.succeeded = succeeded;
    next.failed = failed;
    if (indexed) {
      const text = formatIndexes(completedIndexes);
      if (text) next.completedIndexes = text;
      else delete next.completedIndexes;
    }
    next.terminating = pods.filter(isPodTerminating).length;
    if (nextConditions.length > 0) next.conditions = nextConditions;
    if (!jsonEqual(next, status)) {
      try {
        job = await this.#client.update(jobsRef, request.namespace, { ...job, status: next }, { subresource: 'status' });
      } catch (err) {
        if (isStatus(err, 'Conflict') || isStatus(err, 'NotFound')) return { requeue: true };
        throw err;
      }
    }
    if (isFinished(nextConditions)) return this.#expire(job, nextConditions);
    // Pods being removed for a finished Job: look again so the final condition follows.
    if (conditionOf(nextConditions, 'FailureTarget') || conditionOf(nextConditions, 'SuccessCriteriaMet')) return { requeueAfter: 1000 };
    if (requeueAfter !== undefined) return { requeueAfter };
  }

  async #manageNonIndexed(job: KubeObject, active: KubeObject[], succeeded: number, completions: number | undefined, parallelism: number): Promise<KubeObject[]> {
    const want = completions === undefined ? (succeeded > 0 ? 0 : parallelism) : Math.min(parallelism, completions - succeeded);
    if (active.length > want) {
      // Delete the least advanced first: not ready, then the newest.
      const ordered = [...active].sort((a, b) => Number(isPodReady(a)) - Number(isPodReady(b)) || String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
      const extra = ordered.slice(0, active.length - want);
      await this.#deleteAll(job, extra);
      return ordered.slice(active.length - want);
    }
    const created: KubeObject[] = [];
    for (let i = active.length; i < want; i++) created.push(await this.#createPod(job));
    return [...active, ...created];
  }

  async #manageIndexed(job: KubeObject, active: KubeObject[], completed: Set<number>, completions: number, parallelism: number): Promise<KubeObject[]> {
    const keep: KubeObject[] = [];
    const extra: KubeObject[] = [];
    const running = new Set<number>();
    for (const pod of active) {
      const index = indexOf(pod);
      // Pods for completed indexes, duplicates and out-of-range indexes go.
      if (index === undefined || index >= completions || completed.has(index) || running.has(index)) extra.push(pod);
      else {
        running.add(index);
        keep.push(pod);
      }
    }
    await this.#deleteAll(job, extra);
    for (let index = 0; index < completions && keep.length < parallelism; index++) {
      if (completed.has(index) || running.has(index)) continue;
      keep.push(await this.#createPod(job, index));
      running.add(index);
    }
    return keep;
  }

  async #createPod(job: KubeObject, index?: number): Promise<KubeObject> {
    const name = job.metadata.name!;
    const uid = job.metadata.uid!;
    const labels: Record<string, string> = {
      [jobNameLabel]: name, [legacyJobNameLabel]: name, [controllerUidLabel]: uid, [legacyControllerUidLabel]: uid,
    };
    let spec: Json = {};
    if (index !== undefined) {
      labels[jobCompletionIndexAnnotation] = String(index);
      const template = record(record(job.spec).template);
      const containers = array(record(template.spec).containers).map((c) => ({
        ...c, env: [...array(c.env).filter((e) => e.name !== 'JOB_COMPLETION_INDEX'), { name: 'JOB_COMPLETION_INDEX', value: String(index) }],
      }));
      spec = { containers, hostname: `${name}-${index}` };
    }
    const pod = podFromTemplate(job, { generateName: index === undefined ? `${name}-` : `${name}-${index}-`, labels, spec });
    if (index !== undefined) pod.metadata.annotations = { ...pod.metadata.annotations, [jobCompletionIndexAnnotation]: String(index) };
    try {
      const created = await this.#client.create(podsRef, job.metadata.namespace, pod);
      void this.#recorder.normal(job, 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
      return created;
    } catch (err) {
      void this.#recorder.warning(job, 'FailedCreate', `Error creating: ${messageOf(err)}`);
      throw err;
    }
  }

  /** Deletes `pods`; returns those still there (none, unless a delete failed for a reason worth retrying). */
  async #deleteAll(job: KubeObject, pods: KubeObject[]): Promise<KubeObject[]> {
    for (const pod of pods) {
      try {
        await this.#client.delete(podsRef, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
        void this.#recorder.normal(job, 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
      } catch (err) {
        if (isStatus(err, 'NotFound') || isStatus(err, 'Conflict')) continue;
        throw err;
      }
    }
    return [];
  }

  /** A finished Job: delete it once its TTL after finishing has passed, or say when to look again. */
  async #expire(job: KubeObject, conditions: Condition[]): Promise<ReconcileResult | void> {
    const ttl = record(job.spec).ttlSecondsAfterFinished;
    if (typeof ttl !== 'number') return;
    const finished = conditions.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    const at = Date.parse(String(record(job.status).completionTime ?? finished?.lastTransitionTime ?? ''));
    if (!Number.isFinite(at)) return;
    const left = at + ttl * 1000 - this.#scheduler.now();
    if (left > 0) return { requeueAfter: left };
    try {
      await this.#client.delete(jobsRef, job.metadata.namespace, job.metadata.name!, { propagationPolicy: 'Foreground', preconditions: { uid: job.metadata.uid } });
    } catch (err) {
      if (isStatus(err, 'NotFound') || isStatus(err, 'Conflict')) return;
      throw err;
    }
  }
}

function isFinished(conditions: Condition[]): boolean {
  return conditions.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

function isFinishedPod(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase === 'Succeeded' || phase === 'Failed';
}

function conditionOf(conditions: Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type && c.status === 'True') ?? (type === 'Suspended' ? conditions.find((c) => c.type === type) : undefined);
}

/** The conditions with `condition` set: replaced when its type is there (keeping the transition time if the status is unchanged), else appended. */
function withCondition(conditions: Condition[], condition: Condition): Condition[] {
  const existing = conditions.find((c) => c.type === condition.type);
  if (!existing) return [...conditions, condition];
  const merged = existing.status === condition.status ? { ...condition, lastTransitionTime: existing.lastTransitionTime } : condition;
  return conditions.map((c) => (c === existing ? merged : c));
}

function indexOf(pod: KubeObject): number | undefined {
  const text = pod.metadata.annotations?.[jobCompletionIndexAnnotation] ?? pod.metadata.labels?.[jobCompletionIndexAnnotation];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

function indexesOf(pods: KubeObject[], completions: number): Set<number> {
  const out = new Set<number>();
  for (const pod of pods) {
    const index = indexOf(pod);
    if (index !== undefined && index < completions) out.add(index);
  }
  return out;
}

/** Indexes as Kubernetes writes `completedIndexes`: sorted, runs collapsed (`0-2,4`). */
export function formatIndexes(indexes: Set<number>): string {
  const sorted = [...indexes].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const first = sorted[i]!;
    while (i + 1 < sorted.length && sorted[i + 1] === sorted[i]! + 1) i++;
    parts.push(first === sorted[i] ? String(first) : `${first}-${sorted[i]}`);
  }
  return parts.join(',');
}

function isStatus(err: unknown, reason: StatusError['reason']): boolean {
  return err instanceof StatusError && err.reason === reason;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
