import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBuiltinKind, validateBuiltin } from './validate.ts';
import { supportedBuiltinKinds } from './kinds.ts';

/** A fresh valid Deployment, changed by `edit` before it is returned. */
function makeDeployment(edit: (d: any) => void = () => {}): Record<string, unknown> {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { 'app.kubernetes.io/name': 'web' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'nginx:1.27',
              ports: [{ containerPort: 80, protocol: 'TCP' }],
              resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: 0.25 } },
              readinessProbe: { httpGet: { path: '/', port: 'http' } },
            },
          ],
        },
      },
    },
  };
  edit(deployment);
  return deployment;
}

const container = (d: any): any => d.spec.template.spec.containers[0];

test('a valid Deployment passes', () => {
  assert.deepEqual(validateBuiltin('apps/v1', 'Deployment', makeDeployment()), []);
});

test('replicas of the wrong type is one type error at spec.replicas', () => {
  const causes = validateBuiltin('apps/v1', 'Deployment', makeDeployment((d) => (d.spec.replicas = 'three')));
  assert.deepEqual(causes, [
    {
      field: 'spec.replicas',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    },
  ]);
});

test('a container without a name is a required value at its path', () => {
  const causes = validateBuiltin('apps/v1', 'Deployment', makeDeployment((d) => delete container(d).name));
  assert.deepEqual(causes, [{ field: 'spec.template.spec.containers[0].name', reason: 'FieldValueRequired', message: 'Required value' }]);
});

test('quantities accept numbers and quantity strings', () => {
  for (const cpu of [1, '500m', '1.5', '2Gi', 0.5]) {
    const causes = validateBuiltin('apps/v1', 'Deployment', makeDeployment((d) => (container(d).resources.limits.cpu = cpu)));
    assert.deepEqual(causes, [], `cpu: ${JSON.stringify(cpu)}`);
  }
});

test('a malformed quantity is one cause naming the quantity syntax', () => {
  const causes = validateBuiltin('apps/v1', 'Deployment', makeDeployment((d) => (container(d).resources.limits.cpu = 'lots')));
  assert.equal(causes.length, 1);
  assert.equal(causes[0]?.field, 'spec.template.spec.containers[0].resources.limits[cpu]');
  assert.equal(causes[0]?.reason, 'FieldValueInvalid');
  assert.match(causes[0]?.message ?? '', /^Invalid value: "lots": quantities must match the regular expression/);
});

test('a quantity of the wrong type is one type error listing both accepted types', () => {
  const causes = validateBuiltin('apps/v1', 'Deployment', makeDeployment((d) => (container(d).resources.requests.cpu = true)));
  assert.equal(causes.length, 1);
  assert.equal(causes[0]?.reason, 'FieldValueTypeInvalid');
  assert.match(causes[0]?.message ?? '', /must be of type number or string: "boolean"$/);
});

test('an int-or-string of the wrong type is one cause, not one per branch', () => {
  const causes = validateBuiltin('apps/v1', 'Deployment', makeDeployment((d) => (container(d).readinessProbe.httpGet.port = { name: 'http' })));
  assert.deepEqual(causes, [
    {
      field: 'spec.template.spec.containers[0].readinessProbe.httpGet.port',
      reason: 'FieldValueTypeInvalid',
      message: 'Invalid value: "object": spec.template.spec.containers[0].readinessProbe.httpGet.port in body must be of type integer or string: "object"',
    },
  ]);
});

test('a value outside an enum is not supported, listing the supported values', () => {
  const causes = validateBuiltin('apps/v1', 'Deployment', makeDeployment((d) => (container(d).ports[0].protocol = 'HTTP')));
  assert.deepEqual(causes, [
    {
      field: 'spec.template.spec.containers[0].ports[0].protocol',
      reason: 'FieldValueNotSupported',
      message: 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    },
  ]);
});

test('map keys are bracketed in field paths', () => {
  const causes = validateBuiltin('apps/v1', 'Deployment', makeDeployment((d) => (d.metadata.labels['app.kubernetes.io/name'] = 7)));
  assert.equal(causes[0]?.field, 'metadata.labels[app.kubernetes.io/name]');
});

test('several errors are all reported, in document order', () => {
  const causes = validateBuiltin(
    'apps/v1',
    'Deployment',
    makeDeployment((d) => {
      d.spec.replicas = -1.5;
      container(d).image = 42;
      d.spec.template.spec.containers.push({ image: 'sidecar' });
    }),
  );
  assert.deepEqual(
    causes.map((c) => `${c.field} ${c.reason}`),
    [
      'spec.replicas FieldValueTypeInvalid',
      'spec.template.spec.containers[0].image FieldValueTypeInvalid',
      'spec.template.spec.containers[1].name FieldValueRequired',
    ],
  );
});

test('apiVersion and kind default to the ones asked for; a different one is reported', () => {
  const bare = makeDeployment((d) => {
    delete d.apiVersion;
    delete d.kind;
  });
  assert.deepEqual(validateBuiltin('apps/v1', 'Deployment', bare), []);
  const causes = validateBuiltin('apps/v1', 'Deployment', makeDeployment((d) => (d.apiVersion = 'apps/v1beta2')));
  assert.deepEqual(causes, [{ field: 'apiVersion', reason: 'FieldValueNotSupported', message: 'Unsupported value: "apps/v1beta2": supported values: "apps/v1"' }]);
});

test('a body that is not an object is a type error', () => {
  assert.deepEqual(validateBuiltin('v1', 'ConfigMap', ['a']), [
    { field: '', reason: 'FieldValueTypeInvalid', message: 'Invalid value: "array": body must be of type object: "array"' },
  ]);
});

test('every supported kind accepts a minimal valid object', () => {
  const minimal: Record<string, Record<string, unknown>> = {
    Namespace: {},
    ConfigMap: { data: { 'app.conf': 'x=1' } },
    Secret: { type: 'Opaque', data: { password: 'aHVudGVyMg==' }, stringData: { user: 'admin' } },
    Service: { spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } },
    Event: { involvedObject: { kind: 'Pod', name: 'web-0' }, reason: 'Started', eventTime: '2024-05-01T12:00:00.000000Z' },
    Deployment: {},
    StatefulSet: { spec: { selector: {}, serviceName: 'web', template: { spec: { containers: [{ name: 'web' }] } } } },
    DaemonSet: { spec: { selector: {}, template: {} } },
    Job: { spec: { template: { spec: { containers: [{ name: 'run' }], restartPolicy: 'Never' } } } },
    Lease: { spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } },
    CustomResourceDefinition: {
      spec: {
        group: 'example.com',
        names: { kind: 'Widget', plural: 'widgets' },
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    },
    SelfSubjectAccessReview: { spec: { resourceAttributes: { verb: 'list', resource: 'secrets' } } },
    SelfSubjectRulesReview: { spec: { namespace: 'default' } },
    SelfSubjectReview: {},
  };
  for (const { apiVersion, kind } of supportedBuiltinKinds) {
    const obj = { metadata: { name: 'x' }, ...minimal[kind] };
    assert.deepEqual(validateBuiltin(apiVersion, kind, obj), [], `${apiVersion} ${kind}`);
  }
});

test('supported kinds are listed, and others are refused', () => {
  assert.equal(supportedBuiltinKinds.length, 23);
  assert.ok(supportedBuiltinKinds.some((k) => k.apiVersion === 'policy/v1' && k.kind === 'PodDisruptionBudget'));
  assert.ok(supportedBuiltinKinds.some((k) => k.apiVersion === 'coordination.k8s.io/v1' && k.kind === 'Lease'));
  assert.ok(supportedBuiltinKinds.some((k) => k.apiVersion === 'admissionregistration.k8s.io/v1' && k.kind === 'MutatingWebhookConfiguration'));
  assert.ok(isBuiltinKind('v1', 'Secret'));
  assert.ok(isBuiltinKind('v1', 'Pod'));
  assert.ok(!isBuiltinKind('v1', 'PersistentVolume'));
  assert.throws(() => validateBuiltin('v1', 'PersistentVolume', {}), /not a built-in kind/);
});

test('member-cluster kinds: a Pod needs named containers, a PriorityClass an integer value', () => {
  assert.deepEqual(validateBuiltin('v1', 'Pod', { metadata: { name: 'p' }, spec: {} }), [{ field: 'spec.containers', reason: 'FieldValueRequired', message: 'Required value' }]);
  assert.deepEqual(validateBuiltin('v1', 'Pod', { metadata: { name: 'p' }, spec: { containers: [{}] } }), [{ field: 'spec.containers[0].name', reason: 'FieldValueRequired', message: 'Required value' }]);
  // kubernetes-models' validator does not mark PriorityClass.value required (upstream does); its type is checked.
  assert.deepEqual(validateBuiltin('scheduling.k8s.io/v1', 'PriorityClass', { metadata: { name: 'pc' }, value: 'high' }).map((c) => `${c.field} ${c.reason}`), ['value FieldValueTypeInvalid']);
  assert.deepEqual(validateBuiltin('v1', 'Node', { metadata: { name: 'n' }, status: { capacity: { cpu: '4', memory: '8Gi' } } }), []);
});
