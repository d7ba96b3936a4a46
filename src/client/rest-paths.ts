/**
 * How ObjectClient calls map onto the Kubernetes REST API: the path of a collection, an object
 * or a subresource, and the query parameters of writes. Shared by every client that speaks HTTP.
 */
import type { KubeObject } from '../machinery/object.ts';
import type { ClientList, ClientListOptions, ClientWriteOptions, ResourceRef } from './client.ts';

/** Query parameters; undefined values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** The REST path of a collection, an object, or an object's subresource. */
export function pathOf(ref: ResourceRef, namespace: string | undefined, name?: string, subresource?: string): string {
  let path = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  if (ref.namespaced && namespace !== undefined) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${ref.plural}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) path += `/${subresource}`;
  return path;
}

export function writeQuery(options: ClientWriteOptions): Query {
  return { fieldManager: options.fieldManager, dryRun: options.dryRun ? 'All' : undefined };
}

/** The query parameters of a list; empty selectors and tokens are left out. */
export function listQuery(options: ClientListOptions): Query {
  return {
    labelSelector: options.labelSelector || undefined,
    fieldSelector: options.fieldSelector || undefined,
    limit: options.limit,
    continue: options.continue || undefined,
  };
}

/**
 * A list answer as callers see it. Items of a list carry no apiVersion and kind on the wire of
 * some servers; they are set here, as the in-process client sets them, so every client gives
 * one shape.
 */
export function clientList(ref: ResourceRef, body: unknown): ClientList {
  const list = (body ?? {}) as { items?: KubeObject[]; metadata?: { resourceVersion?: string; continue?: string } };
  const apiVersion = ref.group ? `${ref.group}/${ref.version}` : ref.version;
  return {
    items: (list.items ?? []).map((item) => ({ ...item, apiVersion, kind: ref.kind })),
    resourceVersion: list.metadata?.resourceVersion ?? '',
    ...(list.metadata?.continue ? { continue: list.metadata.continue } : {}),
  };
}
