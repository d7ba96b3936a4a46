/**
 * Checks for plugin args: each throws an Error whose message names the field and what it takes,
 * so a bad configuration file says exactly what to fix.
 */
export function checkKeys(args: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) {
      throw new Error(`${where}: unknown field "${key}"${allowed.length ? `; known fields: ${allowed.join(', ')}` : '; this plugin takes no args'}`);
    }
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function recordArg(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (!isRecord(v)) throw new Error(`${where}: must be an object`);
  return v;
}

export function numberArg(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw new Error(`${where}: must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}
