/**
 * The distribution controller: for every template on the hub that a Distribution policy selects,
 * it keeps a ResourceBinding (the placement decided, with the scheduler's explanation) and one
 * Work per chosen member cluster (the template with that cluster's share of the replicas and its
 * overrides), and sums the members' status back into the template.
 *
 * Changes are graceful. A cluster whose share grows gets it at once; a cluster whose share
 * shrinks, or which leaves the placement, keeps its replicas until every growing cluster reports
 * its new share ready, so the ready total never drops below what the placement asks for. A
 * chosen cluster that turns NotReady keeps its place for the policy's toleration (300 s by
 * default); after that the placement is decided again without it, and it stays in
 * `evictingClusters` until its replacements are ready. When it returns, the policy decides again
 * and replicas move back, at most `maxMovesPerMinute` replicas a minute. Every decision that
 * moves replicas is an Event on the template.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject, jsonEqual } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { Informer, type ResourceRef } from '../../client/index.ts';
import { Controller, type ReconcileRequest, type ReconcileResult, type Runnable } from '../../controller/index.ts';
import type { ExplanationEntry, PlacementSpec } from '../../api/kinds/policy.ts';
import { executionNamespace, fleetRefs, type FleetContext, type FleetController } from '../context.ts';
import { choosePolicy, policyMatches } from './selectors.ts';
import { aggregateStatus, bindingIdentity, bindingLabel, clusterLabel, readyReplicasOf, replicasOf, workApplied, workFor, workName, workReplicas } from './templates.ts';

type Json = Record<string, unknown>;

/** What a placement decision is, whoever makes it. */
export interface PlacementDecision {
  ok: boolean;
  message: string;
  clusters: Array<{ name: string; replicas?: number }>;
  explanation: ExplanationEntry[];
  affinityName?: string;
}

export type Placer = (input: { template: KubeObject; replicas: number | undefined; placement: PlacementSpec; clusters: KubeObject[]; previous: Array<{ name: string; replicas?: number }> }) => PlacementDecision;

export interface DistributionOptions {
  placer: Placer;
  /** How long a chosen cluster may be NotReady before its replicas move. Default 300 s. */
  defaultTolerationSeconds?: number;
  /** Replicas moved per minute when rebalancing back. Default 50. */
  defaultMaxMovesPerMinute?: number;
  /** Look again at every binding this often; changes arrive as events, this only catches what they missed. Default 60 s. */
  resyncMs?: number;
}

export function distributionController(options: DistributionOptions): FleetController {
  return (ctx) => new DistributionController(ctx, options);
}

const clusterReadyType = 'Ready';
const systemNamespace = 'nephele-system';

function record(v: unknown): Json {
  return isPlainObject(v) ? v : {};
}

function clusterReady(cluster: KubeObject): boolean {
  const conditions = Array.isArray(record(cluster.status).conditions) ? (record(cluster.status).conditions as unknown[]) : [];
  return conditions.some((c) => isPlainObject(c) && c.type === clusterReadyType && c.status === 'True');
}

/** When the cluster stopped being Ready (its NoExecute taint or Ready condition), if it is not. */
function notReadySince(cluster: KubeObject): number | undefined {
  if (clusterReady(cluster)) return undefined;
  const taints = Array.isArray(record(cluster.spec).taints) ? (record(cluster.spec).taints as Json[]) : [];
  const times = taints.filter((t) => t.effect === 'NoExecute').map((t) => Date.parse(String(t.timeAdded ?? ''))).filter(Number.isFinite);
  const conditions = Array.isArray(record(cluster.status).conditions) ? (record(cluster.status).conditions as Json[]) : [];
  const ready = conditions.find((c) => c.type === clusterReadyType);
  const since = Date.parse(String(ready?.lastTransitionTime ?? ''));
  if (Number.isFinite(since)) times.push(since);
  return times.length ? Math.min(...times) : undefined;
}

/** The cluster as the placement should see it while it is still tolerated: Ready, without its NoExecute taints. */
function asTolerated(cluster: KubeObject): KubeObject {
  const spec = record(cluster.spec);
  const taints = Array.isArray(spec.taints) ? (spec.taints as Json[]).filter((t) => t.effect !== 'NoExecute' && t.effect !== 'NoSchedule') : [];
  const status = record(cluster.status);
  const conditions = (Array.isArray(status.conditions) ? (status.conditions as Json[]) : []).filter((c) => c.type !== clusterReadyType);
  return { ...cluster, spec: { ...spec, taints }, status: { ...status, conditions: [...conditions, { type: clusterReadyType, status: 'True', reason: 'Tolerated' }] } };
}

/**
 * The part of a cluster whose change makes placements be decided again: labels, spec, readiness,
 * size and price. Not its heartbeat time, nor what is allocated on it: as in Karmada, a
 * placement is not moved because a cluster filled up (unschedulable bindings retry on their own).
 */
function schedulingDigest(cluster: KubeObject): string {
  const status = record(cluster.status);
  return JSON.stringify([cluster.metadata.labels, cluster.spec, clusterReady(cluster), status.allocatable, status.pricing]);
}

/** How soon a binding that found no placement tries again. */
const unschedulableRetryMs = 15_000;

interface TemplateKey { apiVersion: string; kind: string; namespace: string | undefined; name: string }

function encodeKey(k: TemplateKey): ReconcileRequest {
  return { ...(k.namespace ? { namespace: k.namespace } : {}), name: `${k.apiVersion.replace('/', '~')}~${k.kind}~${k.name}` };
}

function decodeKey(r: ReconcileRequest): TemplateKey {
  const parts = r.name.split('~');
  const name = parts.pop()!;
  const kind = parts.pop()!;
  return { apiVersion: parts.join('/'), kind, namespace: r.namespace, name };
}

class DistributionController implements Runnable {
  readonly #ctx: FleetContext;
  readonly #options: Required<Omit<DistributionOptions, 'placer'>> & Pick<DistributionOptions, 'placer'>;
  readonly #controller: Controller;
  readonly #policies: Informer;
  readonly #clusterPolicies: Informer;
  readonly #overrides: Informer;
  readonly #clusterOverrides: Informer;
  readonly #clusters: Informer;
  readonly #bindings: Informer;
  readonly #works: Informer;
  readonly #templates = new Map<string, Informer>();
  readonly #moves = new Map<string, { at: number; count: number }>();
  #running = false;
  #cancelResync: (() => void) | undefined;

  constructor(ctx: FleetContext, options: DistributionOptions) {
    this.#ctx = ctx;
    this.#options = { defaultTolerationSeconds: 300, defaultMaxMovesPerMinute: 50, resyncMs: 60_000, ...options };
    this.#controller = new Controller({ name: 'distribution', reconciler: { reconcile: (r) => this.#reconcile(r) }, scheduler: ctx.scheduler, metrics: ctx.metrics, log: ctx.log, workers: 4 });
    this.#policies = new Informer(ctx.client, fleetRefs.distributionPolicies);
    this.#clusterPolicies = new Informer(ctx.client, fleetRefs.clusterDistributionPolicies);
    this.#overrides = new Informer(ctx.client, fleetRefs.overridePolicies);
    this.#clusterOverrides = new Informer(ctx.client, fleetRefs.clusterOverridePolicies);
    this.#clusters = new Informer(ctx.client, fleetRefs.clusters);
    this.#bindings = new Informer(ctx.client, fleetRefs.resourceBindings);
    this.#works = new Informer(ctx.client, fleetRefs.works, { labelSelector: bindingLabel });
    this.#works.addIndex(bindingLabel, (w) => [w.metadata.labels?.[bindingLabel] ?? '']);
    this.#bindings.addIndex(bindingLabel, (b) => [`${b.metadata.namespace}.${b.metadata.name}`]);

    const onPolicy = (policy: KubeObject) => this.#policyChanged(policy);
    for (const informer of [this.#policies, this.#clusterPolicies]) {
      informer.onAdd(onPolicy);
      informer.onUpdate((p, old) => {
        onPolicy(p);
        onPolicy(old);
      });
      informer.onDelete(onPolicy);
    }
    for (const informer of [this.#overrides, this.#clusterOverrides]) {
      const enqueueMatched = (p: KubeObject) => this.#forEachTemplate((t) => policyMatches(p, t));
      informer.onAdd(enqueueMatched);
      informer.onUpdate((p, old) => {
        enqueueMatched(p);
        enqueueMatched(old);
      });
      informer.onDelete(enqueueMatched);
    }
    this.#clusters.onAdd(() => this.#allBindings());
    this.#clusters.onDelete(() => this.#allBindings());
    this.#clusters.onUpdate((c, old) => {
      if (schedulingDigest(c) !== schedulingDigest(old)) this.#allBindings();
    });
    const onWork = (w: KubeObject) => {
      const label = w.metadata.labels?.[bindingLabel];
      for (const b of label ? this.#bindings.byIndex(bindingLabel, label) : []) this.#enqueueBinding(b);
    };
    this.#works.onUpdate((w, old) => {
      if (!jsonEqual(w.status, old.status)) onWork(w);
    });
    this.#works.onDelete(onWork);
  }

  async start(): Promise<void> {
    this.#running = true;
    const informers = [this.#policies, this.#clusterPolicies, this.#overrides, this.#clusterOverrides, this.#clusters, this.#bindings, this.#works];
    for (const i of informers) i.start();
    await Promise.all(informers.map((i) => i.synced));
    for (const p of [...this.#policies.list(), ...this.#clusterPolicies.list()]) this.#policyChanged(p);
    this.#allBindings();
    this.#controller.start();
    const resync = (): void => {
      if (!this.#running) return;
      this.#allBindings();
      this.#cancelResync = this.#ctx.scheduler.after(this.#options.resyncMs, resync);
    };
    this.#cancelResync = this.#ctx.scheduler.after(this.#options.resyncMs, resync);
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#cancelResync?.();
    await this.#controller.stop();
    await Promise.all([...this.#templates.values(), this.#policies, this.#clusterPolicies, this.#overrides, this.#clusterOverrides, this.#clusters, this.#bindings, this.#works].map((i) => i.stop()));
  }

  /** Makes sure the kinds a policy selects are watched, and enqueues their templates. */
  #policyChanged(policy: KubeObject): void {
    const selectors = Array.isArray(record(policy.spec).resourceSelectors) ? (record(policy.spec).resourceSelectors as Json[]) : [];
    for (const s of selectors) {
      const apiVersion = String(s.apiVersion ?? '');
      const kind = String(s.kind ?? '');
      const informer = this.#templateInformer(apiVersion, kind);
      if (!informer) continue;
      for (const t of informer.list()) if (policyMatches(policy, t)) this.#enqueueTemplate(t);
    }
  }

  #templateInformer(apiVersion: string, kind: string): Informer | undefined {
    const key = `${apiVersion}|${kind}`;
    const existing = this.#templates.get(key);
    if (existing) return existing;
    const ref: ResourceRef | undefined = this.#ctx.resourceFor(apiVersion, kind);
    if (!ref || ref.group === 'fleet.nephele.dev' || ref.group === 'policy.nephele.dev') return undefined;
    const informer = new Informer(this.#ctx.client, ref);
    informer.onAdd((t) => this.#enqueueTemplate(t));
    informer.onUpdate((t, old) => {
      if (!jsonEqual(t.spec, old.spec) || !jsonEqual(t.metadata.labels, old.metadata.labels) || t.metadata.deletionTimestamp !== old.metadata.deletionTimestamp) this.#enqueueTemplate(t);
    });
    informer.onDelete((t) => this.#enqueueTemplate(t));
    this.#templates.set(key, informer);
    informer.start();
    return informer;
  }

  #enqueueTemplate(t: KubeObject): void {
    this.#controller.enqueue(encodeKey({ apiVersion: t.apiVersion!, kind: t.kind!, namespace: t.metadata.namespace, name: t.metadata.name! }));
  }

  #enqueueBinding(b: KubeObject): void {
    const r = record(record(b.spec).resource);
    this.#controller.enqueue(encodeKey({ apiVersion: String(r.apiVersion), kind: String(r.kind), namespace: r.namespace === undefined ? undefined : String(r.namespace), name: String(r.name) }));
  }

  #allBindings(): void {
    for (const b of this.#bindings.list()) this.#enqueueBinding(b);
  }

  #forEachTemplate(predicate: (t: KubeObject) => boolean): void {
    for (const informer of this.#templates.values()) for (const t of informer.list()) if (predicate(t)) this.#enqueueTemplate(t);
  }

  async #reconcile(request: ReconcileRequest): Promise<ReconcileResult | void> {
    const key = decodeKey(request);
    const informer = this.#templateInformer(key.apiVersion, key.kind);
    if (informer) await informer.synced;
    const template = informer?.get(key.namespace, key.name);
    const stub: KubeObject = { apiVersion: key.apiVersion, kind: key.kind, metadata: { name: key.name, ...(key.namespace ? { namespace: key.namespace } : {}) } };
    const id = bindingIdentity(template ?? stub);
    const binding = this.#bindings.get(id.namespace, id.name);
    const policy = template && !template.metadata.deletionTimestamp
      ? choosePolicy([...this.#policies.list(), ...this.#clusterPolicies.list()], template)
      : undefined;
    try {
      if (!template || !policy) {
        await this.#withdraw(id, binding);
        return;
      }
      return await this.#distribute(template, policy, binding);
    } catch (err) {
      if (err instanceof StatusError && err.code === 409) return { requeue: true };
      throw err;
    }
  }

  /** The template is gone or no policy selects it any more: remove its Works and its binding. */
  async #withdraw(id: { namespace: string; name: string; label: string }, binding: KubeObject | undefined): Promise<void> {
    for (const work of this.#works.byIndex(bindingLabel, id.label)) {
      await this.#ctx.client.delete(fleetRefs.works, work.metadata.namespace, work.metadata.name!).catch(ignoreNotFound);
    }
    if (binding) await this.#ctx.client.delete(fleetRefs.resourceBindings, id.namespace, id.name).catch(ignoreNotFound);
  }

  async #distribute(template: KubeObject, policy: KubeObject, binding: KubeObject | undefined): Promise<ReconcileResult | void> {
    const now = this.#ctx.scheduler.now();
    const id = bindingIdentity(template);
    const policySpec = record(policy.spec);
    const placement = record(policySpec.placement) as PlacementSpec;
    const failover = record(record(policySpec.failover).application);
    const toleration = Number(record(failover.decisionConditions).tolerationSeconds ?? this.#options.defaultTolerationSeconds) * 1000;
    const replicas = replicasOf(template);
    const previous = (Array.isArray(record(binding?.spec).clusters) ? (record(binding?.spec).clusters as Array<{ name: string; replicas?: number }>) : []);
    const previousNames = new Set(previous.map((c) => c.name));
    let requeueAt: number | undefined;
    // A chosen cluster that is NotReady keeps its place while tolerated.
    const clusters = this.#clusters.list().filter((c) => !c.metadata.deletionTimestamp).map((c) => {
      if (!previousNames.has(c.metadata.name!)) return c;
      const since = notReadySince(c);
      if (since === undefined) return c;
      if (now < since + toleration) {
        requeueAt = Math.min(requeueAt ?? Infinity, since + toleration);
        return asTolerated(c);
      }
      return c;
    });
    const decision = this.#options.placer({ template, replicas, placement, clusters, previous });
    const target = decision.ok ? decision.clusters : previous.filter((p) => clusters.some((c) => c.metadata.name === p.name));
    const clustersByName = new Map(clusters.map((c) => [c.metadata.name!, c]));

    // Graceful moves: shrinking clusters wait for the growing ones to be ready.
    const works = new Map(this.#works.byIndex(bindingLabel, id.label).map((w) => [w.metadata.labels?.[clusterLabel] ?? '', w]));
    const targetBy = new Map(target.map((c) => [c.name, c.replicas]));
    const growing = target.filter((c) => replicas !== undefined && (c.replicas ?? 0) > (works.has(c.name) ? (workReplicas(works.get(c.name)!) ?? 0) : 0));
    const grownReady = growing.every((c) => {
      const w = works.get(c.name);
      return w !== undefined && workReplicas(w) === c.replicas && readyReplicasOf(w) >= (c.replicas ?? 0);
    });
    const overridePolicies = [...this.#overrides.list(), ...this.#clusterOverrides.list()];
    const evicting: Array<{ name: string; reason: string; since: string }> = [];
    const moveBudget = this.#moveBudget(id.label, policySpec, now);
    let moved = 0;
    for (const [name, cluster] of clustersByName) {
      const existing = works.get(name);
      const current = existing ? workReplicas(existing) : undefined;
      let want: number | undefined;
      if (targetBy.has(name)) {
        want = replicas === undefined ? undefined : targetBy.get(name) ?? replicas;
        if (replicas !== undefined && want !== undefined && current !== undefined && want < current && !grownReady) want = current;
        if (replicas !== undefined && want !== undefined && want > (current ?? 0)) {
          const step = Math.min(want - (current ?? 0), Math.max(0, moveBudget - moved));
          if (existing && step < want - (current ?? 0)) requeueAt = Math.min(requeueAt ?? Infinity, now + 60_000);
          want = existing ? (current ?? 0) + step : want;
          moved += existing ? step : 0;
        }
      } else if (existing) {
        // Leaving the placement: gone once the replacements are ready (at once for kinds without replicas).
        if (replicas !== undefined && !grownReady && readyReplicasOf(existing) > 0) {
          evicting.push({ name, reason: clusterReady(cluster) ? 'PlacementChanged' : 'ClusterNotReady', since: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z') });
          continue;
        }
        await this.#ctx.client.delete(fleetRefs.works, existing.metadata.namespace, existing.metadata.name!).catch(ignoreNotFound);
        void this.#ctx.recorder('distribution-controller').normal(template, 'WorkRemoved', `removed from cluster ${name}`);
        continue;
      } else continue;
      await this.#ensureWork(template, cluster, want, overridePolicies, existing);
    }
    // Works on clusters that no longer exist go too.
    for (const [name, work] of works) {
      if (!clustersByName.has(name)) await this.#ctx.client.delete(fleetRefs.works, work.metadata.namespace, work.metadata.name!).catch(ignoreNotFound);
    }

    const spec = {
      resource: { apiVersion: template.apiVersion!, kind: template.kind!, ...(template.metadata.namespace ? { namespace: template.metadata.namespace } : {}), name: template.metadata.name!, uid: template.metadata.uid! },
      ...(replicas !== undefined ? { replicas } : {}),
      policy: { kind: policy.kind!, ...(policy.metadata.namespace ? { namespace: policy.metadata.namespace } : {}), name: policy.metadata.name! },
      clusters: target,
      ...(evicting.length ? { evictingClusters: evicting.map((e) => ({ ...e, since: findSince(binding, e.name) ?? e.since })) } : {}),
    };
    const status = {
      conditions: [{ type: 'Scheduled', status: decision.ok ? 'True' : 'False', reason: decision.ok ? 'Success' : 'NoClusterFit', message: decision.message, ...(decision.affinityName ? { observedGeneration: template.metadata.generation ?? 1 } : {}) }],
      schedulerObservedGeneration: template.metadata.generation ?? 1,
      explanation: decision.explanation,
      aggregatedStatus: [...works.entries()].filter(([name]) => clustersByName.has(name)).map(([cluster, w]) => {
        const summed = aggregateStatus(template, [w]);
        return { cluster, applied: workApplied(w), ...(summed ? { status: summed } : {}) };
      }),
    };
    await this.#saveBinding(id, template, spec, status, binding);
    if (!jsonEqual(previous, target)) {
      void this.#ctx.recorder('distribution-controller').normal(template, 'Scheduled', `placed on ${target.map((c) => `${c.name}${replicas !== undefined && c.replicas !== undefined ? `=${c.replicas}` : ''}`).join(', ') || 'no cluster'}${decision.affinityName ? ` (affinity ${decision.affinityName})` : ''}`);
    }
    if (!decision.ok) void this.#ctx.recorder('distribution-controller').warning(template, 'FailedScheduling', decision.message);
    await this.#writeTemplateStatus(template, [...works.values()].filter((w) => clustersByName.has(w.metadata.labels?.[clusterLabel] ?? '')));
    if (!decision.ok) requeueAt = Math.min(requeueAt ?? Infinity, now + unschedulableRetryMs);
    if (requeueAt !== undefined) return { requeueAfter: Math.max(1, requeueAt - now) };
  }

  /** Replicas this binding may still add on clusters it is already on, this minute. */
  #moveBudget(label: string, policySpec: Json, now: number): number {
    const cap = Number(record(record(policySpec.failover).rebalance).maxMovesPerMinute ?? this.#options.defaultMaxMovesPerMinute);
    const window = this.#moves.get(label);
    if (!window || now - window.at >= 60_000) {
      this.#moves.set(label, { at: now, count: 0 });
      return cap;
    }
    return Math.max(0, cap - window.count);
  }

  async #ensureWork(template: KubeObject, cluster: KubeObject, replicas: number | undefined, overridePolicies: KubeObject[], existing: KubeObject | undefined): Promise<void> {
    const { work } = workFor(template, cluster, replicas, overridePolicies);
    const namespace = executionNamespace(cluster.metadata.name!);
    if (existing && jsonEqual(existing.spec, work.spec) && jsonEqual(existing.metadata.labels, work.metadata.labels)) return;
    if (existing && replicas !== undefined) {
      const before = workReplicas(existing) ?? 0;
      const window = this.#moves.get(work.metadata.labels![bindingLabel]!);
      if (window && replicas > before) window.count += replicas - before;
    }
    await this.#ensureNamespace(namespace);
    if (existing) {
      await this.#ctx.client.update(fleetRefs.works, namespace, { ...existing, metadata: { ...existing.metadata, labels: work.metadata.labels, annotations: work.metadata.annotations }, spec: work.spec });
    } else {
      await this.#ctx.client.create(fleetRefs.works, namespace, work).catch(async (err: unknown) => {
        if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
        const fresh = await this.#ctx.client.get(fleetRefs.works, namespace, workName(template));
        await this.#ctx.client.update(fleetRefs.works, namespace, { ...fresh, spec: work.spec });
      });
    }
  }

  readonly #namespaces = new Set<string>();

  async #ensureNamespace(name: string): Promise<void> {
    if (this.#namespaces.has(name)) return;
    const ref = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };
    await this.#ctx.client.create(ref, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'fleet.nephele.dev/execution': 'true' } } }).catch((err: unknown) => {
      if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
    });
    this.#namespaces.add(name);
  }

  async #saveBinding(id: { namespace: string; name: string; label: string }, template: KubeObject, spec: Json, status: Json, binding: KubeObject | undefined): Promise<KubeObject> {
    const labels = { [bindingLabel]: id.label };
    // The binding goes with its template (same namespace); cluster-scoped templates keep theirs in nephele-system.
    const owner = template.metadata.namespace ? [{ apiVersion: template.apiVersion!, kind: template.kind!, name: template.metadata.name!, uid: template.metadata.uid!, controller: true, blockOwnerDeletion: true }] : undefined;
    let current = binding;
    if (!current) {
      if (id.namespace === systemNamespace) await this.#ensureNamespace(systemNamespace);
      current = await this.#ctx.client.create(fleetRefs.resourceBindings, id.namespace, {
        apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'ResourceBinding',
        metadata: { name: id.name, namespace: id.namespace, labels, ...(owner ? { ownerReferences: owner } : {}) },
        spec,
      });
    } else if (!jsonEqual(current.spec, spec)) {
      current = await this.#ctx.client.update(fleetRefs.resourceBindings, id.namespace, { ...current, spec });
    }
    const old = record(current.status);
    const comparable = (s: Json) => ({ ...s, conditions: (Array.isArray(s.conditions) ? s.conditions : []).map((c) => ({ ...record(c), lastTransitionTime: undefined })) });
    if (!jsonEqual(JSON.parse(JSON.stringify(comparable(old))), JSON.parse(JSON.stringify(comparable(status))))) {
      const conditions = (status.conditions as Json[]).map((c) => {
        const before = (Array.isArray(old.conditions) ? (old.conditions as Json[]) : []).find((o) => o.type === c.type);
        return { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : this.#ctx.scheduler.nowIso() };
      });
      current = await this.#ctx.client.update(fleetRefs.resourceBindings, id.namespace, { ...current, status: { ...status, conditions } }, { subresource: 'status' });
    }
    return current;
  }

  async #writeTemplateStatus(template: KubeObject, works: KubeObject[]): Promise<void> {
    const status = aggregateStatus(template, works);
    if (!status) return;
    const ref = this.#ctx.resourceFor(template.apiVersion!, template.kind!);
    if (!ref) return;
    const before = record(template.status);
    if (Object.entries(status).every(([k, v]) => jsonEqual(before[k], v))) return;
    await this.#ctx.client.patch(ref, template.metadata.namespace, template.metadata.name!, 'merge', { status }, { subresource: 'status' }).catch((err: unknown) => {
      // Kinds without a status subresource keep no aggregated status.
      if (!(err instanceof StatusError && (err.code === 404 || err.code === 405))) throw err;
    });
  }
}

function findSince(binding: KubeObject | undefined, name: string): string | undefined {
  const list = Array.isArray(record(binding?.spec).evictingClusters) ? (record(binding?.spec).evictingClusters as Json[]) : [];
  const found = list.find((e) => e.name === name);
  return found ? String(found.since) : undefined;
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof StatusError && err.code === 404)) throw err;
}
