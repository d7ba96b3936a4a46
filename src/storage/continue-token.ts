/**
 * Continue tokens: where a paged list stopped. A token is opaque to clients (base64url JSON) and
 * holds the last key returned and the revision of the first page, so every page of one list
 * reports the same revision and a watch from it misses nothing the pages did not show.
 */
import { storeErrors } from './store-errors.ts';

export interface ContinuePosition {
  /** The last key the previous page returned; the next page starts after it. */
  key: string;
  /** The revision the first page reflected. */
  revision: number;
}

export function encodeContinue(position: ContinuePosition): string {
  return Buffer.from(JSON.stringify({ k: position.key, r: position.revision }), 'utf8').toString('base64url');
}

/**
 * Reads a token a list under `prefix` returned. Anything else (garbage, a token of a list under
 * another prefix) is BadRequest "invalid continue token": it is a client mistake, never a 500.
 */
export function decodeContinue(token: string, prefix: string): ContinuePosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw storeErrors.invalidContinue();
  }
  if (typeof parsed !== 'object' || parsed === null) throw storeErrors.invalidContinue();
  const { k, r } = parsed as { k?: unknown; r?: unknown };
  if (typeof k !== 'string' || !k.startsWith(prefix)) throw storeErrors.invalidContinue();
  if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 0) throw storeErrors.invalidContinue();
  return { key: k, revision: r };
}
