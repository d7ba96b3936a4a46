/**
 * LimitRange for simulated clusters, as kube-apiserver's LimitRanger plugin does it on pod
 * create: a mutating plugin that fills in containers' missing limits (`default`) and requests
 * (`defaultRequest`), and a validating plugin that refuses pods outside `min`, `max` or
 * `maxLimitRequestRatio` for the Container and Pod limit types, with Kubernetes' messages.
 *
 * A LimitRange item of type Container is read with Kubernetes' defaults applied: a missing
 * `default` is `max`, a missing `defaultRequest` is `default` (then `min`). A container that sets
 * a limit but no request gets the limit as its request, as Kubernetes' pod defaulting does.
 * PersistentVolumeClaim limits and pod updates are not checked.
 */
import type { ObjectClient } from '../../client/index.ts';
import type { AdmissionRequest, MutatingAdmissionPlugin, ValidatingAdmissionPlugin } from '../../apiserver/admission.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { array, record, type Json } from '../pods.ts';
import { formatBytes, formatCpu, quantityOr } from '../../machinery/quantity.ts';
import { limitRangesRef } from '../resources.ts';

/** The annotation saying what the plugin set on a pod. */
export const limitRangerAnnotation = 'kubernetes.io/limit-ranger';

type ResourceList = Record<string, string>;

interface LimitItem {
  type: string;
  min: ResourceList;
  max: ResourceList;
  default: ResourceList;
  defaultRequest: ResourceList;
  maxLimitRequestRatio: ResourceList;
}

function resourceList(value: unknown): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(record(value))) if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
  return out;
}

/** A LimitRange's items, with Kubernetes' defaulting of Container items applied. */
export function limitItems(range: KubeObject): LimitItem[] {
  return array(record(range.spec).limits).map((raw) => {
    const item: LimitItem = {
      type: String(raw.type ?? ''),
      min: resourceList(raw.min),
      max: resourceList(raw.max),
      default: resourceList(raw.default),
      defaultRequest: resourceList(raw.defaultRequest),
      maxLimitRequestRatio: resourceList(raw.maxLimitRequestRatio),
    };
    if (item.type === 'Container') {
      for (const [k, v] of Object.entries(item.max)) item.default[k] ??= v;
      for (const [k, v] of Object.entries(item.default)) item.defaultRequest[k] ??= v;
      for (const [k, v] of Object.entries(item.min)) item.defaultRequest[k] ??= v;
    }
    return item;
  });
}

function isPodCreate(request: AdmissionRequest): boolean {
  const { type, operation, subresource, object, namespace } = request;
  return operation === 'CREATE' && !subresource && type.group === '' && type.plural === 'pods' && object !== undefined && namespace !== undefined;
}

async function itemsIn(client: ObjectClient, namespace: string): Promise<LimitItem[]> {
  const ranges = (await client.list(limitRangesRef, namespace)).items.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  return ranges.flatMap(limitItems);
}

/** The mutating half: fills in default limits and requests of Container-type limits. */
export class LimitRangeDefaulting implements MutatingAdmissionPlugin {
  readonly name = 'LimitRanger';
  readonly #client: ObjectClient;

  constructor(client: ObjectClient) {
    this.#client = client;
  }

  async admit(request: AdmissionRequest): Promise<void> {
    if (!isPodCreate(request)) return;
    const items = (await itemsIn(this.#client, request.namespace!)).filter((i) => i.type === 'Container');
    if (items.length === 0) return;
    const pod = request.object!;
    const spec = record(pod.spec);
    const notes: string[] = [];
    const merge = (containers: unknown, prefix: string): void => {
      for (const container of array(containers)) {
        const resources = record(container.resources);
        const limits = resourceList(resources.limits);
        const requests = resourceList(resources.requests);
        const setLimits = new Set<string>();
        const setRequests = new Set<string>();
        for (const item of items) {
          for (const [k, v] of Object.entries(item.default)) {
            if (limits[k] === undefined) {
              limits[k] = v;
              setLimits.add(k);
            }
          }
        }
        // A limit the container set itself is its request when it names none, before any defaultRequest.
        for (const [k, v] of Object.entries(resourceList(resources.limits))) requests[k] ??= v;
        for (const item of items) {
          for (const [k, v] of Object.entries(item.defaultRequest)) {
            if (requests[k] === undefined) {
              requests[k] = v;
              setRequests.add(k);
            }
          }
        }
        if (setLimits.size === 0 && setRequests.size === 0 && Object.keys(requests).length === Object.keys(resourceList(resources.requests)).length) continue;
        container.resources = {
          ...resources,
          ...(Object.keys(limits).length ? { limits } : {}),
          ...(Object.keys(requests).length ? { requests } : {}),
        };
        if (setRequests.size) notes.push(`${[...setRequests].sort().join(', ')} request for ${prefix} ${String(container.name)}`);
        if (setLimits.size) notes.push(`${[...setLimits].sort().join(', ')} limit for ${prefix} ${String(container.name)}`);
      }
    };
    merge(spec.containers, 'container');
    merge(spec.initContainers, 'init container');
    if (notes.length > 0) pod.metadata.annotations = { ...pod.metadata.annotations, [limitRangerAnnotation]: `LimitRanger plugin set: ${notes.join('; ')}` };
  }
}

/** The validating half: min, max and maxLimitRequestRatio for Container and Pod limits. */
export class LimitRangeValidation implements ValidatingAdmissionPlugin {
  readonly name = 'LimitRanger';
  readonly #client: ObjectClient;

  constructor(client: ObjectClient) {
    this.#client = client;
  }

  async validate(request: AdmissionRequest): Promise<void> {
    if (!isPodCreate(request)) return;
    const items = (await itemsIn(this.#client, request.namespace!)).filter((i) => i.type === 'Container' || i.type === 'Pod');
    if (items.length === 0) return;
    const spec = record(request.object!.spec);
    const containers = [...array(spec.initContainers), ...array(spec.containers)];
    const problems: string[] = [];
    for (const item of items) {
      if (item.type === 'Container') {
        for (const container of containers) {
          const resources = record(container.resources);
          problems.push(...check(item, 'Container', resourceList(resources.requests), resourceList(resources.limits)));
        }
      } else {
        problems.push(...check(item, 'Pod', podTotals(spec, 'requests'), podTotals(spec, 'limits')));
      }
    }
    if (problems.length === 0) return;
    const message = problems.length === 1 ? problems[0]! : `[${problems.join(', ')}]`;
    const name = request.name;
    throw new StatusError('Forbidden', `pods "${name}" is forbidden: ${message}`, { name, group: '', kind: 'pods' });
  }
}

/** The problems of one set of requests and limits against one item, in Kubernetes' words. */
function check(item: LimitItem, limitType: string, requests: ResourceList, limits: ResourceList): string[] {
  const out: string[] = [];
  for (const [resource, enforced] of Object.entries(item.min)) {
    const req = requests[resource];
    const lim = limits[resource];
    const min = quantityOr(enforced, 0);
    if (req === undefined) out.push(`minimum ${resource} usage per ${limitType} is ${enforced}.  No request is specified`);
    else if (quantityOr(req, 0) < min) out.push(`minimum ${resource} usage per ${limitType} is ${enforced}, but request is ${req}`);
    else if (lim !== undefined && quantityOr(lim, 0) < min) out.push(`minimum ${resource} usage per ${limitType} is ${enforced}, but limit is ${lim}`);
  }
  for (const [resource, enforced] of Object.entries(item.max)) {
    const req = requests[resource];
    const lim = limits[resource];
    const max = quantityOr(enforced, Infinity);
    if (lim === undefined) out.push(`maximum ${resource} usage per ${limitType} is ${enforced}.  No limit is specified`);
    else if (quantityOr(lim, 0) > max) out.push(`maximum ${resource} usage per ${limitType} is ${enforced}, but limit is ${lim}`);
    else if (req !== undefined && quantityOr(req, 0) > max) out.push(`maximum ${resource} usage per ${limitType} is ${enforced}, but request is ${req}`);
  }
  for (const [resource, enforced] of Object.entries(item.maxLimitRequestRatio)) {
    const req = quantityOr(requests[resource], 0);
    const lim = quantityOr(limits[resource], 0);
    if (req === 0) out.push(`${resource} max limit to request ratio per ${limitType} is ${enforced}, but no request is specified or request is 0`);
    else if (lim === 0) out.push(`${resource} max limit to request ratio per ${limitType} is ${enforced}, but no limit is specified or limit is 0`);
    else if (lim / req > quantityOr(enforced, Infinity) + 1e-9) out.push(`${resource} max limit to request ratio per ${limitType} is ${enforced}, but provided ratio is ${(lim / req).toFixed(6)}`);
  }
  return out;
}

/** A pod's total requests or limits: the sum over its containers, or the largest init container's when more. */
function podTotals(spec: Json, kind: 'requests' | 'limits'): ResourceList {
  const sums: Record<string, number> = {};
  for (const c of array(spec.containers)) {
    const resources = record(c.resources);
    const own = resourceList(resources[kind]);
    // A limit stands in for a missing request, as pod defaulting would have set it.
    const values = kind === 'requests' ? { ...resourceList(resources.limits), ...own } : own;
    for (const [k, v] of Object.entries(values)) sums[k] = (sums[k] ?? 0) + quantityOr(v, 0);
  }
  for (const c of array(spec.initContainers)) {
    for (const [k, v] of Object.entries(resourceList(record(c.resources)[kind]))) sums[k] = Math.max(sums[k] ?? 0, quantityOr(v, 0));
  }
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(sums)) out[k] = k === 'cpu' ? formatCpu(v) : k === 'memory' || k === 'ephemeral-storage' ? formatBytes(v) : String(v);
  return out;
}
