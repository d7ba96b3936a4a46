/**
 * Serves CustomResourceDefinitions: every stored CRD becomes ResourceTypes in the catalog (on
 * every hub replica, since each follows the store), its status reports Established and
 * NamesAccepted, and deleting a CRD first deletes every object of it.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject, jsonEqual } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import type { Store } from '../../storage/store.ts';
import type { ResourceType } from '../../api/resource-type.ts';
import type { TypeCatalog } from '../../api/type-catalog.ts';
import { acceptedNames, crdCleanupFinalizer, customResourceTypes } from '../../api/kinds/crd.ts';
import type { ObjectRegistry } from '../../apiserver/registry.ts';
import type { UserInfo } from '../../apiserver/admission.ts';
import { followStore, type StoreFollower } from './store-follower.ts';

const crdUser: UserInfo = { username: 'system:apiextensions-controller', groups: ['system:masters'] };
const prefix = '/registry/apiextensions.k8s.io/customresourcedefinitions/';

export class CrdController {
  readonly #store: Store;
  readonly #registry: ObjectRegistry;
  readonly #catalog: TypeCatalog;
  readonly #crdType: ResourceType;
  /** CRD name -> the types it registered. */
  readonly #served = new Map<string, ResourceType[]>();
  #follower: StoreFollower | undefined;

  constructor(store: Store, registry: ObjectRegistry, catalog: TypeCatalog, crdType: ResourceType) {
    this.#store = store;
    this.#registry = registry;
    this.#catalog = catalog;
    this.#crdType = crdType;
  }

  start(): Promise<void> {
    this.#follower = followStore(this.#store, prefix, (obj) => `${prefix}${obj.metadata.name}`, {
      onSync: async (items) => {
        const names = new Set(items.map((i) => i.object.metadata.name!));
        for (const name of [...this.#served.keys()]) if (!names.has(name)) this.#unserve(name);
        for (const { object } of items) await this.#reconcile(object);
      },
      onEvent: async (event) => {
        if (event.type === 'BOOKMARK') return;
        if (event.type === 'DELETED') {
          if (event.object?.metadata.name) this.#unserve(event.object.metadata.name);
          return;
        }
        if (event.object) await this.#reconcile(event.object);
      },
    });
    return this.#follower.synced;
  }

  stop(): void {
    this.#follower?.stop();
  }

  async #reconcile(crd: KubeObject): Promise<void> {
    const name = crd.metadata.name!;
    if (crd.metadata.deletionTimestamp) {
      if ((crd.metadata.finalizers ?? []).includes(crdCleanupFinalizer)) await this.#cleanup(crd);
      return;
    }
    let types: ResourceType[];
    try {
      types = customResourceTypes(crd);
    } catch (err) {
      console.error(`crd ${name}: cannot serve:`, err instanceof Error ? err.message : err);
      return;
    }
    this.#unserve(name);
    for (const type of types) this.#catalog.add(type);
    this.#served.set(name, types);
    await this.#markEstablished(crd);
  }

  #unserve(name: string): void {
    for (const type of this.#served.get(name) ?? []) this.#catalog.remove(type.group, type.version, type.plural);
    this.#served.delete(name);
  }

  async #markEstablished(crd: KubeObject): Promise<void> {
    const status = isPlainObject(crd.status) ? crd.status : {};
    const names = acceptedNames(crd);
    const spec = crd.spec as { versions: Array<{ name: string; storage: boolean }> };
    const storage = spec.versions.find((v) => v.storage)?.name;
    const stored = Array.isArray(status.storedVersions) ? (status.storedVersions as string[]) : [];
    const storedVersions = storage && !stored.includes(storage) ? [...stored, storage] : stored;
    const conditions = Array.isArray(status.conditions) ? (status.conditions as Array<Record<string, unknown>>) : [];
    const now = this.#registry.clock.nowIso();
    const want = (type: string, reason: string, message: string) => {
      const found = conditions.find((c) => c.type === type);
      return found && found.status === 'True' ? found : { type, status: 'True', reason, message, lastTransitionTime: now };
    };
    const next = {
      conditions: [
        want('NamesAccepted', 'NoConflicts', 'no conflicts found'),
        want('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
      ],
      acceptedNames: names,
      storedVersions,
    };
    if (jsonEqual(next, { conditions: status.conditions, acceptedNames: status.acceptedNames, storedVersions: status.storedVersions })) return;
    const updated = structuredClone(crd);
    updated.status = next;
    try {
      await this.#registry.update(this.#crdType, undefined, crd.metadata.name!, updated, { user: crdUser, subresource: 'status', fieldManager: 'apiextensions-controller' });
    } catch (err) {
      // A newer version of the CRD is on its way through the watch; it will be reconciled then.
      if (!(err instanceof StatusError && (err.reason === 'Conflict' || err.reason === 'NotFound'))) throw err;
    }
  }

  async #cleanup(crd: KubeObject): Promise<void> {
    const types = this.#served.get(crd.metadata.name!) ?? customResourceTypes(crd);
    for (const type of types) {
      await this.#registry.deleteCollection(type, undefined, {}, { user: crdUser, propagationPolicy: 'Background' });
    }
    // Objects held by their own finalizers keep the CRD until they are gone.
    for (const type of types) {
      const { items } = await this.#registry.list(type, undefined, { limit: 1 });
      if (items.length > 0) return;
    }
    this.#unserve(crd.metadata.name!);
    const next = structuredClone(crd);
    next.metadata.finalizers = (crd.metadata.finalizers ?? []).filter((f) => f !== crdCleanupFinalizer);
    try {
      await this.#registry.update(this.#crdType, undefined, crd.metadata.name!, next, { user: crdUser, fieldManager: 'apiextensions-controller' });
    } catch (err) {
      if (!(err instanceof StatusError && (err.reason === 'Conflict' || err.reason === 'NotFound'))) throw err;
    }
  }
}
