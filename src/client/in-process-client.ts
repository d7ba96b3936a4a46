/**
 * InProcessClient is the ObjectClient that calls a hub's ObjectRegistry directly: the same
 * admission, validation and storage rules as a request over HTTPS, without the HTTP. Every call
 * acts as one fixed user (by default a controller with full rights), so what admission and audit
 * see is the controller, not whoever started the process.
 */
import type { KubeObject } from '../machinery/object.ts';
import { StatusError, toStatus } from '../machinery/status-error.ts';
import { parseFieldSelector, parseLabelSelector } from '../machinery/selectors.ts';
import type { ResourceType } from '../api/resource-type.ts';
import { namesType, withTypeMeta } from '../api/resource-type.ts';
import type { TypeCatalog } from '../api/type-catalog.ts';
import type { UserInfo } from '../apiserver/admission.ts';
import { supportedFieldLabels, type ObjectRegistry } from '../apiserver/registry.ts';
import type {
  ClientDeleteOptions, ClientList, ClientListOptions, ClientPatchOptions, ClientPatchType, ClientWatch,
  ClientWatchEvent, ClientWatchOptions, ClientWriteOptions, ObjectClient, ResourceRef,
} from './client.ts';

export const controllerUser: UserInfo = { username: 'system:nephele-controller', groups: ['system:masters'] };

const defaultFieldManager = 'nephele-controller';

export class InProcessClient implements ObjectClient {
  readonly #registry: ObjectRegistry;
  readonly #catalog: TypeCatalog;
  readonly #user: UserInfo;

  constructor(registry: ObjectRegistry, catalog: TypeCatalog, user: UserInfo = controllerUser) {
    this.#registry = registry;
    this.#catalog = catalog;
    this.#user = user;
  }

  async get(ref: ResourceRef, namespace: string | undefined, name: string): Promise<KubeObject> {
    const type = this.#type(ref);
    return typed(type, await this.#registry.get(type, namespace, name));
  }

  async list(ref: ResourceRef, namespace: string | undefined, options: ClientListOptions = {}): Promise<ClientList> {
    const type = this.#type(ref);
    const result = await this.#registry.list(type, namespace, {
      labelSelector: parseLabelSelector(options.labelSelector),
      fieldSelector: parseFieldSelector(options.fieldSelector, supportedFieldLabels(type)),
      limit: options.limit,
      continue: options.continue,
    });
    return {
      items: result.items.map((item) => typed(type, item)),
      resourceVersion: result.resourceVersion,
      ...(result.continue ? { continue: result.continue } : {}),
    };
  }

  async create(ref: ResourceRef, namespace: string | undefined, obj: KubeObject, options: ClientWriteOptions = {}): Promise<KubeObject> {
    const type = this.#type(ref);
    const ns = type.namespaced ? (namespace ?? obj.metadata?.namespace) : undefined;
    return typed(type, await this.#registry.create(type, ns, obj, this.#writeOptions(options)));
  }

  async update(ref: ResourceRef, namespace: string | undefined, obj: KubeObject, options: ClientWriteOptions & { subresource?: 'status' } = {}): Promise<KubeObject> {
    const type = this.#type(ref);
    const name = obj.metadata?.name;
    if (!name) throw new StatusError('BadRequest', 'an update needs metadata.name');
    const ns = type.namespaced ? (namespace ?? obj.metadata.namespace) : undefined;
    return typed(type, await this.#registry.update(type, ns, name, obj, { ...this.#writeOptions(options), subresource: options.subresource }));
  }

  async patch(ref: ResourceRef, namespace: string | undefined, name: string, patchType: ClientPatchType, patch: unknown, options: ClientPatchOptions = {}): Promise<KubeObject> {
    const type = this.#type(ref);
    if (patchType === 'apply' && !options.fieldManager) {
      throw new StatusError('BadRequest', 'fieldManager is required for apply requests (server-side apply)');
    }
    const patched = await this.#registry.patch(type, namespace, name, patchType, patch, {
      ...this.#writeOptions(options),
      subresource: options.subresource,
      force: options.force,
    });
    return typed(type, patched);
  }

  async delete(ref: ResourceRef, namespace: string | undefined, name: string, options: ClientDeleteOptions = {}): Promise<void> {
    const type = this.#type(ref);
    await this.#registry.delete(type, namespace, name, {
      user: this.#user,
      propagationPolicy: options.propagationPolicy,
      preconditions: options.preconditions,
    });
  }

  /**
   * Watches through the registry. An error the registry reports (including Expired, whether at
   * the start or later) arrives as an ERROR event carrying its Status, then `onEnd(err)`, as it
   * would over HTTP.
   */
  async watch(ref: ResourceRef, namespace: string | undefined, options: ClientWatchOptions, onEvent: (event: ClientWatchEvent) => void, onEnd: (err?: Error) => void): Promise<ClientWatch> {
    const type = this.#type(ref);
    const labelSelector = parseLabelSelector(options.labelSelector);
    const fieldSelector = parseFieldSelector(options.fieldSelector, supportedFieldLabels(type));
    let ended = false;
    let stopRegistryWatch: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      stopRegistryWatch?.();
      if (err) onEvent({ type: 'ERROR', object: toStatus(err) as unknown as KubeObject });
      onEnd(err);
    };
    try {
      const watch = await this.#registry.watch(type, namespace, {
        resourceVersion: options.resourceVersion,
        labelSelector,
        fieldSelector,
        bookmarks: options.allowWatchBookmarks,
      }, (event) => {
        if (ended) return;
        const object = event.type === 'BOOKMARK' || event.type === 'ERROR' ? event.object as KubeObject : typed(type, event.object as KubeObject);
        onEvent({ type: event.type, object });
      }, (err) => end(err));
      stopRegistryWatch = () => watch.stop();
    } catch (err) {
      if (err instanceof StatusError && (err.reason === 'Expired' || err.reason === 'Gone')) {
        // Delivered asynchronously so callers see the same order as over HTTP: the watch
        // handle first, then the ERROR event, then onEnd.
        queueMicrotask(() => end(err));
        return { stop: () => { ended = true; } };
      }
      throw err;
    }
    if (ended) stopRegistryWatch();
    if (options.timeoutSeconds !== undefined && !ended) {
      timer = setTimeout(() => end(), options.timeoutSeconds * 1000);
      timer.unref();
    }
    return {
      stop: () => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        stopRegistryWatch?.();
      },
    };
  }

  #type(ref: ResourceRef): ResourceType {
    const type = this.#catalog.byResource(ref.group, ref.version, ref.plural);
    if (!type) {
      const gv = ref.group ? `${ref.group}/${ref.version}` : ref.version;
      throw new StatusError('NotFound', `the server doesn't have a resource type "${ref.plural}" in ${gv}`);
    }
    return type;
  }

  #writeOptions(options: ClientWriteOptions) {
    return { user: this.#user, dryRun: options.dryRun, fieldManager: options.fieldManager ?? defaultFieldManager };
  }
}

/**
 * The object with its apiVersion and kind set, as a client reading over HTTP gets it. A stored
 * object that has them already and is frozen (the memory store's shared objects) is handed out
 * as it is: a copy per caller would be an extra object per cached pod in every informer.
 */
function typed(type: ResourceType, obj: KubeObject): KubeObject {
  return namesType(type, obj) && Object.isFrozen(obj) ? obj : withTypeMeta(type, obj);
}
