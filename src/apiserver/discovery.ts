/**
 * Discovery documents: the legacy per-group lists (/api, /apis, /api/v1, /apis/GROUP/VERSION)
 * and aggregated discovery (apidiscovery.k8s.io/v2), which kubectl 1.30+ asks for first. Built
 * from the TypeCatalog and rebuilt only when it changes.
 */
import type { ResourceType } from '../api/resource-type.ts';
import type { TypeCatalog } from '../api/type-catalog.ts';

export const aggregatedDiscoveryMediaType = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

const readVerbs = ['get', 'list', 'watch'];
const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** What a kind's collection answers to: a review is only ever created. */
function verbsOf(type: ResourceType): string[] {
  return type.review ? ['create'] : allVerbs;
}

function resourceEntries(type: ResourceType) {
  const entries: Array<Record<string, unknown>> = [{
    name: type.plural,
    singularName: type.singular,
    namespaced: type.namespaced,
    kind: type.kind,
    verbs: verbsOf(type),
    ...(type.shortNames.length ? { shortNames: type.shortNames } : {}),
    ...(type.categories.length ? { categories: type.categories } : {}),
    storageVersionHash: hashOf(`${type.group}/${type.version}/${type.kind}`),
  }];
  if (type.subresources.status) {
    entries.push({ name: `${type.plural}/status`, singularName: '', namespaced: type.namespaced, kind: type.kind, verbs: ['get', 'patch', 'update'] });
  }
  if (type.subresources.scale) {
    entries.push({ name: `${type.plural}/scale`, singularName: '', namespaced: type.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] });
  }
  for (const action of type.subresources.actions ?? []) {
    entries.push({ name: `${type.plural}/${action.name}`, singularName: '', namespaced: type.namespaced, group: action.kind.group, version: action.kind.version, kind: action.kind.kind, verbs: ['create'] });
  }
  return entries;
}

function hashOf(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return Buffer.from(h.toString(16).padStart(8, '0')).toString('base64').slice(0, 11);
}

export class Discovery {
  readonly catalog: TypeCatalog;
  #cache = new Map<string, unknown>();
  #generation = -1;

  constructor(catalog: TypeCatalog) {
    this.catalog = catalog;
  }

  #cached<T>(key: string, build: () => T): T {
    if (this.#generation !== this.catalog.generation) {
      this.#cache.clear();
      this.#generation = this.catalog.generation;
    }
    if (!this.#cache.has(key)) this.#cache.set(key, build());
    return this.#cache.get(key) as T;
  }

  coreVersions(serverAddress: string) {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  }

  groups() {
    return this.#cached('groups', () => {
      const byGroup = new Map<string, string[]>();
      for (const gv of this.catalog.groupVersions()) {
        if (gv.group === '') continue;
        byGroup.set(gv.group, [...(byGroup.get(gv.group) ?? []), gv.version]);
      }
      return {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [...byGroup.entries()].map(([name, versions]) => {
          const sorted = sortVersions(versions);
          return {
            name,
            versions: sorted.map((version) => ({ groupVersion: `${name}/${version}`, version })),
            preferredVersion: { groupVersion: `${name}/${sorted[0]}`, version: sorted[0] },
          };
        }),
      };
    });
  }

  group(name: string) {
    return this.groups().groups.find((g) => g.name === name);
  }

  resources(group: string, version: string) {
    return this.#cached(`resources/${group}/${version}`, () => {
      const types = this.catalog.typesIn(group, version);
      if (types.length === 0) return undefined;
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: group ? `${group}/${version}` : version,
        resources: types.flatMap(resourceEntries),
      };
    });
  }

  /** apidiscovery.k8s.io/v2 for either the core group (`/api`) or every named group (`/apis`). */
  aggregated(core: boolean) {
    return this.#cached(`aggregated/${core}`, () => {
      const byGroup = new Map<string, Map<string, ResourceType[]>>();
      for (const type of this.catalog.all()) {
        if ((type.group === '') !== core) continue;
        const versions = byGroup.get(type.group) ?? new Map<string, ResourceType[]>();
        versions.set(type.version, [...(versions.get(type.version) ?? []), type]);
        byGroup.set(type.group, versions);
      }
      const items = [...byGroup.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([group, versions]) => ({
        metadata: { name: group, creationTimestamp: null },
        versions: sortVersions([...versions.keys()]).map((version) => ({
          version,
          freshness: 'Current',
          resources: versions.get(version)!.sort((a, b) => a.plural.localeCompare(b.plural)).map((type) => ({
            resource: type.plural,
            responseKind: { group: type.group, version: type.version, kind: type.kind },
            scope: type.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: type.singular,
            verbs: verbsOf(type),
            ...(type.shortNames.length ? { shortNames: type.shortNames } : {}),
            ...(type.categories.length ? { categories: type.categories } : {}),
            subresources: [
              ...(type.subresources.status ? [{ subresource: 'status', responseKind: { group: type.group, version: type.version, kind: type.kind }, verbs: ['get', 'patch', 'update'] }] : []),
              ...(type.subresources.scale ? [{ subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] }] : []),
              ...(type.subresources.actions ?? []).map((action) => ({ subresource: action.name, responseKind: action.kind, verbs: ['create'] })),
            ],
          })),
        })),
      }));
      return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
    });
  }
}

/** Kubernetes version priority: GA before beta before alpha, higher numbers first. */
export function sortVersions(versions: string[]): string[] {
  const rank = (v: string): [number, number, number] => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [3, 0, 0];
    const stability = m[2] === undefined ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stability, -Number(m[1]), -Number(m[3] ?? 0)];
  };
  return [...versions].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2] || a.localeCompare(b);
  });
}

export { readVerbs };
