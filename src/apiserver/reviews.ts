/**
 * The review kinds, which are created and answered but never stored: SelfSubjectAccessReview
 * (`kubectl auth can-i VERB RESOURCE`), SelfSubjectRulesReview (`kubectl auth can-i --list`) and
 * SelfSubjectReview (`kubectl auth whoami`). Each answers about the user who sends it, from the
 * handler's authorizer; with no authorizer every user may do anything, and the answers say so.
 */
import type { ResourceType } from '../api/resource-type.ts';
import { apiVersionOf } from '../api/resource-type.ts';
import { isPlainObject, type KubeObject } from '../machinery/object.ts';
import { errors } from '../machinery/status-error.ts';
import type { UserInfo } from './admission.ts';
import { unlimitedRules, type Authorizer, type Decision, type RequestAttributes } from './authorization.ts';

/** The review `body` (already checked against its schema) with its status filled in for `user`. */
export function answerReview(type: ResourceType, body: Record<string, unknown>, user: UserInfo, authorizer: Authorizer | undefined): KubeObject {
  const spec = isPlainObject(body.spec) ? body.spec : {};
  const answer = (status: Record<string, unknown>): KubeObject => ({
    apiVersion: apiVersionOf(type),
    kind: type.kind,
    metadata: {},
    ...(type.kind === 'SelfSubjectReview' ? {} : { spec }),
    status,
  });
  switch (type.kind) {
    case 'SelfSubjectAccessReview': {
      const decision: Decision = authorizer ? authorizer.authorize(accessAttributes(type, spec, user)) : { allowed: true };
      return answer({ allowed: decision.allowed, ...(!decision.allowed && decision.reason ? { reason: decision.reason } : {}) });
    }
    case 'SelfSubjectRulesReview': {
      const namespace = typeof spec.namespace === 'string' ? spec.namespace : '';
      if (!authorizer) return answer({ ...unlimitedRules, incomplete: false });
      if (!authorizer.rulesFor) return answer({ resourceRules: [], nonResourceRules: [], incomplete: true, evaluationError: 'this server cannot list the rules of its authorizer' });
      return answer({ ...authorizer.rulesFor(user, namespace), incomplete: false });
    }
    case 'SelfSubjectReview':
      return answer({ userInfo: { username: user.username, groups: [...user.groups] } });
    default:
      throw new Error(`${type.kind} is not a review kind`);
  }
}

/** The request a SelfSubjectAccessReview asks about; exactly one of its two attribute sets must be given. */
function accessAttributes(type: ResourceType, spec: Record<string, unknown>, user: UserInfo): RequestAttributes {
  const resource = isPlainObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nonResource = isPlainObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  if ((resource === undefined) === (nonResource === undefined)) {
    throw errors.invalid(type.kind, type.group, '', [{
      reason: 'FieldValueRequired',
      field: 'spec.resourceAttributes',
      message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
    }]);
  }
  const text = (record: Record<string, unknown>, field: string): string => (typeof record[field] === 'string' ? record[field] : '');
  if (nonResource) return { user, verb: text(nonResource, 'verb'), path: text(nonResource, 'path') };
  const r = resource!;
  return {
    user,
    verb: text(r, 'verb'),
    group: text(r, 'group'),
    resource: text(r, 'resource'),
    ...(text(r, 'subresource') ? { subresource: text(r, 'subresource') } : {}),
    ...(text(r, 'namespace') ? { namespace: text(r, 'namespace') } : {}),
    ...(text(r, 'name') ? { name: text(r, 'name') } : {}),
  };
}
