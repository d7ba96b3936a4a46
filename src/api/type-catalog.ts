/**
 * The TypeCatalog holds every ResourceType the hub serves. CustomResourceDefinitions add and
 * remove types at run time, so readers that cache derived documents (discovery, OpenAPI)
 * subscribe to `onChange`.
 */
import type { ResourceType } from './resource-type.ts';
import { apiVersionOf } from './resource-type.ts';

export interface GroupVersion {
  group: string;
  version: string;
}

export class TypeCatalog {
  #byResource = new Map<string, ResourceType>();
  #listeners = new Set<() => void>();
  #generation = 0;

  /** Adds or replaces a type (keyed by group, version and plural). */
  add(type: ResourceType): void {
    this.#byResource.set(resourceKey(type.group, type.version, type.plural), type);
    this.#changed();
  }

  remove(group: string, version: string, plural: string): void {
    if (this.#byResource.delete(resourceKey(group, version, plural))) this.#changed();
  }

  /** The type served at /apis/GROUP/VERSION/PLURAL, or undefined. */
  byResource(group: string, version: string, plural: string): ResourceType | undefined {
    return this.#byResource.get(resourceKey(group, version, plural));
  }

  /** Any served version of GROUP/PLURAL (how store keys name a type), or undefined. */
  byGroupResource(group: string, plural: string): ResourceType | undefined {
    for (const type of this.#byResource.values()) {
      if (type.group === group && type.plural === plural) return type;
    }
    return undefined;
  }

  /** The type of objects with this apiVersion and kind, or undefined. */
  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    for (const type of this.#byResource.values()) {
      if (type.kind === kind && apiVersionOf(type) === apiVersion) return type;
    }
    return undefined;
  }

  all(): ResourceType[] {
    return [...this.#byResource.values()];
  }

  /** Every served group-version, core (`v1`) first, then groups in name order. */
  groupVersions(): GroupVersion[] {
    const seen = new Map<string, GroupVersion>();
    for (const t of this.#byResource.values()) seen.set(`${t.group}/${t.version}`, { group: t.group, version: t.version });
    return [...seen.values()].sort((a, b) => (a.group === b.group ? a.version.localeCompare(b.version) : a.group === '' ? -1 : b.group === '' ? 1 : a.group.localeCompare(b.group)));
  }

  typesIn(group: string, version: string): ResourceType[] {
    return this.all().filter((t) => t.group === group && t.version === version).sort((a, b) => a.plural.localeCompare(b.plural));
  }

  /** Bumped on every change; caches compare it to know when to rebuild. */
  get generation(): number {
    return this.#generation;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    this.#generation++;
    for (const listener of this.#listeners) listener();
  }
}

function resourceKey(group: string, version: string, plural: string): string {
  return `${group}/${version}/${plural}`;
}
