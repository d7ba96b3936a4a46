/**
 * How ObjectClient calls map onto the Kubernetes REST API: the path of a collection, an object
 * or a subresource, and the query parameters of writes. Shared by every client that speaks HTTP.
 */
import type { ClientWriteOptions, ResourceRef } from './client.ts';

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
