/**
 * The DaemonSet controller of a simulated cluster: keeps one pod of each DaemonSet on every node
 * it should run on (the template's nodeSelector and required node affinity match the node, and
 * the pod tolerates the node's NoSchedule and NoExecute taints), removes pods from nodes they no
 * longer belong on, replaces failed pods, and rolls a new template out node by node with at most
 * `maxUnavailable` (default 1) nodes without an available pod.
 *
 * Each pod is pinned to its node the way Kubernetes does it: a required node affinity term with
 * `matchFields metadata.name In [node]`, left to the scheduler to bind, and it gets the
 * tolerations Kubernetes adds to every daemon pod. Pods are labelled with
 * `controller-revision-hash`, a hash of the template (no ControllerRevisions are kept).
 * `maxSurge` is not modelled: old pods are removed before their replacement is made.
 */
import type { ObjectClient } from '../../client/index.ts';
import { newControllerBuilder, type BuiltController, type EventRecorder, type ReconcileRequest, type ReconcileResult, type Scheduler } from '../../controller/index.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { jsonEqual } from '../../machinery/object.ts';
import { labelSelectorFromObject } from '../../machinery/selectors.ts';
import { StatusError } from '../../machinery/status-error.ts';
import type { SimController } from '../context.ts';
import { array, isControlledBy, isPodAvailable, isPodReady, isPodTerminating, podFromTemplate, podPhase, record, tolerates, type Json } from '../pods.ts';
import { daemonSetsRef, nodesRef, podsRef } from '../resources.ts';
import { controllerRevisionHashLabel } from './statefulset.ts';
import { templateHash } from './template-hash.ts';

/** The DaemonSet controller, for a simulated cluster's manager. Any node change looks at every DaemonSet. */
export const daemonSetController: SimController = (ctx) => {
  const reconciler = new DaemonSetReconciler(ctx.client, ctx.scheduler, ctx.recorder('daemonset-controller'));
  let built: BuiltController | undefined = undefined;
  built = newControllerBuilder({ name: 'daemonset', client: ctx.client, informers: ctx.informers, scheduler: ctx.scheduler, metrics: ctx.metrics, log: ctx.log })
    .for(daemonSetsRef)
    .owns(podsRef)
    .watches(nodesRef, () => (built?.informers[0]?.list() ?? []).map((ds) => ({ namespace: ds.metadata.namespace, name: ds.metadata.name! })))
    .complete(reconciler);
  return built;
};

/** The tolerations Kubernetes gives every daemon pod, so node conditions never keep or drive it off. */
export const daemonPodTolerations: readonly Json[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];
const networkUnavailableToleration: Json = { key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' };

/** Whether a DaemonSet's pod belongs on a node: should it be placed there, and may one already there stay. */
export interface NodePlacement {
  shouldRun: boolean;
  shouldContinueRunning: boolean;
}

/** Converges one DaemonSet's pods and status; level-based and idempotent. */
export class DaemonSetReconciler {
  readonly #client: ObjectClient;
  readonly #scheduler: Scheduler;
  readonly #recorder: EventRecorder;

  constructor(client: ObjectClient, scheduler: Scheduler, recorder: EventRecorder) {
    this.#client = client;
    this.#scheduler = scheduler;
    this.#recorder = recorder;
  }

  async reconcile(request: ReconcileRequest): Promise<ReconcileResult | void> {
    let ds: KubeObject;
    try {
      ds = await this.#client.get(daemonSetsRef, request.namespace, request.name);
    } catch (err) {
      if (isStatus(err, 'NotFound')) return;
      throw err;
    }
    if (ds.metadata.deletionTimestamp) return;
    const spec = record(ds.spec);
    const minReadySeconds = Number(spec.minReadySeconds ?? 0);
    const hash = templateHash(spec.template);
    const template = daemonPodTemplate(ds);
    const selector = labelSelectorFromObject(spec.selector);
    const [nodes, listed] = await Promise.all([this.#client.list(nodesRef, undefined), this.#client.list(podsRef, request.namespace)]);
    const pods = listed.items.filter((pod) => isControlledBy(pod, ds) && selector.matches(pod.metadata.labels));
    const byNode = new Map<string, KubeObject[]>();
    for (const pod of pods) {
      const node = targetNodeOf(pod);
      if (!node) continue;
      byNode.set(node, [...(byNode.get(node) ?? []), pod]);
    }
    const now = this.#scheduler.now();
    const available = (pod: KubeObject) => podPhase(pod) === 'Running' && isPodAvailable(pod, minReadySeconds, now);

    const toCreate: string[] = [];
    const toDelete: KubeObject[] = [];
    const counts = { desired: 0, current: 0, misscheduled: 0, ready: 0, available: 0, updated: 0 };
    // Nodes that should run a pod, with the one pod kept there (if any), for the rolling update.
    const kept: Array<{ node: string; pod: KubeObject | undefined }> = [];
    let waitForAvailable = false;
    for (const node of nodes.items) {
      const nodeName = node.metadata.name!;
      const placement = nodePlacement(template, node);
      const here = byNode.get(nodeName) ?? [];
      byNode.delete(nodeName);
      const live = here.filter((p) => !isPodTerminating(p));
      if (placement.shouldRun) {
        counts.desired++;
        const running: KubeObject[] = [];
        for (const pod of live) {
          if (podPhase(pod) === 'Failed') {
            void this.#recorder.warning(ds, 'FailedDaemonPod', `Found failed daemon pod ${pod.metadata.namespace}/${pod.metadata.name} on node ${nodeName}, will try to kill it`);
            toDelete.push(pod);
          } else running.push(pod);
        }
        if (running.length === 0) {
          toCreate.push(nodeName);
          kept.push({ node: nodeName, pod: undefined });
        } else {
          // Keep the oldest; any others are duplicates.
          running.sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
          toDelete.push(...running.slice(1));
          kept.push({ node: nodeName, pod: running[0] });
        }
        if (here.length > 0) counts.current++;
        const pod = running[0];
        if (pod) {
          if (isPodReady(pod)) counts.ready++;
          if (available(pod)) counts.available++;
          else if (isPodReady(pod) && minReadySeconds > 0) waitForAvailable = true;
          if (pod.metadata.labels?.[controllerRevisionHashLabel] === hash) counts.updated++;
        }
      } else {
        if (here.length > 0) counts.misscheduled++;
        if (!placement.shouldContinueRunning) toDelete.push(...live);
      }
    }
    // Pods aimed at nodes that no longer exist.
    for (const stray of byNode.values()) toDelete.push(...stray.filter((p) => !isPodTerminating(p)));

    for (const nodeName of toCreate) await this.#createPod(ds, template, hash, nodeName);
    for (const pod of toDelete) await this.#deletePod(ds, pod);

    // Rolling update: old pods go while fewer than maxUnavailable nodes lack an available pod;
    // their replacements are made on the next pass.
    const strategy = record(spec.updateStrategy);
    if ((strategy.type ?? 'RollingUpdate') === 'RollingUpdate') {
      const maxUnavailable = resolveMaxUnavailable(record(strategy.rollingUpdate).maxUnavailable, counts.desired);
      let unavailable = kept.filter((k) => !k.pod || !available(k.pod)).length;
      const old = kept.filter((k) => k.pod && k.pod.metadata.labels?.[controllerRevisionHashLabel] !== hash);
      // Unavailable old pods cost nothing to replace; do those first.
      old.sort((a, b) => Number(available(a.pod!)) - Number(available(b.pod!)));
      for (const { pod } of old) {
        if (!available(pod!)) await this.#deletePod(ds, pod!);
        else if (unavailable < maxUnavailable) {
          await this.#deletePod(ds, pod!);
          unavailable++;
        }
      }
    }

    const status = record(ds.status);
    const next: Json = {
      ...status,
      observedGeneration: ds.metadata.generation,
      desiredNumberScheduled: counts.desired,
      currentNumberScheduled: counts.current,
      numberMisscheduled: counts.misscheduled,
      numberReady: counts.ready,
      numberAvailable: counts.available,
      updatedNumberScheduled: counts.updated,
    };
    if (counts.desired - counts.available > 0) next.numberUnavailable = counts.desired - counts.available;
    else delete next.numberUnavailable;
    if (!jsonEqual(next, status)) {
      try {
        await this.#client.update(daemonSetsRef, request.namespace, { ...ds, status: next }, { subresource: 'status' });
      } catch (err) {
        if (isStatus(err, 'Conflict') || isStatus(err, 'NotFound')) return { requeue: true };
        throw err;
      }
    }
    if (waitForAvailable) return { requeueAfter: minReadySeconds * 1000 };
  }

  async #createPod(ds: KubeObject, template: Json, hash: string, nodeName: string): Promise<void> {
    const spec = record(template.spec);
    const pod = podFromTemplate(ds, {
      generateName: `${ds.metadata.name}-`,
      labels: { [controllerRevisionHashLabel]: hash },
      spec: { tolerations: spec.tolerations, affinity: pinnedAffinity(spec.affinity, nodeName) },
    });
    try {
      const created = await this.#client.create(podsRef, ds.metadata.namespace, pod);
      void this.#recorder.normal(ds, 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
    } catch (err) {
      void this.#recorder.warning(ds, 'FailedCreate', `Error creating: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  }

  async #deletePod(ds: KubeObject, pod: KubeObject): Promise<void> {
    try {
      await this.#client.delete(podsRef, pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
      void this.#recorder.normal(ds, 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`);
    } catch (err) {
      if (isStatus(err, 'NotFound') || isStatus(err, 'Conflict')) return;
      throw err;
    }
  }
}

/** The DaemonSet's pod template with the daemon tolerations added (those with the same key and effect are left as given). */
export function daemonPodTemplate(ds: KubeObject): Json {
  const template = record(record(ds.spec).template);
  const spec = record(template.spec);
  const tolerations = array(spec.tolerations);
  const defaults = spec.hostNetwork === true ? [...daemonPodTolerations, networkUnavailableToleration] : daemonPodTolerations;
  for (const t of defaults) {
    if (!tolerations.some((have) => have.key === t.key && have.effect === t.effect)) tolerations.push({ ...t });
  }
  return { ...template, spec: { ...spec, tolerations } };
}

/**
 * Whether a pod from `template` belongs on `node`: its nodeSelector and required node affinity
 * must match, and it must tolerate the node's NoSchedule and NoExecute taints to be placed there;
 * a pod already there may stay while it tolerates the NoExecute ones.
 */
export function nodePlacement(template: Json, node: KubeObject): NodePlacement {
  const spec = record(template.spec);
  const labels = node.metadata.labels ?? {};
  const nodeSelector = record(spec.nodeSelector);
  const fitsSelector = Object.entries(nodeSelector).every(([k, v]) => labels[k] === String(v));
  const required = record(record(record(spec.affinity).nodeAffinity).requiredDuringSchedulingIgnoredDuringExecution);
  const fitsAffinity = required.nodeSelectorTerms === undefined || matchesNodeSelectorTerms(array(required.nodeSelectorTerms), node);
  if (!fitsSelector || !fitsAffinity) return { shouldRun: false, shouldContinueRunning: false };
  const tolerations = array(spec.tolerations);
  const taints = array(record(node.spec).taints);
  const untolerated = taints.filter((taint) => !tolerations.some((t) => tolerates(t, taint)));
  return {
    shouldRun: !untolerated.some((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute'),
    shouldContinueRunning: !untolerated.some((t) => t.effect === 'NoExecute'),
  };
}

/** Node selector terms are ORed; an empty list matches no node. Within a term every requirement must hold. */
export function matchesNodeSelectorTerms(terms: Json[], node: KubeObject): boolean {
  const labels = node.metadata.labels ?? {};
  const fields: Record<string, string> = { 'metadata.name': node.metadata.name ?? '' };
  return terms.some((term) => {
    const expressions = array(term.matchExpressions);
    const matchFields = array(term.matchFields);
    if (expressions.length === 0 && matchFields.length === 0) return false;
    return expressions.every((r) => matchesRequirement(r, labels)) && matchFields.every((r) => matchesRequirement(r, fields));
  });
}

function matchesRequirement(requirement: Json, values: Record<string, string>): boolean {
  const key = String(requirement.key);
  const wanted = Array.isArray(requirement.values) ? requirement.values.map(String) : [];
  const value = values[key];
  switch (requirement.operator) {
    case 'In': return value !== undefined && wanted.includes(value);
    case 'NotIn': return value === undefined || !wanted.includes(value);
    case 'Exists': return value !== undefined;
    case 'DoesNotExist': return value === undefined;
    case 'Gt': return value !== undefined && /^-?\d+$/.test(value) && Number(value) > Number(wanted[0]);
    case 'Lt': return value !== undefined && /^-?\d+$/.test(value) && Number(value) < Number(wanted[0]);
    default: return false;
  }
}

/**
 * The pod's affinity with its required node affinity replaced by the one term that names `node`,
 * as Kubernetes pins daemon pods (the other terms already matched when the node was chosen).
 */
export function pinnedAffinity(affinity: unknown, nodeName: string): Json {
  const current = record(affinity);
  const nodeAffinity = record(current.nodeAffinity);
  return {
    ...current,
    nodeAffinity: {
      ...nodeAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
      },
    },
  };
}

/** The node a daemon pod is for: where it is bound, else the node its pinning affinity names. */
export function targetNodeOf(pod: KubeObject): string | undefined {
  const spec = record(pod.spec);
  if (typeof spec.nodeName === 'string' && spec.nodeName) return spec.nodeName;
  const terms = array(record(record(record(spec.affinity).nodeAffinity).requiredDuringSchedulingIgnoredDuringExecution).nodeSelectorTerms);
  for (const term of terms) {
    for (const field of array(term.matchFields)) {
      if (field.key === 'metadata.name' && field.operator === 'In' && Array.isArray(field.values) && field.values.length === 1) return String(field.values[0]);
    }
  }
  return undefined;
}

/** maxUnavailable as a count: an integer, or a percentage of `desired` rounded up; at least 1 when nothing can surge. */
function resolveMaxUnavailable(value: unknown, desired: number): number {
  if (typeof value === 'string' && value.endsWith('%')) return Math.max(1, Math.ceil((Number(value.slice(0, -1)) / 100) * desired));
  if (value === undefined || value === null) return 1;
  return Math.max(1, Number(value));
}

function isStatus(err: unknown, reason: StatusError['reason']): boolean {
  return err instanceof StatusError && err.reason === reason;
}
