/**
 * A MemberClient that can be made to look unreachable without stopping the member behind it: how
 * a simulated member's heartbeats "stop" for failover tests (the Cluster annotation
 * `sim.nephele.dev/down: "true"`). While down, `healthy()` is false and every other call rejects
 * with MemberUnreachableError, as a member behind a cut network would; watches opened before keep
 * their events (a real partition would end them; the informers above re-list when it heals).
 */
import type { ClientWatch, ClientWatchEvent, ClientWatchOptions, ObjectClient, ResourceRef } from '../../client/index.ts';
import { MemberUnreachableError, type MemberClient, type MemberVersion } from '../../member/index.ts';

/** The Cluster annotation that makes the hub treat a simulated member as unreachable. */
export const simulatedDownAnnotation = 'sim.nephele.dev/down';

export class FailableMemberClient implements MemberClient {
  readonly name: string;
  readonly objects: ObjectClient;
  readonly #inner: MemberClient;
  /** While true the member looks unreachable. */
  down = false;

  constructor(inner: MemberClient) {
    this.name = inner.name;
    this.#inner = inner;
    const guard = <T>(call: () => Promise<T>): Promise<T> => (this.down ? Promise.reject(this.#unreachable()) : call());
    const objects = inner.objects;
    this.objects = {
      get: (ref, namespace, name) => guard(() => objects.get(ref, namespace, name)),
      list: (ref, namespace, options) => guard(() => objects.list(ref, namespace, options)),
      create: (ref, namespace, obj, options) => guard(() => objects.create(ref, namespace, obj, options)),
      update: (ref, namespace, obj, options) => guard(() => objects.update(ref, namespace, obj, options)),
      patch: (ref, namespace, name, type, patch, options) => guard(() => objects.patch(ref, namespace, name, type, patch, options)),
      delete: (ref, namespace, name, options) => guard(() => objects.delete(ref, namespace, name, options)),
      watch: (ref: ResourceRef, namespace: string | undefined, options: ClientWatchOptions, onEvent: (event: ClientWatchEvent) => void, onEnd: (err?: Error) => void): Promise<ClientWatch> =>
        guard(() => objects.watch(ref, namespace, options, onEvent, onEnd)),
    } satisfies ObjectClient;
  }

  #unreachable(): MemberUnreachableError {
    return new MemberUnreachableError(this.name, `in-process://${this.name}`, `the member is marked down (${simulatedDownAnnotation})`);
  }

  version(): Promise<MemberVersion> {
    return this.down ? Promise.reject(this.#unreachable()) : this.#inner.version();
  }

  async healthy(): Promise<boolean> {
    return this.down ? false : await this.#inner.healthy();
  }

  discover(): Promise<ResourceRef[]> {
    return this.down ? Promise.reject(this.#unreachable()) : this.#inner.discover();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
