/**
 * Creates the objects of a multi-document YAML manifest through the registry, skipping those
 * that already exist, so seeding is idempotent across restarts. Used to load the demo fleet on
 * `nephele start`.
 */
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../machinery/object.ts';
import { isPlainObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import type { TypeCatalog } from '../api/type-catalog.ts';
import type { ObjectRegistry } from '../apiserver/registry.ts';
import type { UserInfo } from '../apiserver/admission.ts';

export interface SeedResult {
  created: string[];
  existing: string[];
}

export async function createManifestObjects(text: string, catalog: TypeCatalog, registry: ObjectRegistry, user: UserInfo): Promise<SeedResult> {
  const result: SeedResult = { created: [], existing: [] };
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as unknown;
    if (!isPlainObject(obj)) continue;
    const type = catalog.byKind(String(obj.apiVersion), String(obj.kind));
    if (!type) throw new Error(`the manifest has a ${String(obj.apiVersion)} ${String(obj.kind)}, which this hub does not serve`);
    const meta = isPlainObject(obj.metadata) ? obj.metadata : {};
    const namespace = type.namespaced ? String(meta.namespace ?? 'default') : undefined;
    const label = `${type.plural}/${String(meta.name)}`;
    try {
      await registry.create(type, namespace, obj as KubeObject, { user, fieldManager: 'nephele-seed' });
      result.created.push(label);
    } catch (err) {
      if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
      result.existing.push(label);
    }
  }
  return result;
}
