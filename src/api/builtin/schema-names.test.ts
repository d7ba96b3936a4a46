import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubernetesSchemaName } from './schema-names.ts';

test('client-node models are named by their Kubernetes package', () => {
  assert.equal(kubernetesSchemaName('V1Deployment'), 'io.k8s.api.apps.v1.Deployment');
  assert.equal(kubernetesSchemaName('V1PodSpec'), 'io.k8s.api.core.v1.PodSpec');
  assert.equal(kubernetesSchemaName('V1JobSpec'), 'io.k8s.api.batch.v1.JobSpec');
  assert.equal(kubernetesSchemaName('V1LeaseSpec'), 'io.k8s.api.coordination.v1.LeaseSpec');
  assert.equal(kubernetesSchemaName('V1ObjectMeta'), 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
  assert.equal(
    kubernetesSchemaName('V1CustomResourceDefinition'),
    'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition',
  );
});

test('a group prefix picks the package where two groups share a type name', () => {
  assert.equal(kubernetesSchemaName('CoreV1Event'), 'io.k8s.api.core.v1.Event');
  assert.equal(
    kubernetesSchemaName('ApiextensionsV1ServiceReference'),
    'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.ServiceReference',
  );
});

test('a model outside the known packages is refused rather than guessed', () => {
  assert.throws(() => kubernetesSchemaName('V1Ingress'), /found in 0/);
  assert.throws(() => kubernetesSchemaName('V1beta1Thing'), /not a v1 model/);
  assert.throws(() => kubernetesSchemaName('EventsV1Event'), /found in 0/);
});
