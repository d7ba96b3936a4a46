/**
 * Webhook matching (rules, scopes, subresources, selectors), defaults, and how answers are read,
 * without any network: the calls themselves are exercised end to end in test/webhooks.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import type { AdmissionRequest } from './admission.ts';
import type { ResourceType } from '../api/resource-type.ts';
import {
  admissionReviewRequest, denialError, isExemptFromWebhooks, namespaceSelectorMatches, objectSelectorMatches,
  parseAdmissionResponse, ruleMatches, rulesMatch, webhooksOf, type RuleAttributes, type WebhookRule,
} from './webhook-admission.ts';

type TypeInfo = RuleAttributes['type'];
const pods: TypeInfo = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };
const nodes: TypeInfo = { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false };
const namespaces: TypeInfo = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };
const deployments: TypeInfo = { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true };

const rule = (overrides: Partial<WebhookRule> = {}): WebhookRule => ({
  operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], scope: '*', ...overrides,
});
const on = (type: TypeInfo, operation: AdmissionRequest['operation'] = 'CREATE', subresource?: string): RuleAttributes => ({ type, operation, subresource });

const object = (labels?: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', ...(labels ? { labels } : {}) } });

function config(webhooks: unknown[], name = 'cfg'): KubeObject {
  return { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name }, webhooks } as KubeObject;
}

describe('webhook rules', () => {
  it('match on operation, group and version, with * as a wildcard', () => {
    assert.ok(ruleMatches(rule({ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }), on(pods)));
    assert.ok(!ruleMatches(rule({ operations: ['UPDATE'], resources: ['pods'] }), on(pods)));
    assert.ok(ruleMatches(rule({ operations: ['CREATE', 'UPDATE'], resources: ['pods'] }), on(pods, 'UPDATE')));
    assert.ok(!ruleMatches(rule({ apiGroups: ['apps'] }), on(pods)));
    assert.ok(ruleMatches(rule({ apiGroups: ['apps'] }), on(deployments)));
    assert.ok(!ruleMatches(rule({ apiVersions: ['v1beta1'] }), on(deployments)));
    assert.ok(!ruleMatches(rule({ operations: [] }), on(pods)), 'an empty list matches nothing');
  });

  it('match resources and subresources as upstream does', () => {
    assert.ok(ruleMatches(rule({ resources: ['pods'] }), on(pods)));
    assert.ok(!ruleMatches(rule({ resources: ['pods'] }), on(pods, 'UPDATE', 'status')), '`pods` is not pods/status');
    assert.ok(ruleMatches(rule({ resources: ['pods/status'] }), on(pods, 'UPDATE', 'status')));
    assert.ok(!ruleMatches(rule({ resources: ['pods/status'] }), on(pods, 'UPDATE')), '`pods/status` is not the pod itself');
    assert.ok(ruleMatches(rule({ resources: ['pods/*'] }), on(pods, 'UPDATE', 'status')));
    assert.ok(ruleMatches(rule({ resources: ['pods/*'] }), on(pods)), '`pods/*` includes the pod itself');
    assert.ok(ruleMatches(rule({ resources: ['*'] }), on(deployments)));
    assert.ok(!ruleMatches(rule({ resources: ['*'] }), on(pods, 'UPDATE', 'status')), '`*` covers no subresource');
    assert.ok(ruleMatches(rule({ resources: ['*/*'] }), on(pods, 'UPDATE', 'status')));
    assert.ok(ruleMatches(rule({ resources: ['*/status'] }), on(deployments, 'UPDATE', 'status')));
    assert.ok(!ruleMatches(rule({ resources: ['deployments'] }), on(pods)));
  });

  it('match scope; a Namespace is cluster-scoped', () => {
    assert.ok(ruleMatches(rule({ scope: 'Namespaced' }), on(pods)));
    assert.ok(!ruleMatches(rule({ scope: 'Namespaced' }), on(nodes)));
    assert.ok(!ruleMatches(rule({ scope: 'Namespaced' }), on(namespaces)));
    assert.ok(ruleMatches(rule({ scope: 'Cluster' }), on(nodes)));
    assert.ok(ruleMatches(rule({ scope: 'Cluster' }), on(namespaces)));
    assert.ok(!ruleMatches(rule({ scope: 'Cluster' }), on(pods)));
    assert.ok(ruleMatches(rule({ scope: '*' }), on(nodes)));
  });

  it('any one rule of a webhook is enough', () => {
    const hook = { rules: [rule({ resources: ['nodes'] }), rule({ resources: ['pods'], operations: ['DELETE'] })] };
    assert.ok(rulesMatch(hook, on(pods, 'DELETE')));
    assert.ok(!rulesMatch(hook, on(pods, 'CREATE')));
    assert.ok(!rulesMatch({ rules: [] }, on(pods)), 'no rules, no calls');
  });

  it('leave the admission configuration kinds alone', () => {
    assert.ok(isExemptFromWebhooks({ group: 'admissionregistration.k8s.io', plural: 'validatingwebhookconfigurations' }));
    assert.ok(isExemptFromWebhooks({ group: 'admissionregistration.k8s.io', plural: 'mutatingwebhookconfigurations' }));
    assert.ok(!isExemptFromWebhooks({ group: '', plural: 'configmaps' }));
  });
});

describe('webhook selectors', () => {
  const [hook] = webhooksOf(config([{
    name: 'a.example.com',
    objectSelector: { matchLabels: { team: 'a' } },
    namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system'] }] },
  }]), 'validating');

  it('objectSelector selects when the new or the old object carries the labels', () => {
    assert.ok(objectSelectorMatches(hook!, { object: object({ team: 'a' }), oldObject: undefined }));
    assert.ok(objectSelectorMatches(hook!, { object: object({ team: 'b' }), oldObject: object({ team: 'a' }) }), 'losing the label is still seen');
    assert.ok(objectSelectorMatches(hook!, { object: undefined, oldObject: object({ team: 'a' }) }), 'a delete is matched on the old object');
    assert.ok(!objectSelectorMatches(hook!, { object: object({ team: 'b' }), oldObject: object() }));
    assert.ok(!objectSelectorMatches(hook!, { object: object(), oldObject: undefined }));
    const [all] = webhooksOf(config([{ name: 'b.example.com' }]), 'validating');
    assert.ok(objectSelectorMatches(all!, { object: object(), oldObject: undefined }), 'no selector selects everything');
  });

  it('namespaceSelector reads the namespace labels, and passes cluster-scoped kinds other than Namespace', () => {
    assert.ok(namespaceSelectorMatches(hook!, on(pods), { 'kubernetes.io/metadata.name': 'default' }));
    assert.ok(!namespaceSelectorMatches(hook!, on(pods), { 'kubernetes.io/metadata.name': 'kube-system' }));
    assert.ok(namespaceSelectorMatches(hook!, on(nodes), undefined), 'nodes are never exempted by namespace');
    assert.ok(!namespaceSelectorMatches(hook!, on(namespaces), { 'kubernetes.io/metadata.name': 'kube-system' }), 'a Namespace is matched on its own labels');
    const [inOnly] = webhooksOf(config([{ name: 'c.example.com', namespaceSelector: { matchLabels: { env: 'prod' } } }]), 'validating');
    assert.ok(!namespaceSelectorMatches(inOnly!, on(pods), undefined), 'a namespace without labels is not selected by matchLabels');
  });
});

describe('webhook declarations', () => {
  it('get the v1 defaults, and timeouts are kept within 1..30 s', () => {
    const caPem = '-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n';
    const hooks = webhooksOf(config([
      { name: 'd.example.com', clientConfig: { url: 'https://hooks.example.com/x', caBundle: Buffer.from(caPem).toString('base64') }, sideEffects: 'None', admissionReviewVersions: ['v1'] },
      { name: 'e.example.com', clientConfig: { service: { namespace: 'web', name: 'hook' } }, timeoutSeconds: 90, failurePolicy: 'Ignore', reinvocationPolicy: 'IfNeeded', matchPolicy: 'Exact', rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }] },
      { name: 'f.example.com', timeoutSeconds: 0 },
    ], 'z-config'), 'mutating');
    const [d, e, f] = hooks;
    assert.equal(d!.configuration, 'z-config');
    assert.equal(d!.phase, 'mutating');
    assert.equal(d!.failurePolicy, 'Fail');
    assert.equal(d!.matchPolicy, 'Equivalent');
    assert.equal(d!.timeoutSeconds, 10);
    assert.equal(d!.reinvocationPolicy, 'Never');
    assert.equal(d!.clientConfig.caPem, caPem);
    assert.equal(d!.clientConfig.url, 'https://hooks.example.com/x');
    assert.deepEqual(e!.clientConfig.service, { namespace: 'web', name: 'hook', port: 443 });
    assert.equal(e!.timeoutSeconds, 30);
    assert.equal(e!.failurePolicy, 'Ignore');
    assert.equal(e!.reinvocationPolicy, 'IfNeeded');
    assert.deepEqual(e!.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    assert.equal(f!.timeoutSeconds, 1);
    assert.equal(f!.sideEffects, 'Unknown', 'an undeclared side effect is assumed possible');
  });
});

describe('webhook answers', () => {
  const uid = '8c3e6f0a-1111-4222-8333-944455556666';
  const review = (response: Record<string, unknown>) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...response } });

  it('are accepted when well formed', () => {
    const patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }])).toString('base64');
    assert.deepEqual(parseAdmissionResponse(review({ allowed: true, patch, patchType: 'JSONPatch', warnings: ['careful'] }), uid, 'mutating'),
      { uid, allowed: true, patch, patchType: 'JSONPatch', warnings: ['careful'] });
    assert.deepEqual(parseAdmissionResponse(review({ allowed: false, status: { code: 422, message: 'no' } }), uid, 'validating'),
      { uid, allowed: false, status: { code: 422, message: 'no' } });
  });

  it('are refused, naming the problem, when malformed', () => {
    const bad: Array<[unknown, RegExp, 'mutating' | 'validating']> = [
      ['nope', /not a JSON object/, 'mutating'],
      [{ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', response: { uid, allowed: true } }, /expected webhook response of admission\.k8s\.io\/v1/, 'mutating'],
      [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, /response was absent/, 'mutating'],
      [review({ uid: 'other', allowed: true }), /expected response\.uid="8c3e/, 'mutating'],
      [review({}), /allowed is missing/, 'mutating'],
      [review({ allowed: true, patch: 'W10=' }), /not response\.patchType/, 'mutating'],
      [review({ allowed: true, patchType: 'JSONPatch' }), /patchType but not response\.patch/, 'mutating'],
      [review({ allowed: true, patch: 'W10=', patchType: 'MergePatch' }), /invalid response\.patchType of "MergePatch"/, 'mutating'],
      [review({ allowed: true, patch: 'W10=', patchType: 'JSONPatch' }), /validating webhook may not return response\.patch/, 'validating'],
    ];
    for (const [body, message, phase] of bad) {
      assert.throws(() => parseAdmissionResponse(body, uid, phase), message, JSON.stringify(body));
    }
  });

  it('that deny become errors with the webhook\'s code and message', () => {
    const plain = denialError('deny.example.com', { message: 'not today' });
    assert.ok(plain instanceof StatusError);
    assert.equal(plain.code, 403);
    assert.equal(plain.reason, 'Forbidden');
    assert.equal(plain.message, 'admission webhook "deny.example.com" denied the request: not today');
    const invalid = denialError('deny.example.com', { code: 422, reason: 'Invalid', message: 'bad field' });
    assert.equal(invalid.code, 422);
    assert.equal(invalid.reason, 'Invalid');
    assert.equal(denialError('deny.example.com', { code: 200 }).code, 403, 'a rejection is never below 400');
    assert.equal(denialError('deny.example.com', { code: 418 }).toStatus().code, 418, 'an unusual code is kept');
    assert.equal(denialError('deny.example.com', undefined).message, 'admission webhook "deny.example.com" denied the request without explanation');
    assert.equal(denialError('deny.example.com', { reason: 'Quota' }).message, 'admission webhook "deny.example.com" denied the request: Quota');
  });
});

describe('AdmissionReview requests', () => {
  it('carry what kube-apiserver sends', () => {
    const type = { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true } as ResourceType;
    const obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' } } as KubeObject;
    const old = { ...obj, metadata: { ...obj.metadata, resourceVersion: '4' } } as KubeObject;
    const body = admissionReviewRequest({
      operation: 'UPDATE', type, namespace: 'shop', name: 'web', subresource: 'status', object: obj, oldObject: old,
      user: { username: 'ann', groups: ['dev'] }, dryRun: true,
    }, 'u-1');
    assert.deepEqual(body, {
      uid: 'u-1',
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      resource: { group: 'apps', version: 'v1', resource: 'deployments' },
      subResource: 'status',
      requestKind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      requestResource: { group: 'apps', version: 'v1', resource: 'deployments' },
      requestSubResource: 'status',
      name: 'web',
      namespace: 'shop',
      operation: 'UPDATE',
      userInfo: { username: 'ann', groups: ['dev'] },
      object: obj,
      oldObject: old,
      dryRun: true,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions', dryRun: ['All'] },
    });
  });
});
