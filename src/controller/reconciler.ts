/**
 * Reconciler is the one interface a controller implements, in controller-runtime's shape:
 * given the name of an object, read the current state, converge it, and say when to look again.
 * Reconcile is level-based: it must be idempotent, because a key may be reconciled any number
 * of times and change events are coalesced.
 */

/** Names the object to reconcile; `namespace` is undefined for cluster-scoped objects. */
export interface ReconcileRequest {
  namespace?: string;
  name: string;
}

/**
 * What to do after a successful reconcile: nothing (`{}` or undefined), look again after
 * `requeueAfter` milliseconds, or retry with the key's rate-limited backoff (`requeue: true`).
 * A thrown error also retries with backoff; a thrown TerminalError stops retrying the key.
 */
export type ReconcileResult = { requeueAfter?: number } | { requeue: true };

export interface Reconciler {
  reconcile(request: ReconcileRequest): Promise<ReconcileResult | void>;
}

/** An error retrying cannot fix (invalid spec, missing permission): logged once, not retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** The work queue key of a request: `namespace/name`, or `name` when cluster-scoped. */
export function requestKey(request: ReconcileRequest): string {
  return request.namespace ? `${request.namespace}/${request.name}` : request.name;
}

/** The inverse of `requestKey` (names never contain `/`). */
export function parseRequestKey(key: string): ReconcileRequest {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
