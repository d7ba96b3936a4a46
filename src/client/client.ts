/**
 * ObjectClient is how controllers and tools read and write resources: one interface with two
 * implementations, in-process (straight to the hub's ObjectRegistry, same rules, no HTTP) and
 * over HTTPS (any hub or Kubernetes-compatible server). Code written against it never knows
 * which one it has, which is what lets a controller run inside the hub, next to it, or against a
 * member cluster.
 *
 * Errors are StatusErrors (NotFound, Conflict, Invalid, ...) from both implementations.
 */
import type { KubeObject } from '../machinery/object.ts';

/** Names a resource type the way the REST paths do. */
export interface ResourceRef {
  group: string;
  version: string;
  /** Lower-case plural used in URLs (`deployments`). */
  plural: string;
  kind: string;
  namespaced: boolean;
}

export interface ClientListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ClientList {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
}

export interface ClientWriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
}

export type ClientPatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface ClientPatchOptions extends ClientWriteOptions {
  force?: boolean;
  subresource?: 'status';
}

export interface ClientDeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ClientWatchOptions {
  /** Start after this revision; empty means "current state as ADDED events, then changes". */
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export type ClientWatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface ClientWatchEvent {
  type: ClientWatchEventType;
  /** The object; for BOOKMARK only metadata.resourceVersion; for ERROR a Status. */
  object: KubeObject;
}

export interface ClientWatch {
  stop(): void;
}

export interface ObjectClient {
  get(ref: ResourceRef, namespace: string | undefined, name: string): Promise<KubeObject>;
  list(ref: ResourceRef, namespace: string | undefined, options?: ClientListOptions): Promise<ClientList>;
  create(ref: ResourceRef, namespace: string | undefined, obj: KubeObject, options?: ClientWriteOptions): Promise<KubeObject>;
  update(ref: ResourceRef, namespace: string | undefined, obj: KubeObject, options?: ClientWriteOptions & { subresource?: 'status' }): Promise<KubeObject>;
  patch(ref: ResourceRef, namespace: string | undefined, name: string, type: ClientPatchType, patch: unknown, options?: ClientPatchOptions): Promise<KubeObject>;
  delete(ref: ResourceRef, namespace: string | undefined, name: string, options?: ClientDeleteOptions): Promise<void>;
  /**
   * Streams changes until `stop` or the stream ends; `onEnd` is called once when it ends for any
   * reason other than `stop` (with the error, if any). A 410 Expired arrives as an ERROR event
   * whose object is a Status with code 410, followed by `onEnd`.
   */
  watch(ref: ResourceRef, namespace: string | undefined, options: ClientWatchOptions, onEvent: (event: ClientWatchEvent) => void, onEnd: (err?: Error) => void): Promise<ClientWatch>;
}
