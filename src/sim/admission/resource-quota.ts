/**
 * ResourceQuota for simulated clusters: an admission plugin that refuses a create which would take
 * a namespace past any of its ResourceQuotas' `spec.hard` limits, and a controller that keeps each
 * quota's `status.hard` and `status.used` current.
 *
 * Counted: pod compute (`requests.cpu` or `cpu`, `requests.memory` or `memory`, `limits.cpu`,
 * `limits.memory`, `requests.<extended resource>` such as `requests.nvidia.com/gpu`, and the
 * ephemeral-storage equivalents), `pods`, the legacy object counts (`services`, `configmaps`,
 * `secrets`, `resourcequotas`) and `count/<resource>.<group>` (`count/deployments.apps`,
 * `count/configmaps` for the core group). Finished pods (Succeeded, Failed) count for nothing.
 * A pod with no request (or limit) for a compute resource a quota limits is refused, as
 * Kubernetes does. Quota scopes and scope selectors are not modelled; only creates are charged.
 *
 * Usage is counted from the objects in the namespace at admission time rather than from the
 * quota's status. Admissions in one namespace are serialised, and what each admits is held as
 * a reservation until its object is visible (or 30 s have passed, for a create that failed
 * later), so two racing creates cannot both slip under a limit within this process.
 */
import type { ObjectClient, ResourceRef } from '../../client/index.ts';
import { newControllerBuilder, type BuiltController, type ReconcileRequest, type ReconcileResult } from '../../controller/index.ts';
import type { AdmissionRequest, ValidatingAdmissionPlugin } from '../../apiserver/admission.ts';
import { realClock, type Clock } from '../../machinery/clock.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { jsonEqual } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import type { SimController } from '../context.ts';
import { array, podPhase, record, type Json } from '../pods.ts';
import { formatBytes, formatCpu, quantityOr } from '../../machinery/quantity.ts';
import { deploymentsRef, podsRef, resourceQuotasRef } from '../resources.ts';

/** Usage by quota resource name (`requests.cpu`: cores, `requests.memory`: bytes, counts as numbers). */
export type ResourceUsage = Record<string, number>;

/** Legacy quota names that count objects of a core kind. */
const legacyCounts: Record<string, string> = {
  pods: 'pods', services: 'services', configmaps: 'configmaps', secrets: 'secrets',
  resourcequotas: 'resourcequotas', persistentvolumeclaims: 'persistentvolumeclaims', replicationcontrollers: 'replicationcontrollers',
};

/** Compute resources every container must state when a quota limits them. */
const mustSpecify = new Set(['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);

const reservationTtlMs = 30_000;

/** The quota key a hard limit is counted under: `cpu` and `memory` are requests. */
export function canonicalQuotaKey(key: string): string {
  if (key === 'cpu' || key === 'memory' || key === 'ephemeral-storage') return `requests.${key}`;
  return key;
}

/** The quota keys that count objects of a resource: `count/deployments.apps`, and `services` for the legacy core names. */
export function countKeysOf(ref: Pick<ResourceRef, 'group' | 'plural'>): string[] {
  const keys = [ref.group ? `count/${ref.plural}.${ref.group}` : `count/${ref.plural}`];
  if (ref.group === '' && legacyCounts[ref.plural]) keys.push(ref.plural);
  return keys;
}

/** Whether a quota key is charged by creating objects of `ref`. */
function chargedBy(key: string, ref: Pick<ResourceRef, 'group' | 'plural'>): boolean {
  const canonical = canonicalQuotaKey(key);
  if (countKeysOf(ref).includes(canonical)) return true;
  return ref.group === '' && ref.plural === 'pods' && (canonical.startsWith('requests.') || canonical.startsWith('limits.'));
}

/** Whether an object counts towards quota at all: finished pods do not. */
function counts(ref: Pick<ResourceRef, 'group' | 'plural'>, obj: KubeObject): boolean {
  if (ref.group === '' && ref.plural === 'pods') {
    const phase = podPhase(obj);
    return phase !== 'Succeeded' && phase !== 'Failed';
  }
  return true;
}

/**
 * A container's effective requests and limits: a request it leaves out while setting the
 * limit is the limit, as Kubernetes defaults it.
 */
function containerResources(container: Json): { requests: Record<string, number>; limits: Record<string, number> } {
  const resources = record(container.resources);
  const limits: Record<string, number> = {};
  for (const [k, v] of Object.entries(record(resources.limits))) limits[k] = quantityOr(v, 0);
  const requests: Record<string, number> = { ...limits };
  for (const [k, v] of Object.entries(record(resources.requests))) requests[k] = quantityOr(v, 0);
  return { requests, limits };
}

/**
 * What a pod charges for `key` (canonical): the sum over its containers, or the largest init
 * container's if that is more, as the scheduler sizes pods.
 */
function podCharge(pod: KubeObject, key: string): number {
  const dot = key.indexOf('.');
  const kind = key.slice(0, dot) as 'requests' | 'limits';
  const resource = key.slice(dot + 1);
  const spec = record(pod.spec);
  let sum = 0;
  for (const c of array(spec.containers)) sum += containerResources(c)[kind][resource] ?? 0;
  let init = 0;
  for (const c of array(spec.initContainers)) init = Math.max(init, containerResources(c)[kind][resource] ?? 0);
  return Math.max(sum, init);
}

/** What creating `obj` (of `ref`) charges against each of `keys`; keys it does not touch are absent. */
export function chargeOf(ref: Pick<ResourceRef, 'group' | 'plural'>, obj: KubeObject, keys: Iterable<string>): ResourceUsage {
  const out: ResourceUsage = {};
  if (!counts(ref, obj)) return out;
  const countKeys = countKeysOf(ref);
  for (const key of keys) {
    const canonical = canonicalQuotaKey(key);
    if (countKeys.includes(canonical)) out[key] = 1;
    else if (chargedBy(key, ref)) out[key] = podCharge(obj, canonical);
  }
  return out;
}

/** Renders a usage value as the quantity Kubernetes would print for that key. */
export function formatUsage(key: string, value: number): string {
  const resource = canonicalQuotaKey(key).replace(/^(requests|limits)\./, '');
  if (resource === 'cpu') return formatCpu(value);
  if (resource === 'memory' || resource === 'ephemeral-storage' || resource === 'storage') return formatBytes(value);
  return Number.isInteger(value) ? String(value) : formatCpu(value);
}

function prettyPrint(keys: string[], values: ResourceUsage): string {
  return keys.map((k) => `${k}=${formatUsage(k, values[k] ?? 0)}`).join(',');
}

interface Reservation {
  uid: string;
  ref: Pick<ResourceRef, 'group' | 'plural'>;
  charge: ResourceUsage;
  expires: number;
}

export interface ResourceQuotaAdmissionOptions {
  /** For reservation expiry; the real clock when absent. */
  clock?: Clock;
}

/**
 * The ResourceQuota validating admission plugin. It reads quotas and current objects through
 * `client` (an InProcessClient over the cluster's registry, acting as a system user).
 */
export class ResourceQuotaAdmission implements ValidatingAdmissionPlugin {
  readonly name = 'ResourceQuota';
  readonly #client: ObjectClient;
  readonly #clock: Clock;
  /** The tail of each namespace's admission chain. */
  readonly #tails = new Map<string, Promise<void>>();
  readonly #reservations = new Map<string, Reservation[]>();

  constructor(client: ObjectClient, options: ResourceQuotaAdmissionOptions = {}) {
    this.#client = client;
    this.#clock = options.clock ?? realClock;
  }

  async validate(request: AdmissionRequest): Promise<void> {
    const { type, namespace, object } = request;
    if (request.operation !== 'CREATE' || request.subresource || !namespace || !object || !type.namespaced) return;
    const quotas = (await this.#client.list(resourceQuotasRef, namespace)).items;
    if (!quotas.some((q) => Object.keys(record(record(q.spec).hard)).some((k) => chargedBy(k, type)))) return;
    const previous = this.#tails.get(namespace) ?? Promise.resolve();
    const mine = previous.then(() => this.#admit(request, type));
    const tail = mine.then(() => undefined, () => undefined);
    this.#tails.set(namespace, tail);
    void tail.then(() => {
      if (this.#tails.get(namespace) === tail) this.#tails.delete(namespace);
    });
    return mine;
  }

  async #admit(request: AdmissionRequest, ref: ResourceRef): Promise<void> {
    const namespace = request.namespace!;
    const obj = request.object!;
    const quotas = (await this.#client.list(resourceQuotasRef, namespace)).items
      .sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    const isPod = ref.group === '' && ref.plural === 'pods';
    let used: ResourceUsage | undefined;
    let charged: ResourceUsage = {};
    for (const quota of quotas) {
      const hard = record(record(quota.spec).hard);
      const keys = Object.keys(hard).filter((k) => chargedBy(k, ref)).sort();
      if (keys.length === 0) continue;
      if (isPod && counts(ref, obj)) {
        const missing = missingRequests(obj, keys);
        if (missing) throw forbidden(request, `failed quota: ${quota.metadata.name}: must specify ${missing}`);
      }
      const charge = chargeOf(ref, obj, keys);
      const requested = keys.filter((k) => (charge[k] ?? 0) > 0);
      if (requested.length === 0) continue;
      used ??= await this.#usage(namespace, ref);
      const exceeded = requested.filter((k) => (used![k] ?? 0) + charge[k]! > quantityOr(hard[k], Infinity));
      if (exceeded.length > 0) {
        throw forbidden(request, `exceeded quota: ${quota.metadata.name}, requested: ${prettyPrint(exceeded, charge)}, used: ${prettyPrint(exceeded, used)}, limited: ${prettyPrint(exceeded, Object.fromEntries(exceeded.map((k) => [k, quantityOr(hard[k], 0)])))}`);
      }
      charged = { ...charged, ...charge };
    }
    if (!request.dryRun && Object.keys(charged).length > 0 && obj.metadata.uid) {
      const list = this.#reservations.get(namespace) ?? [];
      list.push({ uid: obj.metadata.uid, ref, charge: charged, expires: this.#clock.now() + reservationTtlMs });
      this.#reservations.set(namespace, list);
    }
  }

  /** Usage of every key `ref` charges, from the objects there now plus reservations not yet visible. */
  async #usage(namespace: string, ref: ResourceRef): Promise<ResourceUsage> {
    const objects = (await this.#client.list(ref, namespace)).items;
    const usage = sumCharges(ref, objects);
    const visible = new Set(objects.map((o) => o.metadata.uid));
    const now = this.#clock.now();
    const pending = (this.#reservations.get(namespace) ?? []).filter((r) => r.expires > now && !(sameRef(r.ref, ref) && visible.has(r.uid)));
    if (pending.length > 0) this.#reservations.set(namespace, pending);
    else this.#reservations.delete(namespace);
    for (const r of pending) {
      if (!sameRef(r.ref, ref)) continue;
      for (const [k, v] of Object.entries(r.charge)) usage[k] = (usage[k] ?? 0) + v;
    }
    return usage;
  }
}

/** Sums what `objects` charge for every key they can charge (all pod compute keys they mention, and counts). */
function sumCharges(ref: Pick<ResourceRef, 'group' | 'plural'>, objects: KubeObject[]): ResourceUsage {
  const usage: ResourceUsage = {};
  const isPod = ref.group === '' && ref.plural === 'pods';
  for (const obj of objects) {
    const keys = new Set(countKeysOf(ref));
    if (isPod) {
      for (const c of [...array(record(obj.spec).containers), ...array(record(obj.spec).initContainers)]) {
        const { requests, limits } = containerResources(c);
        for (const r of Object.keys(requests)) keys.add(`requests.${r}`);
        for (const r of Object.keys(limits)) keys.add(`limits.${r}`);
      }
    }
    const charge = chargeOf(ref, obj, keys);
    for (const [k, v] of Object.entries(charge)) usage[k] = (usage[k] ?? 0) + v;
  }
  // The short names read the same totals as their canonical keys.
  for (const short of ['cpu', 'memory', 'ephemeral-storage']) usage[short] = usage[`requests.${short}`] ?? 0;
  return usage;
}

/** `limits.cpu for: app; requests.cpu for: app,sidecar` for what containers leave out, or undefined. */
function missingRequests(pod: KubeObject, keys: string[]): string | undefined {
  const required = [...new Set(keys.map(canonicalQuotaKey))].filter((k) => mustSpecify.has(k)).sort();
  const missing = new Map<string, string[]>();
  const spec = record(pod.spec);
  for (const c of [...array(spec.initContainers), ...array(spec.containers)]) {
    const { requests, limits } = containerResources(c);
    for (const key of required) {
      const [kind, resource] = key.split('.') as ['requests' | 'limits', string];
      if ((kind === 'requests' ? requests : limits)[resource] === undefined) missing.set(key, [...(missing.get(key) ?? []), String(c.name)]);
    }
  }
  if (missing.size === 0) return undefined;
  return [...missing].map(([key, names]) => `${key} for: ${[...new Set(names)].sort().join(',')}`).join('; ');
}

function forbidden(request: AdmissionRequest, message: string): StatusError {
  const { type, name } = request;
  const resource = type.group ? `${type.plural}.${type.group}` : type.plural;
  return new StatusError('Forbidden', `${resource} "${name}" is forbidden: ${message}`, { name, group: type.group, kind: type.plural });
}

function sameRef(a: Pick<ResourceRef, 'group' | 'plural'>, b: Pick<ResourceRef, 'group' | 'plural'>): boolean {
  return a.group === b.group && a.plural === b.plural;
}

const core = (kind: string, plural: string): ResourceRef => ({ group: '', version: 'v1', kind, plural, namespaced: true });
/** Resources whose objects the quota controller can count, by their `count/` key's resource part. */
const countable: ResourceRef[] = [
  podsRef, core('Service', 'services'), core('ConfigMap', 'configmaps'), core('Secret', 'secrets'), resourceQuotasRef,
  deploymentsRef,
  { group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', namespaced: true },
  { group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', namespaced: true },
  { group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', namespaced: true },
];

/** The resource a quota key counts, or undefined when the simulator does not count it. */
function refOfKey(key: string): ResourceRef | undefined {
  return countable.find((ref) => chargedBy(key, ref));
}

/** A quota's usage of each of its hard keys in its namespace, formatted as `status.used` holds it. */
export async function quotaUsed(client: ObjectClient, quota: KubeObject): Promise<Record<string, string>> {
  const hard = record(record(quota.spec).hard);
  const byRef = new Map<ResourceRef, ResourceUsage>();
  const used: Record<string, string> = {};
  for (const key of Object.keys(hard).sort()) {
    const ref = refOfKey(key);
    if (!ref) continue;
    let usage = byRef.get(ref);
    if (!usage) {
      usage = sumCharges(ref, (await client.list(ref, quota.metadata.namespace)).items);
      byRef.set(ref, usage);
    }
    used[key] = formatUsage(key, usage[key] ?? 0);
  }
  return used;
}

/**
 * The quota status controller: writes each ResourceQuota's `status.hard` (its spec) and
 * `status.used`, again whenever a pod or a counted object in its namespace changes, and every
 * five minutes of cluster time besides (for kinds it does not watch).
 */
export const resourceQuotaController: SimController = (ctx) => {
  let built: BuiltController | undefined = undefined;
  const quotasIn = (obj: KubeObject): ReconcileRequest[] =>
    (built?.informers[0]?.list() ?? [])
      .filter((q) => q.metadata.namespace === obj.metadata.namespace)
      .map((q) => ({ namespace: q.metadata.namespace, name: q.metadata.name! }));
  const reconciler = {
    async reconcile(request: ReconcileRequest): Promise<ReconcileResult | void> {
      let quota: KubeObject;
      try {
        quota = await ctx.client.get(resourceQuotasRef, request.namespace, request.name);
      } catch (err) {
        if (err instanceof StatusError && err.reason === 'NotFound') return;
        throw err;
      }
      const status = record(quota.status);
      const next = { ...status, hard: { ...record(record(quota.spec).hard) }, used: await quotaUsed(ctx.client, quota) };
      if (!jsonEqual(next, status)) {
        try {
          await ctx.client.update(resourceQuotasRef, request.namespace, { ...quota, status: next }, { subresource: 'status' });
        } catch (err) {
          if (err instanceof StatusError && (err.reason === 'Conflict' || err.reason === 'NotFound')) return { requeue: true };
          throw err;
        }
      }
      return { requeueAfter: 5 * 60_000 };
    },
  };
  let builder = newControllerBuilder({ name: 'resourcequota', client: ctx.client, informers: ctx.informers, scheduler: ctx.scheduler, metrics: ctx.metrics, log: ctx.log })
    .for(resourceQuotasRef);
  for (const ref of [podsRef, core('Service', 'services'), core('ConfigMap', 'configmaps'), core('Secret', 'secrets'), deploymentsRef]) builder = builder.watches(ref, quotasIn);
  built = builder.complete(reconciler);
  return built;
};
