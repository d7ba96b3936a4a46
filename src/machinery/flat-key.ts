/**
 * Keys that live as long as the objects they name (store keys, cache keys) are built here.
 * A `+` or a template literal of 13 characters or more makes V8 build a rope (a cons string),
 * which it flattens into a second, flat string the first time the key is hashed; a Map key then
 * holds both for as long as it lives. `Array.prototype.join` writes the result flat at once.
 */
export function flatKey(parts: readonly string[], separator: string): string {
  return parts.join(separator);
}
