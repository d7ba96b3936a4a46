/**
 * The execution controller: applies each Work to its member cluster (push and simulated members,
 * through the hub's member connections; pull members' agents do this themselves) with server-side
 * apply, reports what the member has back in the Work's status, puts back what drifted, and
 * removes from the member what a deleted Work carried (a finalizer holds the Work until then).
 *
 * Drift and status: each member's copies of Work manifests are watched (label
 * fleet.nephele.dev/binding), so a change there re-applies the Work at once; every Work is also
 * re-applied on a resync period.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject, jsonEqual } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { Informer } from '../../client/index.ts';
import { Controller, type ReconcileRequest, type ReconcileResult, type Runnable } from '../../controller/index.ts';
import { findResource, isReadOnlyMember, type MemberClient } from '../../member/index.ts';
import { applyWork, pruneWork, workStatus } from '../clusters/apply-work.ts';
import { fleetRefs, type FleetContext, type FleetController } from '../context.ts';
import { bindingLabel, clusterLabel, workloadManifest } from './templates.ts';

export const executionFinalizer = 'fleet.nephele.dev/execution';

export interface ExecutionOptions {
  /** Re-apply every Work this often (hub time); the members' copies are also watched, so drift comes back at once. Default 5 min. */
  resyncMs?: number;
}

export function executionController(options: ExecutionOptions = {}): FleetController {
  return (ctx) => new ExecutionController(ctx, options);
}

type Json = Record<string, unknown>;

class ExecutionController implements Runnable {
  readonly #ctx: FleetContext;
  readonly #resyncMs: number;
  readonly #controller: Controller;
  readonly #works: Informer;
  /** Member informers by `cluster|apiVersion|kind`. */
  readonly #memberWatches = new Map<string, { informer: Informer; client: MemberClient }>();
  #stopMembers: (() => void) | undefined;
  #running = false;

  constructor(ctx: FleetContext, options: ExecutionOptions) {
    this.#ctx = ctx;
    this.#resyncMs = options.resyncMs ?? 300_000;
    this.#controller = new Controller({ name: 'execution', reconciler: { reconcile: (r) => this.#reconcile(r) }, scheduler: ctx.scheduler, metrics: ctx.metrics, log: ctx.log, workers: 8 });
    this.#works = new Informer(ctx.client, fleetRefs.works, { labelSelector: bindingLabel });
    const enqueue = (w: KubeObject) => this.#controller.enqueue({ namespace: w.metadata.namespace, name: w.metadata.name! });
    this.#works.onAdd(enqueue);
    this.#works.onUpdate((w, old) => {
      if (!jsonEqual(w.spec, old.spec) || w.metadata.deletionTimestamp !== old.metadata.deletionTimestamp) enqueue(w);
    });
    this.#works.addIndex('manifest', (w) => {
      const m = workloadManifest(w);
      const cluster = w.metadata.labels?.[clusterLabel];
      return m && cluster ? [`${cluster}|${m.apiVersion}|${m.kind}|${m.metadata.namespace ?? ''}|${m.metadata.name}`] : [];
    });
  }

  async start(): Promise<void> {
    this.#running = true;
    this.#works.start();
    await this.#works.synced;
    // A member that (re)connects gets all its Works applied again.
    this.#stopMembers = this.#ctx.members.onChange((cluster) => {
      for (const [key, watch] of this.#memberWatches) {
        if (key.startsWith(`${cluster}|`)) {
          void watch.informer.stop();
          this.#memberWatches.delete(key);
        }
      }
      for (const w of this.#works.list()) if (w.metadata.labels?.[clusterLabel] === cluster) this.#controller.enqueue({ namespace: w.metadata.namespace, name: w.metadata.name! });
    });
    this.#controller.start();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#stopMembers?.();
    await this.#controller.stop();
    await Promise.all([this.#works.stop(), ...[...this.#memberWatches.values()].map((w) => w.informer.stop())]);
    this.#memberWatches.clear();
  }

  async #reconcile(request: ReconcileRequest): Promise<ReconcileResult | void> {
    let work = this.#works.get(request.namespace, request.name);
    if (!work) return;
    const cluster = work.metadata.labels?.[clusterLabel] ?? '';
    const member = this.#ctx.members.get(cluster);
    try {
      if (work.metadata.deletionTimestamp) {
        // A cluster turned ReadOnly was handed to another hub: what runs there stays, as it is.
        if (member && !isReadOnlyMember(member)) await pruneWork(member, work);
        await this.#dropFinalizer(work);
        return;
      }
      if (!member) return;
      if (!work.metadata.finalizers?.includes(executionFinalizer)) {
        work = await this.#ctx.client.update(fleetRefs.works, work.metadata.namespace, { ...work, metadata: { ...work.metadata, finalizers: [...(work.metadata.finalizers ?? []), executionFinalizer] } });
      }
      const summary = await applyWork(member, work, { fieldManager: 'nephele-hub' });
      await this.#watchMember(cluster, member, work);
      await this.#writeStatus(work, workStatus(summary, work.status, this.#ctx.scheduler.nowIso()) as unknown as Json);
      return this.#running ? { requeueAfter: this.#resyncMs } : undefined;
    } catch (err) {
      if (err instanceof StatusError && (err.code === 409 || err.code === 404)) return { requeue: true };
      const summary = { applied: false, manifestStatuses: [], errors: [{ identifier: { apiVersion: '', kind: '', name: '' }, message: err instanceof Error ? err.message : String(err) }], pruned: [] };
      await this.#writeStatus(work, workStatus(summary, work.status, this.#ctx.scheduler.nowIso()) as unknown as Json).catch(() => undefined);
      throw err;
    }
  }

  async #dropFinalizer(work: KubeObject): Promise<void> {
    if (!work.metadata.finalizers?.includes(executionFinalizer)) return;
    await this.#ctx.client.update(fleetRefs.works, work.metadata.namespace, { ...work, metadata: { ...work.metadata, finalizers: work.metadata.finalizers.filter((f) => f !== executionFinalizer) } }).catch((err: unknown) => {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    });
  }

  /** Watches the member's copies of this Work's kind, so changes there come back at once. */
  async #watchMember(cluster: string, member: MemberClient, work: KubeObject): Promise<void> {
    const manifest = workloadManifest(work);
    if (!manifest) return;
    const key = `${cluster}|${manifest.apiVersion}|${manifest.kind}`;
    if (this.#memberWatches.has(key)) return;
    const ref = findResource(await member.discover(), manifest.apiVersion!, manifest.kind!);
    if (!ref || this.#memberWatches.has(key)) return;
    const informer = new Informer(member.objects, ref, { labelSelector: bindingLabel });
    const onChange = (obj: KubeObject) => {
      for (const w of this.#works.byIndex('manifest', `${cluster}|${obj.apiVersion ?? manifest.apiVersion}|${obj.kind ?? manifest.kind}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`)) {
        this.#controller.enqueue({ namespace: w.metadata.namespace, name: w.metadata.name! });
      }
    };
    informer.onUpdate((obj, old) => {
      if (!jsonEqual(obj.status, old.status) || !jsonEqual(obj.spec, old.spec)) onChange(obj);
    });
    informer.onDelete(onChange);
    this.#memberWatches.set(key, { informer, client: member });
    informer.start();
  }

  async #writeStatus(work: KubeObject, summary: Json): Promise<void> {
    const old = isPlainObject(work.status) ? work.status : {};
    const status = { ...old, ...summary };
    if (jsonEqual(old, status)) return;
    const cached = this.#works.get(work.metadata.namespace, work.metadata.name!);
    const fresh = cached && Number(cached.metadata.resourceVersion) > Number(work.metadata.resourceVersion) ? cached : work;
    await this.#ctx.client.update(fleetRefs.works, work.metadata.namespace, { ...fresh, status }, { subresource: 'status' });
  }
}
