/**
 * The StatefulSet controller of a simulated cluster: keeps `spec.replicas` pods named
 * `<name>-<ordinal>`, each with a stable hostname under the set's service, created and removed in
 * ordinal order (OrderedReady) or all at once (Parallel), and rolled to a new template from the
 * highest ordinal down, one pod at a time, honouring `partition` (RollingUpdate), or only when a
 * pod is deleted by hand (OnDelete). Status counts replicas, ready, available, current and updated
 * pods and the current and update revisions.
 *
 * Revisions are `<name>-<hash of the pod template>`; no ControllerRevision objects are kept. A pod
 * below the partition that has to be recreated gets the current revision's template when the
 * controller has seen it (on the set or on a surviving pod of that revision), else the update
 * revision's. volumeClaimTemplates are ignored: the simulator has no volumes.
 */
import type { ObjectClient } from '../../client/index.ts';
import { newControllerBuilder, type EventRecorder, type ReconcileRequest, type ReconcileResult, type Scheduler } from '../../controller/index.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { cloneJson, jsonEqual } from '../../machinery/object.ts';
import { labelSelectorFromObject } from '../../machinery/selectors.ts';
import { StatusError } from '../../machinery/status-error.ts';
import type { SimController } from '../context.ts';
import { isControlledBy, isPodAvailable, isPodReady, isPodTerminating, podFromTemplate, podPhase, record, type Json } from '../pods.ts';
import { podsRef, statefulSetsRef } from '../resources.ts';
import { templateHash } from './template-hash.ts';

/** The label naming a StatefulSet pod's own name (for per-pod Services). */
export const statefulSetPodNameLabel = 'statefulset.kubernetes.io/pod-name';
/** The label carrying a StatefulSet pod's ordinal. */
export const podIndexLabel = 'apps.kubernetes.io/pod-index';
/** The label naming the revision of the template a pod was made from. */
export const controllerRevisionHashLabel = 'controller-revision-hash';

/** The revision name of a StatefulSet's current template: `<name>-<hash>`. */
export function statefulSetRevision(set: KubeObject): string {
  return `${set.metadata.name}-${templateHash(record(set.spec).template)}`;
}

/** The StatefulSet controller, for a simulated cluster's manager. */
export const statefulSetController: SimController = (ctx) => {
  const reconciler = new StatefulSetReconciler(ctx.client, ctx.scheduler, ctx.recorder('statefulset-controller'));
  return newControllerBuilder({ name: 'statefulset', client: ctx.client, informers: ctx.informers, scheduler: ctx.scheduler, metrics: ctx.metrics, log: ctx.log })
    .for(statefulSetsRef)
    .owns(podsRef)
    .complete(reconciler);
};

interface Slot {
  ordinal: number;
  pod: KubeObject | undefined;
}

/** Converges one StatefulSet's pods and status; level-based and idempotent. */
export class StatefulSetReconciler {
  readonly #client: ObjectClient;
  readonly #scheduler: Scheduler;
  readonly #recorder: EventRecorder;
  /** Templates seen per set uid and revision, so pods below a partition can be remade as they were. */
  readonly #templates = new Map<string, Map<string, Json>>();

  constructor(client: ObjectClient, scheduler: Scheduler, recorder: EventRecorder) {
    this.#client = client;
    this.#scheduler = scheduler;
    this.#recorder = recorder;
  }

  async reconcile(request: ReconcileRequest): Promise<ReconcileResult | void> {
    const { namespace, name } = request;
    let set: KubeObject;
    try {
      set = await this.#client.get(statefulSetsRef, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (set.metadata.deletionTimestamp) return;
    const spec = record(set.spec);
    const status = record(set.status);
    const replicas = Number(spec.replicas ?? 1);
    const start = Number(record(spec.ordinals).start ?? 0);
    const parallel = spec.podManagementPolicy === 'Parallel';
    const strategy = record(spec.updateStrategy);
    const rolling = (strategy.type ?? 'RollingUpdate') === 'RollingUpdate';
    const partition = rolling ? Number(record(strategy.rollingUpdate).partition ?? 0) : 0;
    const minReadySeconds = Number(spec.minReadySeconds ?? 0);

    const updateRevision = statefulSetRevision(set);
    const currentRevision = typeof status.currentRevision === 'string' && status.currentRevision ? status.currentRevision : updateRevision;
    this.#remember(set, updateRevision, record(spec.template));

    const selector = labelSelectorFromObject(spec.selector);
    const listed = await this.#client.list(podsRef, namespace);
    const pods = listed.items.filter((pod) => isControlledBy(pod, set) && selector.matches(pod.metadata.labels));
    for (const pod of pods) {
      const revision = pod.metadata.labels?.[controllerRevisionHashLabel];
      if (revision && revision === currentRevision && !this.#templateOf(set, revision)) this.#remember(set, revision, templateFromPod(pod));
    }

    const slots: Slot[] = [];
    for (let i = 0; i < replicas; i++) slots.push({ ordinal: start + i, pod: undefined });
    const condemned: KubeObject[] = [];
    for (const pod of pods) {
      const ordinal = ordinalOf(set, pod);
      const slot = ordinal === undefined ? undefined : slots[ordinal - start];
      if (slot && !slot.pod) slot.pod = pod;
      else condemned.push(pod);
    }
    condemned.sort((a, b) => (ordinalOf(set, b) ?? -1) - (ordinalOf(set, a) ?? -1));

    const result = await this.#converge(set, slots, condemned, { parallel, rolling, partition, start, currentRevision, updateRevision });

    // Status reflects the pods as they were read, plus what this pass did to them.
    const seen = [...slots.map((s) => s.pod), ...condemned].filter((p): p is KubeObject => p !== undefined);
    const now = this.#scheduler.now();
    const next: Json = {
      ...status,
      observedGeneration: set.metadata.generation,
      replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0,
      currentRevision, updateRevision,
    };
    let waitForAvailable = false;
    for (const pod of seen) {
      next.replicas = Number(next.replicas) + 1;
      if (podPhase(pod) === 'Running' && isPodReady(pod)) {
        next.readyReplicas = Number(next.readyReplicas) + 1;
        if (isPodAvailable(pod, minReadySeconds, now)) next.availableReplicas = Number(next.availableReplicas) + 1;
        else waitForAvailable = true;
      }
      if (isPodTerminating(pod)) continue;
      const revision = pod.metadata.labels?.[controllerRevisionHashLabel];
      if (revision === currentRevision) next.currentReplicas = Number(next.currentReplicas) + 1;
      if (revision === updateRevision) next.updatedReplicas = Number(next.updatedReplicas) + 1;
    }
    if (rolling && next.updatedReplicas === next.replicas && next.readyReplicas === next.replicas && next.replicas === replicas) {
      next.currentRevision = updateRevision;
      next.currentReplicas = next.updatedReplicas;
    }
    if (!jsonEqual(next, status)) {
      try {
        await this.#client.update(statefulSetsRef, namespace, { ...set, status: next }, { subresource: 'status' });
      } catch (err) {
        if (isConflict(err) || isNotFound(err)) return { requeue: true };
        throw err;
      }
    }
    if (result) return result;
    if (waitForAvailable && minReadySeconds > 0) return { requeueAfter: minReadySeconds * 1000 };
  }

  /** One pass of creating, deleting and updating pods; stops early where ordering says to wait. */
  async #converge(set: KubeObject, slots: Slot[], condemned: KubeObject[], o: {
    parallel: boolean; rolling: boolean; partition: number; start: number; currentRevision: string; updateRevision: string;
  }): Promise<ReconcileResult | void> {
    // Failed pods are deleted first; the next pass recreates them.
    for (const slot of slots) {
      const pod = slot.pod;
      if (pod && !isPodTerminating(pod) && (podPhase(pod) === 'Failed' || podPhase(pod) === 'Succeeded')) {
        void this.#recorder.warning(set, 'RecreatingFailedPod', `StatefulSet ${set.metadata.namespace}/${set.metadata.name} is recreating failed Pod ${pod.metadata.name}`);
        await this.#deletePod(set, pod);
        slot.pod = { ...pod, metadata: { ...pod.metadata, deletionTimestamp: this.#scheduler.nowIso() } };
        if (!o.parallel) return;
      }
    }

    for (const slot of slots) {
      const pod = slot.pod;
      if (!pod) {
        const created = await this.#createPod(set, slot.ordinal, o);
        if (!created) return { requeue: true };
        slot.pod = created;
        if (!o.parallel) return;
        continue;
      }
      if (!o.parallel && (isPodTerminating(pod) || !isRunningAndReady(pod))) return;
    }

    // Scale down: highest ordinal first; OrderedReady removes one at a time, only when every
    // remaining pod is running and ready.
    if (condemned.length > 0) {
      if (!o.parallel) {
        if (slots.some((s) => !s.pod || isPodTerminating(s.pod) || !isRunningAndReady(s.pod))) return;
        if (condemned.some(isPodTerminating)) return;
        await this.#deletePod(set, condemned[0]!);
        condemned[0] = markTerminating(condemned[0]!, this.#scheduler.nowIso());
        return;
      }
      for (let i = 0; i < condemned.length; i++) {
        if (isPodTerminating(condemned[i]!)) continue;
        await this.#deletePod(set, condemned[i]!);
        condemned[i] = markTerminating(condemned[i]!, this.#scheduler.nowIso());
      }
    }

    if (!o.rolling) return;
    // Rolling update: from the highest ordinal down to the partition, replace one pod at a time,
    // each only once everything above it is running and ready.
    for (let i = slots.length - 1; i >= 0; i--) {
      const slot = slots[i]!;
      if (slot.ordinal - o.start < o.partition) break;
      const pod = slot.pod;
      if (!pod || isPodTerminating(pod)) return;
      if (pod.metadata.labels?.[controllerRevisionHashLabel] !== o.updateRevision) {
        await this.#deletePod(set, pod);
        slot.pod = markTerminating(pod, this.#scheduler.nowIso());
        return;
      }
      if (!isRunningAndReady(pod)) return;
    }
  }

  async #createPod(set: KubeObject, ordinal: number, o: { rolling: boolean; partition: number; start: number; currentRevision: string; updateRevision: string }): Promise<KubeObject | undefined> {
    const setName = set.metadata.name!;
    const podName = `${setName}-${ordinal}`;
    // Below the partition a recreated pod keeps the current revision, as Kubernetes does.
    let revision = o.updateRevision;
    let template = record(record(set.spec).template);
    if (o.rolling && ordinal - o.start < o.partition && o.currentRevision !== o.updateRevision) {
      const current = this.#templateOf(set, o.currentRevision);
      if (current) {
        revision = o.currentRevision;
        template = current;
      }
    }
    const serviceName = record(set.spec).serviceName;
    const pod = podFromTemplate({ ...set, spec: { ...record(set.spec), template } }, {
      name: podName,
      labels: { [statefulSetPodNameLabel]: podName, [podIndexLabel]: String(ordinal), [controllerRevisionHashLabel]: revision },
      spec: { hostname: podName, ...(typeof serviceName === 'string' && serviceName ? { subdomain: serviceName } : {}) },
    });
    try {
      const created = await this.#client.create(podsRef, set.metadata.namespace, pod);
      void this.#recorder.normal(set, 'SuccessfulCreate', `create Pod ${podName} in StatefulSet ${setName} successful`);
      return created;
    } catch (err) {
      if (err instanceof StatusError && err.reason === 'AlreadyExists') return undefined;
      void this.#recorder.warning(set, 'FailedCreate', `create Pod ${podName} in StatefulSet ${setName} failed error: ${messageOf(err)}`);
      throw err;
    }
  }

  async #deletePod(set: KubeObject, pod: KubeObject): Promise<void> {
    const setName = set.metadata.name!;
    try {
      await this.#client.delete(podsRef, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
      void this.#recorder.normal(set, 'SuccessfulDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${setName} successful`);
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return;
      void this.#recorder.warning(set, 'FailedDelete', `delete Pod ${pod.metadata.name} in StatefulSet ${setName} failed error: ${messageOf(err)}`);
      throw err;
    }
  }

  #remember(set: KubeObject, revision: string, template: Json): void {
    const uid = set.metadata.uid!;
    let byRevision = this.#templates.get(uid);
    if (!byRevision) {
      // Sets deleted long ago fall out first; a live set is remembered again on its next pass.
      if (this.#templates.size >= 1000) this.#templates.delete(this.#templates.keys().next().value!);
      this.#templates.set(uid, (byRevision = new Map()));
    }
    if (!byRevision.has(revision)) byRevision.set(revision, cloneJson(template));
    // Keep only a handful of revisions a set: the current one and a few before it.
    while (byRevision.size > 10) byRevision.delete(byRevision.keys().next().value!);
  }

  #templateOf(set: KubeObject, revision: string): Json | undefined {
    return this.#templates.get(set.metadata.uid!)?.get(revision);
  }
}

/** The ordinal in a pod's name when it belongs to `set` (`web-3` of `web`), else undefined. */
export function ordinalOf(set: KubeObject, pod: KubeObject): number | undefined {
  const prefix = `${set.metadata.name}-`;
  const name = pod.metadata.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

function isRunningAndReady(pod: KubeObject): boolean {
  return podPhase(pod) === 'Running' && isPodReady(pod);
}

function markTerminating(pod: KubeObject, now: string): KubeObject {
  return { ...pod, metadata: { ...pod.metadata, deletionTimestamp: now } };
}

/** A pod template rebuilt from a pod made from it: its labels and annotations, and its spec less what the set added. */
function templateFromPod(pod: KubeObject): Json {
  const labels = { ...pod.metadata.labels };
  for (const key of [statefulSetPodNameLabel, podIndexLabel, controllerRevisionHashLabel]) delete labels[key];
  const spec = cloneJson(record(pod.spec));
  for (const key of ['hostname', 'subdomain', 'nodeName']) delete spec[key];
  return {
    metadata: { labels, ...(pod.metadata.annotations ? { annotations: { ...pod.metadata.annotations } } : {}) },
    spec,
  };
}

function isNotFound(err: unknown): boolean {
  return err instanceof StatusError && err.reason === 'NotFound';
}

function isConflict(err: unknown): boolean {
  return err instanceof StatusError && err.reason === 'Conflict';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
