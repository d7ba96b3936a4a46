/**
 * JSON Merge Patch (RFC 7386), the `application/merge-patch+json` PATCH: an object patch merges
 * member by member, `null` deletes a member, and anything else (arrays included) replaces the
 * target wholesale. Pure: neither argument is changed and the result shares nothing with them.
 *
 * The RFC lets a patch be any JSON value; a resource patch must be an object, which the API
 * layer checks with `isPlainObject` before calling (or see `applyObjectMergePatch`).
 */
import { cloneJson, isPlainObject } from '../object.ts';
import { StatusError } from '../status-error.ts';

/** Applies an RFC 7386 merge patch to any JSON value and returns the result. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return cloneJson(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else if (value !== undefined) result[key] = applyMergePatch(result[key], value);
  }
  // Members the patch did not touch were copied by reference above; copy them now so the
  // result never aliases the input.
  for (const key of Object.keys(result)) {
    if (!Object.hasOwn(patch, key)) result[key] = cloneJson(result[key]);
  }
  return result;
}

/**
 * A merge patch of a resource: the patch must be a JSON object (a 400 otherwise), so the result
 * is an object too.
 */
export function applyObjectMergePatch<T extends object>(target: T, patch: unknown): T {
  if (!isPlainObject(patch)) {
    throw new StatusError('BadRequest', 'the merge patch must be a JSON object');
  }
  return applyMergePatch(target, patch) as T;
}
