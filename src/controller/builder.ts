/**
 * A controller builder in controller-runtime's shape: name the primary type (`for`), the types
 * it creates and controls (`owns`), and anything else worth a look (`watches`), then hand over a
 * Reconciler. The builder makes one Informer per watched type (shared when the same type is
 * watched with the same options) and turns their events into requests on one Controller:
 *
 * - `for`: an add, update or delete of a primary object enqueues that object;
 * - `owns`: an event on a dependent enqueues its controller owner (the ownerReference with
 *   `controller: true` whose group and kind are the primary type's), in the dependent's namespace;
 * - `watches`: an event on anything else enqueues whatever `map` returns for the object.
 *
 * Updates that do not change an object's resourceVersion enqueue nothing. The result is a
 * Runnable: `start` starts the informers, waits until each has listed once, enqueues every cached
 * primary object, then starts the workers; `stop` stops the workers, then the informers.
 *
 * With `informers` (a SharedInformerFactory) the builder takes its informers from the factory
 * instead of making its own, so controllers watching the same type share one cache; `stop` then
 * leaves the informers running, for the factory's owner to stop.
 */
import type { Registry } from 'prom-client';
import { Informer, type ObjectClient, type ResourceRef, type SharedInformerFactory } from '../client/index.ts';
import type { KubeObject } from '../machinery/object.ts';
import { Controller, type ControllerLog } from './controller.ts';
import type { Manager, Runnable } from './manager.ts';
import type { ReconcileRequest, Reconciler } from './reconciler.ts';
import type { Scheduler } from './scheduler.ts';

export interface ControllerBuilderOptions {
  /** Names the controller in logs and metric labels. */
  name: string;
  client: ObjectClient;
  /** When given, `complete` adds the controller to it as a leader-only runnable. */
  manager?: Manager;
  scheduler?: Scheduler;
  metrics?: Registry;
  /** Keys reconciled at once. Default 1. */
  workers?: number;
  log?: ControllerLog;
  /** Take informers from this factory (shared with other controllers) instead of making them. */
  informers?: SharedInformerFactory;
}

/** Which objects of a type to watch; all of them in every namespace when empty. */
export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
}

/** Maps a watched object to the requests it should cause; none when it concerns nobody. */
export type MapFunction = (obj: KubeObject) => ReconcileRequest[];

/** A built controller: start and stop it yourself, or let the manager it was given do so. */
export interface BuiltController extends Runnable {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly controller: Controller;
  /** Every informer the controller watches through, the primary type's first. */
  readonly informers: readonly Informer[];
}

interface Watch {
  ref: ResourceRef;
  options: WatchOptions;
  map: MapFunction;
}

export function newControllerBuilder(options: ControllerBuilderOptions): ControllerBuilder {
  return new ControllerBuilder(options);
}

export class ControllerBuilder {
  readonly #options: ControllerBuilderOptions;
  #primary: ResourceRef | undefined;
  readonly #watches: Watch[] = [];
  #completed = false;

  constructor(options: ControllerBuilderOptions) {
    this.#options = options;
  }

  /** Sets the primary type: its own events enqueue its own key. Exactly one `for` per controller. */
  for(ref: ResourceRef, options: WatchOptions = {}): this {
    if (this.#primary) throw new Error(`controller ${this.#options.name}: for() may be called only once`);
    this.#primary = ref;
    this.#watches.unshift({ ref, options, map: requestOf });
    return this;
  }

  /** Watches a dependent type: its events enqueue the primary object that controls it. */
  owns(ref: ResourceRef, options: WatchOptions = {}): this {
    // The primary type is read when events arrive, so `owns` may come before `for`.
    this.#watches.push({ ref, options, map: (obj) => this.#controllerOwnerOf(obj) });
    return this;
  }

  /** Watches any other type; `map` says which primary objects an event concerns. */
  watches(ref: ResourceRef, map: MapFunction, options: WatchOptions = {}): this {
    this.#watches.push({ ref, options, map });
    return this;
  }

  /** Builds the controller around `reconciler`; it runs once started (by you or the manager). */
  complete(reconciler: Reconciler): BuiltController {
    if (!this.#primary) throw new Error(`controller ${this.#options.name}: for() is required`);
    if (this.#completed) throw new Error(`controller ${this.#options.name}: complete() may be called only once`);
    this.#completed = true;
    const { name, client, scheduler, metrics, workers, log, informers: factory } = this.#options;
    const controller = new Controller({ name, reconciler, scheduler, metrics, workers, log });

    const byKey = new Map<string, Informer>();
    for (const watch of this.#watches) {
      const key = informerKey(watch.ref, watch.options);
      let informer = byKey.get(key);
      if (!informer) {
        informer = factory
          ? factory.informer(watch.ref, watch.options)
          : new Informer(client, watch.ref, { namespace: watch.options.namespace, labelSelector: watch.options.labelSelector });
        byKey.set(key, informer);
      }
      const enqueue = (obj: KubeObject): void => {
        for (const request of watch.map(obj)) controller.enqueue(request);
      };
      informer.onAdd(enqueue);
      informer.onUpdate((obj, old) => {
        if (obj.metadata.resourceVersion !== old.metadata.resourceVersion) enqueue(obj);
      });
      informer.onDelete(enqueue);
    }
    const informers = [...byKey.values()];
    const primaryInformer = byKey.get(informerKey(this.#primary, this.#watches[0]!.options))!;

    let running = false;
    const built: BuiltController = {
      controller,
      informers,
      async start() {
        if (running) return;
        running = true;
        for (const informer of informers) informer.start();
        await Promise.all(informers.map((informer) => informer.synced));
        // A restart re-lists without announcing unchanged objects; reconcile them all anyway.
        for (const obj of primaryInformer.list()) for (const request of requestOf(obj)) controller.enqueue(request);
        controller.start();
      },
      async stop() {
        running = false;
        await controller.stop();
        if (!factory) await Promise.all(informers.map((informer) => informer.stop()));
      },
    };
    // A failed start is logged by the manager; nothing more to do with it here.
    this.#options.manager?.add(built, { needLeaderElection: true }).catch(() => undefined);
    return built;
  }

  #controllerOwnerOf(obj: KubeObject): ReconcileRequest[] {
    const primary = this.#primary;
    if (!primary) return [];
    const owner = obj.metadata.ownerReferences?.find((ref) => ref.controller === true);
    if (!owner || owner.kind !== primary.kind || groupOf(owner.apiVersion) !== primary.group) return [];
    return [primary.namespaced ? { namespace: obj.metadata.namespace, name: owner.name } : { name: owner.name }];
  }
}

function requestOf(obj: KubeObject): ReconcileRequest[] {
  const { namespace, name } = obj.metadata;
  if (!name) return [];
  return [namespace ? { namespace, name } : { name }];
}

/** The group of an apiVersion: '' for the core group (`v1`), `apps` for `apps/v1`. */
function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function informerKey(ref: ResourceRef, options: WatchOptions): string {
  return JSON.stringify([ref.group, ref.version, ref.plural, options.namespace ?? '', options.labelSelector ?? '']);
}
