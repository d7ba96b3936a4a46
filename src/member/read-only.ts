/**
 * A MemberClient that only reads: how a hub holds a member it shares with another hub
 * (`spec.access: ReadOnly`). Reads, watches, version, health and discovery pass through; every
 * write is refused with a Forbidden Status before it leaves the process, so no controller on this
 * hub can change the member even by mistake.
 */
import type { ObjectClient } from '../client/index.ts';
import { StatusError } from '../machinery/status-error.ts';
import type { MemberClient, MemberVersion } from './member-client.ts';
import type { ResourceRef } from '../client/index.ts';

export class ReadOnlyMemberClient implements MemberClient {
  readonly name: string;
  readonly objects: ObjectClient;
  /** Always true: lets callers that would write (pruning a Work) skip the member instead. */
  readonly readOnly = true;
  readonly #inner: MemberClient;

  constructor(inner: MemberClient) {
    this.name = inner.name;
    this.#inner = inner;
    const objects = inner.objects;
    const refuse = (verb: string, ref: ResourceRef, name?: string): Promise<never> => Promise.reject(new StatusError('Forbidden',
      `member cluster ${JSON.stringify(this.name)} is registered with spec.access ReadOnly on this hub: it may not ${verb} ${ref.plural}${name ? ` ${JSON.stringify(name)}` : ''} there (another hub owns its workloads)`));
    this.objects = {
      get: (ref, namespace, name) => objects.get(ref, namespace, name),
      list: (ref, namespace, options) => objects.list(ref, namespace, options),
      watch: (ref, namespace, options, onEvent, onEnd) => objects.watch(ref, namespace, options, onEvent, onEnd),
      create: (ref, _namespace, obj) => refuse('create', ref, obj.metadata?.name),
      update: (ref, _namespace, obj) => refuse('update', ref, obj.metadata?.name),
      patch: (ref, _namespace, name) => refuse('patch', ref, name),
      delete: (ref, _namespace, name) => refuse('delete', ref, name),
    } satisfies ObjectClient;
  }

  version(): Promise<MemberVersion> {
    return this.#inner.version();
  }

  healthy(): Promise<boolean> {
    return this.#inner.healthy();
  }

  discover(): Promise<ResourceRef[]> {
    return this.#inner.discover();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** Whether `member` refuses writes (a ReadOnlyMemberClient). */
export function isReadOnlyMember(member: MemberClient): boolean {
  return (member as { readOnly?: unknown }).readOnly === true;
}
