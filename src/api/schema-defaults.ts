/**
 * Structural-schema defaulting, as Kubernetes does for custom resources: wherever the schema
 * gives a `default` for a property the object leaves out, the default is filled in. Defaults
 * inside a default are applied too, since the walk continues into what was just set.
 */
import { isPlainObject } from '../machinery/object.ts';

export function applySchemaDefaults(value: unknown, schema: unknown, depth = 0): void {
  if (!isPlainObject(schema) || depth > 64) return;
  if (isPlainObject(value) && isPlainObject(schema.properties)) {
    for (const [name, sub] of Object.entries(schema.properties)) {
      if (!isPlainObject(sub)) continue;
      if (value[name] === undefined && sub.default !== undefined) value[name] = structuredClone(sub.default);
      if (value[name] !== undefined) applySchemaDefaults(value[name], sub, depth + 1);
    }
  }
  if (isPlainObject(value) && isPlainObject(schema.additionalProperties)) {
    for (const item of Object.values(value)) applySchemaDefaults(item, schema.additionalProperties, depth + 1);
  }
  if (Array.isArray(value) && isPlainObject(schema.items)) {
    for (const item of value) applySchemaDefaults(item, schema.items, depth + 1);
  }
}
