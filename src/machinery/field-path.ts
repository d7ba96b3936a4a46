/**
 * Dotted field paths as Kubernetes prints them (`.spec.template.spec.containers[0].image`):
 * parsing, and removing the field a path names. Used to prune unknown fields after reporting them.
 */
import { isPlainObject } from './object.ts';

export type PathSegment = string | number;

/** Parses `.a.b[2].c` (a leading dot is optional) into `['a', 'b', 2, 'c']`. */
export function parseFieldPath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  const pattern = /\.?([^.[\]]+)|\[(\d+)\]/g;
  for (const match of path.matchAll(pattern)) {
    if (match[2] !== undefined) segments.push(Number(match[2]));
    else segments.push(match[1]!);
  }
  return segments;
}

/** Removes the field at `path` from `root` in place; a path that does not exist is ignored. */
export function deleteFieldPath(root: unknown, path: PathSegment[]): void {
  let current: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    const segment = path[i]!;
    if (typeof segment === 'number') current = Array.isArray(current) ? current[segment] : undefined;
    else current = isPlainObject(current) ? current[segment] : undefined;
    if (current === undefined) return;
  }
  const last = path[path.length - 1];
  if (last !== undefined && isPlainObject(current) && typeof last === 'string') delete current[last];
}

/** Reads the value at `.a.b` style path, or undefined. */
export function readFieldPath(root: unknown, path: string): unknown {
  let current: unknown = root;
  for (const segment of parseFieldPath(path)) {
    if (typeof segment === 'number') current = Array.isArray(current) ? current[segment] : undefined;
    else current = isPlainObject(current) ? current[segment] : undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

/** Sets the value at `.a.b` style path, creating objects on the way. */
export function writeFieldPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const segments = parseFieldPath(path).map(String);
  let current: Record<string, unknown> = root;
  for (const segment of segments.slice(0, -1)) {
    if (!isPlainObject(current[segment])) current[segment] = {};
    current = current[segment] as Record<string, unknown>;
  }
  current[segments[segments.length - 1]!] = value;
}
