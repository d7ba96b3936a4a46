/**
 * The Store keeps objects under string keys with one global, monotonic revision, as etcd does.
 * Every successful write advances the revision by exactly one and stamps the new revision into
 * the object's `metadata.resourceVersion`. Objects returned by a Store are copies: callers may
 * change them freely.
 *
 * Keys are `/`-separated paths (for example `/registry/apps/deployments/default/web`); a prefix
 * passed to list or watch should end with `/` to select a folder.
 *
 * Errors are StatusErrors: NotFound, AlreadyExists, Conflict (failed compare-and-swap or
 * precondition), Expired (a revision older than the retained history, or a stale continue token),
 * BadRequest (a continue token that cannot be parsed).
 */
import type { KubeObject } from '../machinery/object.ts';

export interface ListOptions {
  /** At most this many items; 0 or undefined means no limit. */
  limit?: number;
  /** The token a previous page returned in `continue`. */
  continue?: string;
  /** Only objects for which this returns true are counted and returned (label and field selectors). */
  predicate?: (obj: KubeObject) => boolean;
}

export interface ListResult {
  items: KubeObject[];
  /** The store revision the list reflects. */
  revision: number;
  /** Set when more items remain; pass it back as `continue` to read the next page. */
  continue?: string;
  /**
   * When the backend keeps objects as JSON text: `texts[i]` is `JSON.stringify(items[i])`, the
   * stored text itself, for a caller that sends the items on unchanged to skip serialising them
   * again. Only valid while nobody has changed the items.
   */
  texts?: string[];
}

export interface DeleteOptions {
  /** Compare-and-swap: the delete fails with Conflict unless the stored object has this revision. */
  expectedRevision?: number;
  /** The delete fails with Conflict unless the stored object has this uid. */
  expectedUid?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/**
 * One change. For ADDED and MODIFIED `object` is the new state; for DELETED it is the last state
 * with `metadata.resourceVersion` set to the revision of the delete. For BOOKMARK `object` is
 * absent and `revision` promises that every change up to it has been delivered.
 */
export interface WatchEvent {
  type: WatchEventType;
  revision: number;
  key?: string;
  object?: KubeObject;
  /** For MODIFIED and DELETED, the state before the change (used to notice objects leaving a selector). */
  previous?: KubeObject;
}

export interface WatchOptions {
  /**
   * Deliver every change with a revision greater than this. Undefined or 0 means "from now on"
   * (no replay). A revision older than the retained history fails with an Expired StatusError.
   */
  fromRevision?: number;
  /** When set, a BOOKMARK event is delivered at about this interval. */
  bookmarkIntervalMs?: number;
  /**
   * The handler promises never to modify the events it receives, so the store may hand it
   * objects it shares with other readers instead of a copy per watch (a watch cache fanning one
   * store watch out to many clients sets this).
   */
  readOnly?: boolean;
}

/** A running watch. Events arrive in revision order; `stop` is idempotent. */
export interface Watch {
  stop(): void;
}

export interface WatchHandlers {
  onEvent(event: WatchEvent): void;
  /** The watch ended for a reason other than `stop` (store closed, connection lost, history compacted). */
  onError?(err: Error): void;
}

export interface Store {
  /** The backend's name for logs and metrics: `memory`, `sqlite`, `etcd`. */
  readonly backend: string;
  get(key: string): Promise<KubeObject | undefined>;
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Creates the object; AlreadyExists when the key is taken. Returns the stored object. */
  create(key: string, obj: KubeObject): Promise<KubeObject>;
  /**
   * Replaces the object. When `expectedRevision` is given the write happens only if the stored
   * object still has that revision (Conflict otherwise); NotFound when the key is absent.
   */
  update(key: string, obj: KubeObject, expectedRevision?: number): Promise<KubeObject>;
  /** Deletes the object and returns its last state (stamped with the revision of the delete). */
  delete(key: string, options?: DeleteOptions): Promise<KubeObject>;
  /**
   * Watches every key under `prefix`. Throws (or rejects) Expired synchronously when
   * `fromRevision` is older than the retained history.
   */
  watch(prefix: string, options: WatchOptions, handlers: WatchHandlers): Promise<Watch>;
  /** The latest revision written. */
  currentRevision(): Promise<number>;
  /**
   * Discards the change history before `revision`, as etcd's compaction does: afterwards a watch
   * from `revision - 1` or later still replays, an older one fails with Expired, and so does a
   * continue token from before it. Idempotent; a revision ahead of `currentRevision` is BadRequest.
   * Optional because it is maintenance (and how tests force Expired), not part of serving requests.
   */
  compact?(revision: number): Promise<void>;
  /** Releases files, connections and watches. */
  close(): Promise<void>;
}
