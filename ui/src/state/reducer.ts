/**
 * The portal's watch-to-state reducer: folds a list and the watch events after it into one
 * collection, keyed by namespace/name. Pure and synchronous, so React and node:test use the same
 * function. Stale input is dropped, never applied: an event whose resourceVersion is not newer
 * than the collection's (the list, or an event already applied) is ignored, and so is one older
 * than the object it would replace. That keeps a late event from an old stream (after a re-list)
 * from rolling an object back.
 */

/** The part of a Kubernetes object the reducer reads. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  [key: string]: unknown;
}

export interface WatchedObject {
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** One collection: objects by key, and the resourceVersion everything up to is reflected. */
export interface CollectionState<T extends WatchedObject = WatchedObject> {
  items: ReadonlyMap<string, T>;
  /** The list's resourceVersion, advanced by each applied event and bookmark; '' before the list. */
  resourceVersion: string;
  /** True once a list has been applied. */
  loaded: boolean;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T extends WatchedObject = WatchedObject> {
  type: WatchEventType;
  object: T;
}

export type CollectionAction<T extends WatchedObject = WatchedObject> =
  | { type: 'listed'; items: T[]; resourceVersion: string }
  | { type: 'events'; events: WatchEvent<T>[] };

/** An empty collection, before the list arrives. */
export function emptyCollection<T extends WatchedObject = WatchedObject>(): CollectionState<T> {
  return { items: new Map(), resourceVersion: '', loaded: false };
}

/** namespace/name, or name for cluster-scoped objects. */
export function objectKey(obj: WatchedObject): string {
  const { namespace, name } = obj.metadata;
  return namespace ? `${namespace}/${name ?? ''}` : (name ?? '');
}

/**
 * Compares two resourceVersions: negative when `a` is older, 0 when equal, positive when newer.
 * The hub's are decimal revisions; anything else (empty, opaque) compares as unknown (NaN), and
 * the caller then accepts the event rather than guess.
 */
export function compareResourceVersions(a: string | undefined, b: string | undefined): number {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return Number.NaN;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Applies one action; returns the same state object when nothing changed. */
export function collectionReducer<T extends WatchedObject>(state: CollectionState<T>, action: CollectionAction<T>): CollectionState<T> {
  if (action.type === 'listed') {
    // A list older than what is already shown comes from a slow request overtaken by a newer one.
    if (state.loaded && compareResourceVersions(action.resourceVersion, state.resourceVersion) < 0) return state;
    const items = new Map<string, T>();
    for (const item of action.items) items.set(objectKey(item), item);
    return { items, resourceVersion: action.resourceVersion, loaded: true };
  }
  let items: Map<string, T> | undefined;
  let resourceVersion = state.resourceVersion;
  for (const event of action.events) {
    const rv = event.object.metadata?.resourceVersion;
    if (!(compareResourceVersions(rv, resourceVersion) > 0) && !Number.isNaN(compareResourceVersions(rv, resourceVersion))) continue;
    if (event.type === 'BOOKMARK') {
      resourceVersion = rv ?? resourceVersion;
      continue;
    }
    const key = objectKey(event.object);
    const current = (items ?? state.items).get(key);
    if (current && compareResourceVersions(rv, current.metadata.resourceVersion) <= 0) continue;
    items ??= new Map(state.items);
    if (event.type === 'DELETED') items.delete(key);
    else items.set(key, event.object);
    if (rv && /^\d+$/.test(rv)) resourceVersion = rv;
  }
  if (!items && resourceVersion === state.resourceVersion) return state;
  return { items: items ?? state.items, resourceVersion, loaded: state.loaded };
}
