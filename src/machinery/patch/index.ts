/**
 * The patch machinery: JSON patch, JSON merge patch, strategic merge patch, and server-side
 * apply with managed fields. Pure functions over plain JSON; failures are StatusErrors.
 */
export { applyJsonPatch, parseJsonPatch, parseJsonPointer, maxJsonPatchOperations, type JsonPatchOperation } from './json-patch.ts';
export { applyMergePatch, applyObjectMergePatch } from './merge-patch.ts';
export { applyStrategicMergePatch } from './strategic-merge.ts';
export {
  emptyFieldSet,
  fieldSetFromPaths,
  fieldSetFromFieldsV1,
  fieldSetToFieldsV1,
  fieldSetPaths,
  formatFieldPath,
  hasFieldPath,
  intersectFieldSets,
  isEmptyFieldSet,
  subtractFieldSets,
  subtractFieldSubtrees,
  unionFieldSets,
  type FieldPath,
  type FieldSet,
} from './field-set.ts';
export { compareFields, fieldSetOf, removeFields, type FieldChanges } from './object-fields.ts';
export {
  decodeManagedFields,
  defaultFieldManager,
  describeManager,
  encodeManagedFields,
  mainResourceIgnoredFields,
  maxUpdateManagers,
  trackUpdate,
  unownedFields,
  type ManagedFieldsRecord,
  type TrackUpdateOptions,
} from './managed-fields.ts';
export { apply, applyConflictError, mergeApplied, type ApplyConflict, type ApplyOptions } from './apply.ts';
