/**
 * JSON Patch (RFC 6902) over JSON Pointers (RFC 6901), as `application/json-patch+json` PATCH
 * requests use it. Written here rather than taken from a library because every failure must be a
 * Kubernetes Status a person can act on, naming the operation and the path, and the input must
 * never be mutated (it may be a cached object).
 *
 * A malformed patch document (not a list, unknown op, missing `path`/`value`/`from`, a pointer
 * that does not start with `/`) is a 400 BadRequest. A well-formed operation that cannot be
 * applied to this object (a missing path, an index out of range, a failed `test`) is a 422
 * Invalid, which is what kube-apiserver answers for JSON patches it cannot apply.
 */
import { cloneJson, isPlainObject, jsonEqual } from '../object.ts';
import { StatusError } from '../status-error.ts';

export type JsonPatchOperation =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'move'; from: string; path: string }
  | { op: 'copy'; from: string; path: string }
  | { op: 'test'; path: string; value: unknown };

/** kube-apiserver refuses JSON patches with more operations than this. */
export const maxJsonPatchOperations = 10000;

const operationNames = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/**
 * Parses and validates a JSON patch document (already decoded from JSON). Throws a 400 for
 * anything that is not a list of well-formed operations, and a 413 past `maxJsonPatchOperations`.
 */
export function parseJsonPatch(document: unknown): JsonPatchOperation[] {
  if (!Array.isArray(document)) {
    throw new StatusError('BadRequest', 'the JSON patch must be a list of operations');
  }
  if (document.length > maxJsonPatchOperations) {
    throw new StatusError('RequestEntityTooLarge', `The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${document.length}`);
  }
  return document.map((raw, index) => parseOperation(raw, index));
}

function parseOperation(raw: unknown, index: number): JsonPatchOperation {
  const where = `the JSON patch operation at index ${index}`;
  if (!isPlainObject(raw)) throw new StatusError('BadRequest', `${where} must be an object`);
  const op = raw.op;
  if (typeof op !== 'string' || !operationNames.has(op)) {
    throw new StatusError('BadRequest', `${where} has ${op === undefined ? 'no "op"' : `unknown op ${JSON.stringify(op)}`}: expected one of add, remove, replace, move, copy, test`);
  }
  const path = raw.path;
  if (typeof path !== 'string') throw new StatusError('BadRequest', `${where} (op "${op}") is missing "path"`);
  parseJsonPointer(path, `the JSON patch op "${op}" at ${path}`);
  if (op === 'add' || op === 'replace' || op === 'test') {
    if (!Object.hasOwn(raw, 'value') || raw.value === undefined) throw new StatusError('BadRequest', `the JSON patch op "${op}" at ${path} is missing "value"`);
    return { op, path, value: raw.value };
  }
  if (op === 'move' || op === 'copy') {
    const from = raw.from;
    if (typeof from !== 'string') throw new StatusError('BadRequest', `the JSON patch op "${op}" at ${path} is missing "from"`);
    parseJsonPointer(from, `the JSON patch op "${op}" from ${from}`);
    return { op, from, path };
  }
  return { op: 'remove', path };
}

/**
 * Splits an RFC 6901 pointer into unescaped reference tokens: `""` is the whole document,
 * `/a~1b/c~0d` is `["a/b", "c~d"]`. Throws a 400 (prefixed with `context`) for a malformed pointer.
 */
export function parseJsonPointer(pointer: string, context = `the JSON pointer ${JSON.stringify(pointer)}`): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new StatusError('BadRequest', `${context}: a JSON pointer must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token)) throw new StatusError('BadRequest', `${context}: "~" must be followed by 0 or 1 in a JSON pointer`);
      return token.replaceAll('~1', '/').replaceAll('~0', '~');
    });
}

/**
 * Applies a JSON patch to a document and returns the result; neither argument is changed.
 * Operations apply in order and the patch is atomic: the first failure throws and nothing of
 * the partial result escapes.
 */
export function applyJsonPatch<T>(document: T, patch: unknown): T {
  const operations = parseJsonPatch(patch);
  const root: { doc: unknown } = { doc: cloneJson(document) };
  for (const operation of operations) applyOperation(root, operation);
  return root.doc as T;
}

function applyOperation(root: { doc: unknown }, operation: JsonPatchOperation): void {
  const describe = `the JSON patch op "${operation.op}" at ${operation.path}`;
  const path = parseJsonPointer(operation.path, describe);
  switch (operation.op) {
    case 'add':
      insert(root, path, cloneJson(operation.value), describe);
      return;
    case 'remove':
      if (path.length === 0) throw cannotApply(`${describe}: the whole document cannot be removed`);
      take(root, path, describe);
      return;
    case 'replace': {
      if (path.length === 0) {
        root.doc = cloneJson(operation.value);
        return;
      }
      const { container, token } = locateExisting(root, path, describe);
      if (Array.isArray(container)) container[Number(token)] = cloneJson(operation.value);
      else (container as Record<string, unknown>)[token] = cloneJson(operation.value);
      return;
    }
    case 'move': {
      const describeMove = `the JSON patch op "move" from ${operation.from} to ${operation.path}`;
      const from = parseJsonPointer(operation.from, describeMove);
      if (from.length < path.length && from.every((token, i) => token === path[i])) {
        throw cannotApply(`${describeMove}: a value cannot be moved into one of its own children`);
      }
      if (from.length === path.length && from.every((token, i) => token === path[i])) {
        read(root, from, describeMove, 'the "from" path');
        return;
      }
      const value = take(root, from, describeMove, 'the "from" path');
      insert(root, path, value, describeMove);
      return;
    }
    case 'copy': {
      const describeCopy = `the JSON patch op "copy" from ${operation.from} to ${operation.path}`;
      const value = read(root, parseJsonPointer(operation.from, describeCopy), describeCopy, 'the "from" path');
      insert(root, path, cloneJson(value), describeCopy);
      return;
    }
    case 'test': {
      const actual = read(root, path, describe);
      if (!jsonEqual(actual, operation.value)) {
        throw new StatusError('Invalid', `${describe}: test failed: the value is ${JSON.stringify(actual)}, not ${JSON.stringify(operation.value)}`);
      }
      return;
    }
  }
}

function cannotApply(message: string): StatusError {
  return new StatusError('Invalid', message);
}

/** The value at a path; throws when any step is missing. */
function read(root: { doc: unknown }, path: string[], describe: string, what = 'path'): unknown {
  let current = root.doc;
  for (const token of path) {
    if (Array.isArray(current)) {
      const index = arrayIndex(token, current.length, false, describe);
      current = current[index];
    } else if (isPlainObject(current) && Object.hasOwn(current, token)) {
      current = current[token];
    } else {
      throw cannotApply(`${describe}: ${what} does not exist`);
    }
  }
  return current;
}

/** The container holding the last token of a path that must already exist. */
function locateExisting(root: { doc: unknown }, path: string[], describe: string, what = 'path'): { container: unknown; token: string } {
  const container = read(root, path.slice(0, -1), describe, what);
  const token = path[path.length - 1]!;
  if (Array.isArray(container)) {
    return { container, token: String(arrayIndex(token, container.length, false, describe)) };
  }
  if (isPlainObject(container) && Object.hasOwn(container, token)) return { container, token };
  throw cannotApply(`${describe}: ${what} does not exist`);
}

/** Removes and returns the value at an existing, non-root path. */
function take(root: { doc: unknown }, path: string[], describe: string, what = 'path'): unknown {
  const { container, token } = locateExisting(root, path, describe, what);
  if (Array.isArray(container)) return container.splice(Number(token), 1)[0];
  const record = container as Record<string, unknown>;
  const value = record[token];
  delete record[token];
  return value;
}

/** The RFC 6902 `add`: sets an object member, or inserts into an array (`-` appends). */
function insert(root: { doc: unknown }, path: string[], value: unknown, describe: string): void {
  if (path.length === 0) {
    root.doc = value;
    return;
  }
  const parent = read(root, path.slice(0, -1), describe);
  const token = path[path.length - 1]!;
  if (Array.isArray(parent)) {
    const index = token === '-' ? parent.length : arrayIndex(token, parent.length, true, describe);
    parent.splice(index, 0, value);
  } else if (isPlainObject(parent)) {
    parent[token] = value;
  } else {
    throw cannotApply(`${describe}: the parent of the path is not an object or a list`);
  }
}

/** An RFC 6901 array index: digits without leading zeros, within bounds (`length` itself allowed when inserting). */
function arrayIndex(token: string, length: number, inserting: boolean, describe: string): number {
  if (token === '-') throw cannotApply(`${describe}: "-" (the end of the list) can only be the target of an add`);
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw cannotApply(`${describe}: "${token}" is not a valid list index`);
  const index = Number(token);
  if (index > length || (!inserting && index === length)) {
    throw cannotApply(`${describe}: index ${index} is out of bounds (the list has ${length} item${length === 1 ? '' : 's'})`);
  }
  return index;
}
