/**
 * A ResourceType is everything the API server needs to serve one kind: its names for discovery,
 * its scope, its schema (validation, OpenAPI, unknown-field detection and merge semantics),
 * defaults, printer columns and subresources. Built-in Kubernetes kinds, Nephele's own kinds and
 * kinds registered through CustomResourceDefinitions are all described by this one shape, so the
 * request path has no special cases per kind beyond the optional hooks below.
 */
import type { KubeObject } from '../machinery/object.ts';
import type { StatusCause } from '../machinery/status-error.ts';
import { flatKey } from '../machinery/flat-key.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  /** A Kubernetes JSONPath without braces, e.g. `.status.readyReplicas`. */
  jsonPath: string;
  description?: string;
  format?: string;
  /** 0 shows in `kubectl get`; higher shows only with `-o wide`. */
  priority?: number;
  /** Computes the cell when a JSONPath cannot (counts, joined lists); wins over `jsonPath`. */
  value?: (obj: KubeObject) => unknown;
}

export interface ScaleSubresource {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/**
 * A subresource that is an action rather than a view of the object: a POST of another kind
 * (pods/binding takes a Binding, pods/eviction an Eviction). The type only declares it, for
 * discovery; whoever serves the kind registers what it does with `ApiHandler.addAction`.
 */
export interface ActionSubresource {
  name: string;
  /** The kind the POST body carries and the response is (`policy/v1` Eviction). */
  kind: { group: string; version: string; kind: string };
}

/** OpenAPI v3 component schemas for a kind, and the name of the kind's own schema among them. */
export interface ResourceSchema {
  /** Component schema name of the kind (e.g. `io.k8s.api.apps.v1.Deployment`). */
  root: string;
  /** Every component schema the root refers to, by name. */
  components: Record<string, object>;
}

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** Lower-case plural used in URLs (`deployments`). */
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  schema: ResourceSchema;
  printerColumns: PrinterColumn[];
  subresources: { status: boolean; scale?: ScaleSubresource; actions?: ActionSubresource[] };
  /**
   * A review (SelfSubjectAccessReview, SelfSubjectReview): the only verb is create, whose answer
   * the API server computes from the request; nothing is stored.
   */
  review?: boolean;
  /** With a status subresource, keep the status a create carries instead of dropping it (Kubernetes does so for Nodes). */
  statusOnCreate?: boolean;
  /** Field selector labels beyond `metadata.name` and `metadata.namespace`, with their readers. */
  fieldLabels: Record<string, (obj: KubeObject) => string | undefined>;
  /** Schema validation of the whole object: one cause per problem, field paths dotted. */
  validate(obj: KubeObject): StatusCause[];
  /** Fills defaults in place (called on create and update, before validation). */
  applyDefaults?(obj: KubeObject): void;
  /** Checks beyond the schema that need the previous state (immutable fields, for example). */
  validateUpdate?(obj: KubeObject, old: KubeObject): StatusCause[];
  /** Where the kind's objects come from: `builtin`, `nephele` or `crd`. */
  origin: 'builtin' | 'nephele' | 'crd';
  /** Transforms applied on the way to and from the store (encryption at rest). */
  storageTransform?: {
    toStorage(obj: KubeObject): KubeObject;
    fromStorage(obj: KubeObject): KubeObject;
  };
}

export function apiVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

type TypeNames = Pick<ResourceType, 'group' | 'version' | 'kind'>;

/** True when `obj` already names `type`'s apiVersion and kind. */
export function namesType(type: TypeNames, obj: { apiVersion?: unknown; kind?: unknown }): boolean {
  return obj.apiVersion === apiVersionOf(type) && obj.kind === type.kind;
}

/** A shallow copy of `obj` naming `type`'s apiVersion and kind, as the API answers with it. */
export function withTypeMeta<T extends object>(type: TypeNames, obj: T): T & { apiVersion: string; kind: string } {
  return { ...obj, apiVersion: apiVersionOf(type), kind: type.kind };
}

/** The store key prefix under which objects of a type live. Namespaced types add `NS/` after it. */
export function storagePrefix(type: Pick<ResourceType, 'group' | 'plural'>): string {
  return `/registry/${type.group || 'core'}/${type.plural}/`;
}

export function storageKey(type: Pick<ResourceType, 'group' | 'plural' | 'namespaced'>, namespace: string | undefined, name: string): string {
  return type.namespaced ? flatKey([storagePrefix(type), String(namespace), '/', name], '') : flatKey([storagePrefix(type), name], '');
}
