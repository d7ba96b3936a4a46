/**
 * The storage layer: one Store interface (get, list, create, update with compare-and-swap, delete,
 * watch from a revision) and its backends. Memory for tests and simulations, sqlite as the
 * embedded default, etcd for replicated hubs. `conformance.ts` holds the suite all of them pass.
 */
export type {
  DeleteOptions,
  ListOptions,
  ListResult,
  Store,
  Watch,
  WatchEvent,
  WatchEventType,
  WatchHandlers,
  WatchOptions,
} from './store.ts';
export { createMemoryStore, MemoryStore, type MemoryStoreOptions } from './memory-store.ts';
export { createSqliteStore, SqliteStore, type SqliteStoreOptions } from './sqlite-store.ts';
export { createEtcdStore, EtcdStore, type EtcdStoreOptions } from './etcd-store.ts';
export type { EtcdTls } from './etcd-client.ts';
export { storeErrors } from './store-errors.ts';
