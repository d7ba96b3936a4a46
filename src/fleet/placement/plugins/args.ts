/** Checks that a plugin's args hold only the keys it knows; throws naming the stray key. */
export function checkKeys(args: Record<string, unknown>, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(args)) {
    if (!allowed.includes(key)) throw new Error(`${where}: unknown field "${key}"${allowed.length ? `; known fields: ${allowed.join(', ')}` : '; it takes none'}`);
  }
}
