/**
 * The StatusErrors every Store backend throws, worded once so that all backends answer alike.
 * Storage knows keys, not resources: the API layer names the resource when it re-words a message.
 */
import { StatusError } from '../machinery/status-error.ts';
import type { KubeObject } from '../machinery/object.ts';

export const storeErrors = {
  notFound(key: string): StatusError {
    return new StatusError('NotFound', `key "${key}" not found`);
  },
  alreadyExists(key: string): StatusError {
    return new StatusError('AlreadyExists', `key "${key}" already exists`);
  },
  /** A compare-and-swap lost: the caller read an older revision than the one stored. */
  modified(key: string): StatusError {
    return new StatusError(
      'Conflict',
      `Operation cannot be fulfilled on key "${key}": the object has been modified; please apply your changes to the latest version and try again`,
    );
  },
  revisionPrecondition(key: string, expected: number, actual: number): StatusError {
    return new StatusError(
      'Conflict',
      `Precondition failed on key "${key}": resourceVersion in precondition: ${expected}, resourceVersion in object meta: ${actual}`,
    );
  },
  uidPrecondition(key: string, expected: string, actual: string | undefined): StatusError {
    return new StatusError(
      'Conflict',
      `Precondition failed on key "${key}": UID in precondition: ${expected}, UID in object meta: ${actual ?? ''}`,
    );
  },
  /** A watch asked for changes the store no longer remembers; the client must list again. */
  tooOld(fromRevision: number, compactedRevision: number | undefined): StatusError {
    const compacted = compactedRevision === undefined ? 'compacted' : String(compactedRevision);
    return new StatusError('Expired', `too old resource version: ${fromRevision} (${compacted})`);
  },
  staleContinue(): StatusError {
    return new StatusError(
      'Expired',
      'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
    );
  },
  invalidContinue(): StatusError {
    return new StatusError('BadRequest', 'invalid continue token');
  },
  futureCompaction(revision: number, current: number): StatusError {
    return new StatusError('BadRequest', `cannot compact at revision ${revision}: the current revision is ${current}`);
  },
  invalidRevision(what: string, value: unknown): StatusError {
    return new StatusError('BadRequest', `${what} must be a non-negative integer, got ${String(value)}`);
  },
};

/** The error a closed store rejects every call with: a programming error, so not a StatusError. */
export function storeClosedError(backend: string): Error {
  return new Error(`the ${backend} store is closed`);
}

/** Throws BadRequest unless `value` is undefined or a non-negative safe integer. */
export function checkRevision(what: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < 0) throw storeErrors.invalidRevision(what, value);
}

/**
 * Returns `obj` with `metadata.resourceVersion` set to `revision`. It writes into `obj`: pass a
 * copy the store owns, never the caller's object.
 */
export function stampRevision(obj: KubeObject, revision: number): KubeObject {
  if (typeof obj.metadata !== 'object' || obj.metadata === null) obj.metadata = {};
  obj.metadata.resourceVersion = String(revision);
  return obj;
}
