/**
 * The built-in Kubernetes kinds the hub serves: which they are, their published OpenAPI v3 schemas,
 * and schema validation with Kubernetes-style causes.
 */
export { apiVersionOf, builtinKinds, supportedBuiltinKinds, type BuiltinKind } from './kinds.ts';
export { builtinOpenAPI, schemaRefPrefix, type BuiltinOpenAPI, type GroupVersionKind } from './openapi.ts';
export { isBuiltinKind, validateBuiltin, type FieldCause, type FieldErrorReason } from './validate.ts';
