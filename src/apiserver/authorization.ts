/**
 * Authorization: after a request's user is known, an `Authorizer` decides whether that user may
 * do what the request asks. The attributes are Kubernetes' (verb, API group, resource,
 * subresource, namespace, name; or a non-resource path), so a refusal reads as kube-apiserver's
 * does and kubectl prints it unchanged.
 *
 * The handler asks before it reads a request's body. Paths anyone may read without a token
 * (health, version, the discovery roots) are never asked about.
 */
import { StatusError } from '../machinery/status-error.ts';
import type { UserInfo } from './admission.ts';

/** A request on a resource: `verb` is get, list, watch, create, update, patch, delete or deletecollection. */
export interface ResourceAttributes {
  user: UserInfo;
  verb: string;
  /** The API group; '' for the core group. */
  group: string;
  /** The plural resource name (`configmaps`). */
  resource: string;
  subresource?: string;
  namespace?: string;
  /** Undefined for collections, and for a create (the name is in the body, read later). */
  name?: string;
}

/** A request on any other path (`/metrics`, `/openapi/v3`); the verb is the method in lower case. */
export interface NonResourceAttributes {
  user: UserInfo;
  verb: string;
  path: string;
}

export type RequestAttributes = ResourceAttributes | NonResourceAttributes;

export type Decision = { allowed: true } | { allowed: false; reason?: string };

/** What a user may do, in the shape of a SelfSubjectRulesReview's status. */
export interface SubjectRules {
  resourceRules: Array<{ verbs: string[]; apiGroups: string[]; resources: string[]; resourceNames?: string[] }>;
  nonResourceRules: Array<{ verbs: string[]; nonResourceURLs: string[] }>;
}

export interface Authorizer {
  authorize(attributes: RequestAttributes): Decision;
  /**
   * The rules that hold for `user` in `namespace`, for `kubectl auth can-i --list`. Without it,
   * a SelfSubjectRulesReview answers that its list is incomplete.
   */
  rulesFor?(user: UserInfo, namespace: string): SubjectRules;
}

/** Everything, on every path: the rules of a user nothing limits. */
export const unlimitedRules: SubjectRules = {
  resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
  nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
};

export function isResourceRequest(attributes: RequestAttributes): attributes is ResourceAttributes {
  return 'resource' in attributes;
}

/** Asks `authorizer` and throws a 403 Forbidden Status worded as kube-apiserver words it when refused. */
export function authorizeOrThrow(authorizer: Authorizer, attributes: RequestAttributes): void {
  const decision = authorizer.authorize(attributes);
  if (!decision.allowed) throw forbidden(attributes, decision.reason);
}

function forbidden(attributes: RequestAttributes, reason: string | undefined): StatusError {
  const user = JSON.stringify(attributes.user.username);
  const why = reason ? `: ${reason}` : '';
  if (!isResourceRequest(attributes)) {
    return new StatusError('Forbidden', `forbidden: User ${user} cannot ${attributes.verb} path ${JSON.stringify(attributes.path)}${why}`);
  }
  const { verb, group, resource, subresource, namespace, name } = attributes;
  const qualified = group ? `${resource}.${group}` : resource;
  const what = subresource ? `${resource}/${subresource}` : resource;
  const scope = namespace !== undefined ? `in the namespace ${JSON.stringify(namespace)}` : 'at the cluster scope';
  const subject = name !== undefined ? `${qualified} ${JSON.stringify(name)}` : qualified;
  return new StatusError(
    'Forbidden',
    `${subject} is forbidden: User ${user} cannot ${verb} resource ${JSON.stringify(what)} in API group ${JSON.stringify(group)} ${scope}${why}`,
    { group, kind: resource, ...(name !== undefined ? { name } : {}) },
  );
}

/** The verb of a request on a resource, from its method, whether it names an object, and `?watch`. */
export function resourceVerb(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return named ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}
