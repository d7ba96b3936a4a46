/**
 * The pods/binding and pods/eviction subresources of a simulated cluster's API server.
 *
 * - binding (core/v1 Binding): how a scheduler assigns a pod to a node. It sets spec.nodeName once;
 *   binding a pod that is already bound is a 409 Conflict, as in Kubernetes.
 * - eviction (policy/v1 Eviction): a delete that respects PodDisruptionBudgets. When some budget
 *   covering the pod has no disruption left the answer is 429 TooManyRequests, which `kubectl
 *   drain` retries; otherwise the pod is deleted and the answer is a Success Status.
 */
import type { KubeObject } from '../machinery/object.ts';
import { StatusError, errors } from '../machinery/status-error.ts';
import { labelSelectorFromObject } from '../machinery/selectors.ts';
import type { ApiHandler, ActionRequest } from '../apiserver/handler.ts';
import type { ObjectRegistry } from '../apiserver/registry.ts';
import type { TypeCatalog } from '../api/type-catalog.ts';
import type { UserInfo } from '../apiserver/admission.ts';
import { isPodActive, isPodReady, podNodeName, record } from './pods.ts';

export function installPodActions(handler: ApiHandler, registry: ObjectRegistry, catalog: TypeCatalog): void {
  const pods = catalog.byResource('', 'v1', 'pods')!;
  const nodes = catalog.byResource('', 'v1', 'nodes')!;
  const budgets = catalog.byResource('policy', 'v1', 'poddisruptionbudgets')!;

  handler.addAction(pods, 'binding', async (request: ActionRequest) => {
    const { body } = request;
    if (body.kind !== undefined && body.kind !== 'Binding') throw errors.badRequest(`pods/binding takes a Binding, not a ${String(body.kind)}`);
    const target = record(body.target);
    const nodeName = target.name;
    if (typeof nodeName !== 'string' || nodeName === '') {
      throw new StatusError('Invalid', `Binding "${request.name}" is invalid: target.name: Required value`, { name: request.name, kind: 'Binding', causes: [{ field: 'target.name', reason: 'FieldValueRequired', message: 'Required value' }] });
    }
    if (target.kind !== undefined && target.kind !== 'Node') throw errors.badRequest(`a pod can be bound only to a Node, not a ${String(target.kind)}`);
    const bodyName = record(body.metadata).name;
    if (bodyName !== undefined && bodyName !== request.name) throw errors.badRequest(`the Binding's name "${String(bodyName)}" does not match the pod's name "${request.name}"`);
    await registry.get(nodes, undefined, nodeName).catch((err: unknown) => {
      if (err instanceof StatusError && err.code === 404) throw errors.badRequest(`cannot bind pod ${request.name} to node ${nodeName}: the node does not exist`);
      throw err;
    });
    await bindPod(registry, catalog, request.namespace, request.name, nodeName, request.user, request.dryRun);
    return { code: 201, body: success() };
  });

  handler.addAction(pods, 'eviction', async (request: ActionRequest) => {
    const { body } = request;
    if (body.kind !== undefined && body.kind !== 'Eviction') throw errors.badRequest(`pods/eviction takes an Eviction, not a ${String(body.kind)}`);
    const pod = await registry.get(pods, request.namespace, request.name);
    if (isPodActive(pod) && isPodReady(pod)) {
      const { items: covering } = await registry.list(budgets, request.namespace);
      const matching = covering.filter((pdb) => labelSelectorFromObject(record(pdb.spec).selector).matches(pod.metadata.labels));
      if (matching.length > 1) {
        throw new StatusError('InternalError', `This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.`);
      }
      if (matching.length === 1) {
        const pdb = matching[0]!;
        const { items: all } = await registry.list(pods, request.namespace);
        const selector = labelSelectorFromObject(record(pdb.spec).selector);
        const covered = all.filter((p) => isPodActive(p) && selector.matches(p.metadata.labels));
        const healthy = covered.filter(isPodReady).length;
        const { allowed, desired } = disruptionsAllowed(record(pdb.spec), covered.length, healthy);
        if (allowed < 1) {
          throw new StatusError('TooManyRequests', 'Cannot evict pod as it would violate the pod\'s disruption budget.', {
            name: request.name, kind: 'pods',
            causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${pdb.metadata.name} needs ${desired} healthy pods and has ${healthy} currently` }],
          });
        }
      }
    }
    const options = record(body.deleteOptions);
    const preconditions = record(options.preconditions);
    await registry.delete(pods, request.namespace, request.name, {
      user: request.user,
      dryRun: request.dryRun,
      ...(preconditions.uid || preconditions.resourceVersion ? { preconditions: { uid: preconditions.uid as string | undefined, resourceVersion: preconditions.resourceVersion as string | undefined } } : {}),
    });
    return { code: 201, body: success() };
  });
}

/**
 * Sets a pending pod's spec.nodeName, once: the core of pods/binding, also called in process by
 * the simulator's scheduler. A pod already bound, or being deleted, is a 409 Conflict.
 */
export async function bindPod(registry: ObjectRegistry, catalog: TypeCatalog, namespace: string | undefined, name: string, nodeName: string, user: UserInfo, dryRun = false): Promise<void> {
  const pods = catalog.byResource('', 'v1', 'pods')!;
  for (let attempt = 0; ; attempt++) {
    const pod = await registry.get(pods, namespace, name);
    const bound = podNodeName(pod);
    if (bound) throw new StatusError('Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${bound}"`, { name, kind: 'pods' });
    if (pod.metadata.deletionTimestamp) throw new StatusError('Conflict', `pod ${name} is being deleted, cannot be assigned to a host`);
    const updated: KubeObject = { ...pod, spec: { ...record(pod.spec), nodeName } };
    try {
      await registry.update(pods, namespace, name, updated, { user, dryRun, fieldManager: 'nephele-scheduler' });
      return;
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 409) || attempt >= 3) throw err;
    }
  }
}

/** How many more pods a budget lets go, and how many healthy pods it wants, given the pods it covers. */
export function disruptionsAllowed(spec: Record<string, unknown>, expected: number, healthy: number): { allowed: number; desired: number } {
  if (spec.maxUnavailable !== undefined) {
    const max = scaled(spec.maxUnavailable, expected, true);
    const desired = Math.max(0, expected - max);
    return { allowed: Math.max(0, healthy - desired), desired };
  }
  const desired = spec.minAvailable !== undefined ? scaled(spec.minAvailable, expected, true) : expected;
  return { allowed: Math.max(0, healthy - desired), desired };
}

function scaled(value: unknown, total: number, roundUp: boolean): number {
  const match = /^(\d+)%$/.exec(String(value));
  if (!match) return Number(value) || 0;
  const exact = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

function success(): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}
