/**
 * Pods as the simulator's workload controllers and kubelet see them: building a Pod from an
 * owner's template, and reading its state (active, ready, finished) the way Kubernetes does.
 */
import type { KubeObject, OwnerReference } from '../machinery/object.ts';
import { cloneJson, isPlainObject } from '../machinery/object.ts';

export type Json = Record<string, unknown>;

export function record(value: unknown): Json {
  return isPlainObject(value) ? value : {};
}

export function array(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isPlainObject) : [];
}

/** The ownerReference an owner puts on what it controls. */
export function controllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion!,
    kind: owner.kind!,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** True when `obj` is controlled by `owner` (an ownerReference with controller: true and its uid). */
export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  return obj.metadata.ownerReferences?.some((ref) => ref.controller === true && ref.uid === owner.metadata.uid) === true;
}

export interface PodFromTemplateOptions {
  /** A fixed name (StatefulSet ordinals); otherwise the pod gets `generateName`. */
  name?: string;
  generateName?: string;
  labels?: Record<string, string>;
  /** Merged over the template's spec (a DaemonSet's node affinity, a StatefulSet's hostname). */
  spec?: Json;
}

/** A new Pod from `owner`'s `spec.template`, controlled by `owner`, in its namespace. */
export function podFromTemplate(owner: KubeObject, options: PodFromTemplateOptions = {}): KubeObject {
  const template = record(record(owner.spec).template);
  const meta = record(template.metadata);
  const labels = { ...(record(meta.labels) as Record<string, string>), ...options.labels };
  const annotations = record(meta.annotations) as Record<string, string>;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(options.name ? { name: options.name } : { generateName: options.generateName ?? `${owner.metadata.name}-` }),
      namespace: owner.metadata.namespace,
      labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: [controllerRef(owner)],
    },
    spec: { ...cloneJson(record(template.spec)), ...options.spec },
  };
}

export function podPhase(pod: KubeObject): string {
  const phase = isPlainObject(pod.status) ? pod.status.phase : undefined;
  return phase === undefined || phase === null ? 'Pending' : String(phase);
}

/** Not finished and not being deleted: it counts towards its owner's replicas. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

export function isPodTerminating(pod: KubeObject): boolean {
  return pod.metadata.deletionTimestamp !== undefined;
}

/** The pod's Ready condition when it is True; undefined otherwise. Called for every pod of an owner on each sync, so it allocates nothing. */
function readyCondition(pod: KubeObject): Json | undefined {
  const conditions = isPlainObject(pod.status) ? pod.status.conditions : undefined;
  if (!Array.isArray(conditions)) return undefined;
  for (const c of conditions) {
    if (isPlainObject(c) && c.type === 'Ready' && c.status === 'True') return c;
  }
  return undefined;
}

/** The pod's Ready condition is True. */
export function isPodReady(pod: KubeObject): boolean {
  return readyCondition(pod) !== undefined;
}

/** Ready for at least `minReadySeconds` at `now` (milliseconds). */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, now: number): boolean {
  const ready = readyCondition(pod);
  if (!ready) return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(String(ready.lastTransitionTime ?? ''));
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now;
}

export function podNodeName(pod: KubeObject): string | undefined {
  const name = record(pod.spec).nodeName;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** The pod template's hash, as a Deployment labels its ReplicaSets and their pods. */
export const podTemplateHashLabel = 'pod-template-hash';

/** Whether a toleration matches a taint (key, operator Equal/Exists, value, effect). */
export function tolerates(toleration: Json, taint: Json): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if ((toleration.operator ?? 'Equal') === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && String(toleration.value ?? '') === String(taint.value ?? '');
}
