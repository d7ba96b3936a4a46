/**
 * The three Reflect metadata functions that @peculiar/x509's dependency injection container
 * (tsyringe) refuses to load without: `defineMetadata`, `getOwnMetadata` and `getMetadata`.
 * Importing this module installs them on the global `Reflect` when, and only when, no metadata
 * polyfill is present; an installed polyfill (reflect-metadata and the like) is left untouched.
 * Import it before the first import of '@peculiar/x509'.
 *
 * Why a shim: the project does not depend on a Reflect polyfill, and the container only needs
 * metadata storage, not the full proposal. Declaring `reflect-metadata` as a dependency and
 * importing it instead would make this file unnecessary.
 */

type MetadataTarget = object;
type MetadataTable = Map<string | symbol | undefined, Map<unknown, unknown>>;

interface ReflectMetadata {
  defineMetadata(key: unknown, value: unknown, target: MetadataTarget, property?: string | symbol): void;
  getOwnMetadata(key: unknown, target: MetadataTarget, property?: string | symbol): unknown;
  getMetadata(key: unknown, target: MetadataTarget, property?: string | symbol): unknown;
}

const reflect = Reflect as typeof Reflect & Partial<ReflectMetadata>;

if (typeof reflect.getMetadata !== 'function') {
  const tables = new WeakMap<MetadataTarget, MetadataTable>();

  const ownEntries = (target: MetadataTarget, property: string | symbol | undefined, create: boolean) => {
    let table = tables.get(target);
    if (!table) {
      if (!create) return undefined;
      table = new Map();
      tables.set(target, table);
    }
    let entries = table.get(property);
    if (!entries && create) {
      entries = new Map();
      table.set(property, entries);
    }
    return entries;
  };

  const shim: ReflectMetadata = {
    defineMetadata(key, value, target, property) {
      ownEntries(target, property, true)!.set(key, value);
    },
    getOwnMetadata(key, target, property) {
      return ownEntries(target, property, false)?.get(key);
    },
    getMetadata(key, target, property) {
      // Metadata is inherited along the prototype chain, as in the proposal.
      for (let at: MetadataTarget | null = target; at !== null; at = Object.getPrototypeOf(at)) {
        const entries = ownEntries(at, property, false);
        if (entries?.has(key)) return entries.get(key);
      }
      return undefined;
    },
  };

  for (const [name, fn] of Object.entries(shim)) {
    Object.defineProperty(Reflect, name, { value: fn, writable: true, configurable: true, enumerable: false });
  }
}

export {};
