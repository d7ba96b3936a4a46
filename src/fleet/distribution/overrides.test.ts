import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../machinery/object.ts';
import { applyOverrides, overrideImage } from './overrides.ts';
import { choosePolicy } from './selectors.ts';

const deployment: KubeObject = {
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: { replicas: 10, template: { spec: { containers: [{ name: 'web', image: 'docker.io/library/nginx:1.27', args: ['--port=80'] }, { name: 'side', image: 'busybox' }] } } },
};
const cluster = (name: string, labels: Record<string, string>, region: string): KubeObject => ({ apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Cluster', metadata: { name, labels }, spec: { region, provider: 'aws' } });
const eu = cluster('eu-1', { env: 'prod' }, 'eu-west-1');
const us = cluster('us-1', { env: 'prod' }, 'us-east-1');

const policy = (name: string, namespace: string | undefined, rules: unknown[]): KubeObject => ({
  apiVersion: 'policy.nephele.dev/v1alpha1', kind: namespace ? 'OverridePolicy' : 'ClusterOverridePolicy',
  metadata: { name, ...(namespace ? { namespace } : {}) },
  spec: { resourceSelectors: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }], overrideRules: rules },
});

test('image overriders change one part of the reference', () => {
  assert.equal(overrideImage('docker.io/library/nginx:1.27', 'Registry', 'replace', 'registry.eu.example'), 'registry.eu.example/library/nginx:1.27');
  assert.equal(overrideImage('nginx:1.27', 'Tag', 'replace', '1.28'), 'nginx:1.28');
  assert.equal(overrideImage('nginx:1.27', 'Registry', 'add', 'mirror.local'), 'mirror.local/nginx:1.27');
  assert.equal(overrideImage('localhost:5000/app@sha256:abc', 'Repository', 'replace', 'other'), 'localhost:5000/other@sha256:abc');
  assert.equal(overrideImage('nginx:1.27', 'Tag', 'remove', undefined), 'nginx');
});

test('a rule applies only to the clusters its target matches', () => {
  const p = policy('eu-mirror', 'shop', [{ targetCluster: { fieldSelector: { matchExpressions: [{ key: 'region', operator: 'In', values: ['eu-west-1'] }] } }, overriders: { imageOverrider: [{ component: 'Registry', operator: 'replace', value: 'registry.eu.example', containerName: 'web' }] } }]);
  const onEu = applyOverrides(deployment, eu, [p]);
  const onUs = applyOverrides(deployment, us, [p]);
  const images = (m: KubeObject) => ((m.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers.map((c) => c.image));
  assert.deepEqual(images(onEu.manifest), ['registry.eu.example/library/nginx:1.27', 'busybox']);
  assert.deepEqual(images(onUs.manifest), ['docker.io/library/nginx:1.27', 'busybox']);
  assert.deepEqual(onEu.applied, [{ policy: 'shop/eu-mirror', rule: 0 }]);
  assert.deepEqual(onUs.applied, []);
  // The input is never changed.
  assert.equal(images(deployment)[0], 'docker.io/library/nginx:1.27');
});

test('overriders apply in the stated order, policies cluster-wide first then by name, and deterministically', () => {
  const namespaced = policy('b-ns', 'shop', [{ overriders: {
    plaintext: [{ path: '/spec/replicas', operator: 'replace', value: 3 }],
    replicasOverrider: 5,
    labelsOverrider: [{ operator: 'add', value: { tier: 'frontend' } }, { operator: 'remove', value: { app: '' } }],
    annotationsOverrider: [{ operator: 'addIfAbsent', value: { owner: 'team-a' } }],
    argsOverrider: [{ containerName: 'web', operator: 'add', value: ['--verbose'] }],
    commandOverrider: [{ containerName: 'side', operator: 'add', value: ['sleep', '3600'] }],
  } }]);
  const clusterWide = policy('z-global', undefined, [{ overriders: { annotationsOverrider: [{ operator: 'add', value: { owner: 'platform' } }] } }]);
  const first = applyOverrides(deployment, eu, [namespaced, clusterWide]);
  const again = applyOverrides(deployment, eu, [clusterWide, namespaced]);
  assert.deepEqual(first.manifest, again.manifest);
  const m = first.manifest as KubeObject & { spec: { replicas: number; template: { spec: { containers: Array<{ args?: string[]; command?: string[] }> } } } };
  // plaintext runs after replicasOverrider, so it wins.
  assert.equal(m.spec.replicas, 3);
  assert.deepEqual(m.metadata.labels, { tier: 'frontend' });
  // The cluster-wide policy ran first; addIfAbsent kept its value.
  assert.deepEqual(m.metadata.annotations, { owner: 'platform' });
  assert.deepEqual(m.spec.template.spec.containers[0]!.args, ['--port=80', '--verbose']);
  assert.deepEqual(m.spec.template.spec.containers[1]!.command, ['sleep', '3600']);
  assert.deepEqual(first.applied.map((a) => a.policy), ['z-global', 'shop/b-ns']);
});

test('a plaintext override that cannot apply names the path', () => {
  const bad = policy('bad', 'shop', [{ overriders: { plaintext: [{ path: '/spec/nothing/here', operator: 'replace', value: 1 }] } }]);
  assert.throws(() => applyOverrides(deployment, eu, [bad]), /\/spec\/nothing\/here/);
});

test('the governing distribution policy: namespaced first, then priority, then the most specific selector', () => {
  const dp = (name: string, namespace: string | undefined, priority: number, selector: Record<string, unknown>): KubeObject => ({
    apiVersion: 'policy.nephele.dev/v1alpha1', kind: namespace ? 'DistributionPolicy' : 'ClusterDistributionPolicy',
    metadata: { name, ...(namespace ? { namespace } : {}) }, spec: { priority, resourceSelectors: [{ apiVersion: 'apps/v1', kind: 'Deployment', ...selector }], placement: {} },
  });
  const global = dp('global', undefined, 100, {});
  const byKind = dp('by-kind', 'shop', 0, {});
  const byName = dp('by-name', 'shop', 0, { name: 'web' });
  const urgent = dp('urgent', 'shop', 5, { labelSelector: { matchLabels: { app: 'web' } } });
  const elsewhere = dp('elsewhere', 'other', 100, { name: 'web' });
  assert.equal(choosePolicy([global, byKind, byName], deployment)?.metadata.name, 'by-name');
  assert.equal(choosePolicy([global, byKind, byName, urgent], deployment)?.metadata.name, 'urgent');
  assert.equal(choosePolicy([global, elsewhere], deployment)?.metadata.name, 'global');
  assert.equal(choosePolicy([elsewhere], deployment), undefined);
});
