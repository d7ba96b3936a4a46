/**
 * Stable hashes of pod templates, as the workload controllers label their pods with
 * (`controller-revision-hash`). The same template always gives the same hash, whatever the
 * order of its keys; any change to it gives another. Kubernetes hashes the template with FNV
 * and a collision count stored in ControllerRevisions; the simulator keeps no ControllerRevisions,
 * so the hash is of the template alone.
 */
import { createHash } from 'node:crypto';

/** The characters Kubernetes uses for hashes in names (no vowels, so no words; no look-alikes). */
const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** A ten-character, name-safe hash of `template`. */
export function templateHash(template: unknown): string {
  const digest = createHash('sha256').update(canonicalJson(template)).digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += safeAlphabet[digest[i]! % safeAlphabet.length];
  return out;
}

/** JSON with object keys sorted at every level, so equal values always serialise alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
