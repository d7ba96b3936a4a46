/**
 * InProcessMemberClient reaches a member that lives in the same process (a simulated cluster, or
 * any hub's registry and catalog) without sockets: objects go through the existing
 * InProcessClient, so admission, validation, preconditions and watches follow exactly the rules
 * an HTTPS request would meet. Meant for simulations of thousands of members, where a TLS
 * connection and a watch stream per member would cost more than the simulation itself.
 */
import { InProcessClient, controllerUser, type ClientDeleteOptions, type ClientListOptions, type ClientPatchOptions, type ClientPatchType, type ClientWatch, type ClientWatchEvent, type ClientWatchOptions, type ClientWriteOptions, type ObjectClient, type ResourceRef } from '../client/index.ts';
import type { UserInfo } from '../apiserver/admission.ts';
import type { KubeObject } from '../machinery/object.ts';
import { kubernetesVersion, type Hub } from '../hub/hub.ts';
import { MemberClientClosedError, compareResourceRefs, versionFromGitVersion, type MemberClient, type MemberVersion } from './member-client.ts';

/** What an in-process member needs of a hub: its registry and catalog, and (for `healthy`) its store. */
export type InProcessMember = Pick<Hub, 'registry' | 'catalog'> & Partial<Pick<Hub, 'store'>> & { readonly name?: string };

export interface InProcessMemberClientOptions {
  /** The member's name; default the target's own `name` (a SimulatedCluster has one). */
  name?: string;
  /** Who the calls act as; default the controller user (full rights), as over a cluster-admin kubeconfig. */
  user?: UserInfo;
}

export class InProcessMemberClient implements MemberClient {
  readonly name: string;
  readonly objects: ObjectClient;
  readonly #member: InProcessMember;
  readonly #guard: ClosableObjectClient;

  constructor(member: InProcessMember, options: InProcessMemberClientOptions = {}) {
    const name = options.name ?? member.name;
    if (!name) throw new Error('an in-process member client needs a name: pass options.name, or a member (such as a SimulatedCluster) that has one');
    this.name = name;
    this.#member = member;
    this.#guard = new ClosableObjectClient(name, new InProcessClient(member.registry, member.catalog, options.user ?? controllerUser));
    this.objects = this.#guard;
  }

  /** The version every hub and simulated cluster of this build reports. */
  async version(): Promise<MemberVersion> {
    this.#guard.assertOpen();
    return versionFromGitVersion(kubernetesVersion, `${process.platform}/${process.arch}`);
  }

  /** True while the client is open and the member's store answers (when it has one to ask). */
  async healthy(): Promise<boolean> {
    if (this.#guard.closed) return false;
    try {
      await this.#member.store?.currentRevision();
      return true;
    } catch {
      return false;
    }
  }

  /** Every type in the member's catalog, as its discovery documents list them. */
  async discover(): Promise<ResourceRef[]> {
    this.#guard.assertOpen();
    return this.#member.catalog.all()
      .map((type): ResourceRef => ({ group: type.group, version: type.version, plural: type.plural, kind: type.kind, namespaced: type.namespaced }))
      .sort(compareResourceRefs);
  }

  async close(): Promise<void> {
    this.#guard.close();
  }
}

/**
 * An ObjectClient that refuses calls once closed and stops, on close, every watch opened through
 * it (without calling their `onEnd`, as `stop()` would not).
 */
class ClosableObjectClient implements ObjectClient {
  readonly #member: string;
  readonly #inner: ObjectClient;
  readonly #watches = new Set<ClientWatch>();
  #closed = false;

  constructor(member: string, inner: ObjectClient) {
    this.#member = member;
    this.#inner = inner;
  }

  get closed(): boolean {
    return this.#closed;
  }

  assertOpen(): void {
    if (this.#closed) throw new MemberClientClosedError(this.#member);
  }

  close(): void {
    this.#closed = true;
    for (const watch of [...this.#watches]) watch.stop();
    this.#watches.clear();
  }

  async get(ref: ResourceRef, namespace: string | undefined, name: string): Promise<KubeObject> {
    this.assertOpen();
    return await this.#inner.get(ref, namespace, name);
  }

  async list(ref: ResourceRef, namespace: string | undefined, options?: ClientListOptions) {
    this.assertOpen();
    return await this.#inner.list(ref, namespace, options);
  }

  async create(ref: ResourceRef, namespace: string | undefined, obj: KubeObject, options?: ClientWriteOptions): Promise<KubeObject> {
    this.assertOpen();
    return await this.#inner.create(ref, namespace, obj, options);
  }

  async update(ref: ResourceRef, namespace: string | undefined, obj: KubeObject, options?: ClientWriteOptions & { subresource?: 'status' }): Promise<KubeObject> {
    this.assertOpen();
    return await this.#inner.update(ref, namespace, obj, options);
  }

  async patch(ref: ResourceRef, namespace: string | undefined, name: string, type: ClientPatchType, patch: unknown, options?: ClientPatchOptions): Promise<KubeObject> {
    this.assertOpen();
    return await this.#inner.patch(ref, namespace, name, type, patch, options);
  }

  async delete(ref: ResourceRef, namespace: string | undefined, name: string, options?: ClientDeleteOptions): Promise<void> {
    this.assertOpen();
    await this.#inner.delete(ref, namespace, name, options);
  }

  async watch(ref: ResourceRef, namespace: string | undefined, options: ClientWatchOptions, onEvent: (event: ClientWatchEvent) => void, onEnd: (err?: Error) => void): Promise<ClientWatch> {
    this.assertOpen();
    let handle: ClientWatch | undefined;
    let ended = false;
    const inner = await this.#inner.watch(ref, namespace, options, onEvent, (err) => {
      ended = true;
      if (handle) this.#watches.delete(handle);
      onEnd(err);
    });
    handle = {
      stop: () => {
        this.#watches.delete(handle!);
        inner.stop();
      },
    };
    if (this.#closed) inner.stop();
    else if (!ended) this.#watches.add(handle);
    return handle;
  }
}
