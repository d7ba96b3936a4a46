/**
 * OpenAPI v3 documents, one per group-version plus the index at /openapi/v3, as kube-apiserver
 * publishes them. kubectl reads them for `explain`, and checks the PATCH operations for the
 * `fieldValidation` parameter to decide it can leave validation to the server.
 */
import { createHash } from 'node:crypto';
import { isPlainObject } from '../machinery/object.ts';
import type { ResourceType } from '../api/resource-type.ts';
import type { TypeCatalog } from '../api/type-catalog.ts';

const queryParameters = {
  dryRun: { name: 'dryRun', in: 'query', description: 'When present, the change is validated but not persisted. Valid value: All.', schema: { type: 'string' } },
  fieldManager: { name: 'fieldManager', in: 'query', description: 'Name of the actor making the change, recorded in managedFields.', schema: { type: 'string' } },
  fieldValidation: { name: 'fieldValidation', in: 'query', description: 'How unknown or duplicate fields are handled: Ignore, Warn (default) or Strict.', schema: { type: 'string' } },
  force: { name: 'force', in: 'query', description: 'Server-side apply: take ownership of conflicting fields.', schema: { type: 'boolean' } },
  labelSelector: { name: 'labelSelector', in: 'query', description: 'Restrict results to objects whose labels match.', schema: { type: 'string' } },
  fieldSelector: { name: 'fieldSelector', in: 'query', description: 'Restrict results to objects whose fields match.', schema: { type: 'string' } },
  limit: { name: 'limit', in: 'query', description: 'Maximum number of items per page.', schema: { type: 'integer' } },
  continue: { name: 'continue', in: 'query', description: 'Token from a previous page.', schema: { type: 'string' } },
  watch: { name: 'watch', in: 'query', description: 'Stream changes instead of listing.', schema: { type: 'boolean' } },
  resourceVersion: { name: 'resourceVersion', in: 'query', description: 'Where a watch starts.', schema: { type: 'string' } },
  propagationPolicy: { name: 'propagationPolicy', in: 'query', description: 'Orphan, Background or Foreground.', schema: { type: 'string' } },
} as const;

export class OpenAPIDocuments {
  readonly catalog: TypeCatalog;
  #docs = new Map<string, { json: string; hash: string }>();
  #generation = -1;

  constructor(catalog: TypeCatalog) {
    this.catalog = catalog;
  }

  #refresh(): void {
    if (this.#generation === this.catalog.generation) return;
    this.#docs.clear();
    for (const gv of this.catalog.groupVersions()) {
      const json = JSON.stringify(buildDocument(this.catalog.typesIn(gv.group, gv.version)));
      const hash = createHash('sha512').update(json).digest('hex').slice(0, 64).toUpperCase();
      this.#docs.set(gvPath(gv.group, gv.version), { json, hash });
    }
    this.#generation = this.catalog.generation;
  }

  index(): unknown {
    this.#refresh();
    return {
      paths: Object.fromEntries([...this.#docs.entries()].map(([path, doc]) => [path, { serverRelativeURL: `/openapi/v3/${path}?hash=${doc.hash}` }])),
    };
  }

  /** The document for `api/v1` or `apis/GROUP/VERSION`, serialised, or undefined. */
  document(path: string): { json: string; hash: string } | undefined {
    this.#refresh();
    return this.#docs.get(path);
  }
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** Every component schema reachable from the roots. */
function closure(types: ResourceType[]): Record<string, object> {
  const out: Record<string, object> = {};
  const visit = (name: string, components: Record<string, object>) => {
    if (out[name] || !components[name]) return;
    out[name] = components[name]!;
    walk(components[name], (ref) => visit(ref, components));
  };
  for (const type of types) visit(type.schema.root, type.schema.components);
  return out;
}

function walk(node: unknown, onRef: (name: string) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, onRef);
  } else if (isPlainObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') onRef(value.replace('#/components/schemas/', ''));
      else walk(value, onRef);
    }
  }
}

function ref(name: string) {
  return { $ref: `#/components/schemas/${name}` };
}

function buildDocument(types: ResourceType[]) {
  const paths: Record<string, unknown> = {};
  for (const type of types) {
    const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
    const collection = type.namespaced ? `${base}/namespaces/{namespace}/${type.plural}` : `${base}/${type.plural}`;
    const gvk = { group: type.group, version: type.version, kind: type.kind };
    const body = { content: { 'application/json': { schema: ref(type.schema.root) } } };
    const ok = { responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref(type.schema.root) } } } } };
    const op = (action: string, extra: Record<string, unknown>) => ({ 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, ...extra });
    const pathParams = [
      ...(type.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string' } }] : []),
    ];
    paths[collection] = {
      parameters: pathParams,
      get: op('list', { operationId: `list${type.kind}`, parameters: [queryParameters.labelSelector, queryParameters.fieldSelector, queryParameters.limit, queryParameters.continue, queryParameters.watch, queryParameters.resourceVersion], responses: { '200': { description: 'OK' } } }),
      post: op('post', { operationId: `create${type.kind}`, parameters: [queryParameters.dryRun, queryParameters.fieldManager, queryParameters.fieldValidation], requestBody: body, ...ok }),
      delete: op('deletecollection', { operationId: `deleteCollection${type.kind}`, parameters: [queryParameters.labelSelector, queryParameters.fieldSelector, queryParameters.dryRun, queryParameters.propagationPolicy], responses: { '200': { description: 'OK' } } }),
    };
    paths[`${collection}/{name}`] = {
      parameters: [...pathParams, { name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
      get: op('get', { operationId: `read${type.kind}`, ...ok }),
      put: op('put', { operationId: `replace${type.kind}`, parameters: [queryParameters.dryRun, queryParameters.fieldManager, queryParameters.fieldValidation], requestBody: body, ...ok }),
      patch: op('patch', {
        operationId: `patch${type.kind}`,
        parameters: [queryParameters.dryRun, queryParameters.fieldManager, queryParameters.fieldValidation, queryParameters.force],
        requestBody: { content: Object.fromEntries(['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'].map((t) => [t, { schema: { type: 'object' } }])) },
        ...ok,
      }),
      delete: op('delete', { operationId: `delete${type.kind}`, parameters: [queryParameters.dryRun, queryParameters.propagationPolicy], responses: { '200': { description: 'OK' } } }),
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Nephele', version: 'v1.32.0' },
    paths,
    components: { schemas: closure(types) },
  };
}
