import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findUnknownFields } from './unknown-fields.ts';
import { builtinOpenAPI, schemaRefPrefix } from '../api/builtin/index.ts';

const schemas = builtinOpenAPI().schemas;
const resolveBuiltin = (ref: string): object | undefined =>
  ref.startsWith(schemaRefPrefix) ? schemas[ref.slice(schemaRefPrefix.length)] : undefined;
const deploymentSchema = { $ref: `${schemaRefPrefix}io.k8s.api.apps.v1.Deployment` };

function makeDeployment(): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: { 'app.kubernetes.io/name': 'web' }, annotations: { 'example.com/any': 'thing' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [{ name: 'web', image: 'nginx', resources: { limits: { cpu: '1' } }, ports: [{ containerPort: 80 }] }],
        },
      },
    },
    status: { conditions: [{ type: 'Available', status: 'True' }] },
  };
}

test('a Deployment with only declared fields has none unknown', () => {
  assert.deepEqual(findUnknownFields(makeDeployment(), deploymentSchema, resolveBuiltin), []);
});

test('misspelled fields are reported by path, in document order', () => {
  const deployment = makeDeployment();
  deployment.spec.replicaz = 3;
  deployment.spec.template.spec.containers[0].imagePullPolcy = 'Always';
  deployment.spec.template.spec.containers.push({ name: 'sidecar', ports: [{ containerPort: 9090, hostPrt: 9090 }] });
  deployment.metadata.nam = 'typo';
  assert.deepEqual(findUnknownFields(deployment, deploymentSchema, resolveBuiltin), [
    '.metadata.nam',
    '.spec.template.spec.containers[0].imagePullPolcy',
    '.spec.template.spec.containers[1].ports[0].hostPrt',
    '.spec.replicaz',
  ]);
});

test('a field under a scalar-typed field is not walked into', () => {
  const deployment = makeDeployment();
  deployment.spec.replicas = { nested: true };
  assert.deepEqual(findUnknownFields(deployment, deploymentSchema, resolveBuiltin), []);
});

test('map values are checked against additionalProperties', () => {
  const schema = {
    type: 'object',
    properties: {
      ports: { type: 'object', additionalProperties: { type: 'object', properties: { port: { type: 'integer' } } } },
    },
  };
  assert.deepEqual(findUnknownFields({ ports: { http: { port: 80 }, grpc: { prot: 9 } } }, schema, () => undefined), ['.ports.grpc.prot']);
});

test('properties from every allOf member and $ref are known', () => {
  const resolve = (ref: string): object | undefined =>
    ({ '#/components/schemas/Base': { properties: { name: { type: 'string' } } } })[ref];
  const schema = { allOf: [{ $ref: '#/components/schemas/Base' }, { properties: { size: { type: 'integer' } } }] };
  assert.deepEqual(findUnknownFields({ name: 'a', size: 1, colour: 'red' }, schema, resolve), ['.colour']);
});

test('x-kubernetes-preserve-unknown-fields keeps unknown keys but still checks declared ones', () => {
  const schema = {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
  };
  assert.deepEqual(findUnknownFields({ anything: { goes: 1 }, spec: { size: 1, sise: 2 } }, schema, () => undefined), ['.spec.sise']);
});

test('an embedded resource accepts apiVersion, kind and metadata', () => {
  const schema = {
    type: 'object',
    properties: {
      template: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object', properties: {} } } },
    },
  };
  const obj = { template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: {}, extra: 1 } };
  assert.deepEqual(findUnknownFields(obj, schema, () => undefined), ['.template.extra']);
});

test('schemas that declare no fields, or cannot be resolved, accept anything', () => {
  const obj = { a: { b: 1 }, c: [{ d: 2 }] };
  assert.deepEqual(findUnknownFields(obj, { type: 'object' }, () => undefined), []);
  assert.deepEqual(findUnknownFields(obj, { $ref: '#/components/schemas/Missing' }, () => undefined), []);
  assert.deepEqual(findUnknownFields(obj, { properties: { a: { type: 'object' } }, additionalProperties: true }, () => undefined), []);
  assert.deepEqual(findUnknownFields({ x: 1 }, { additionalProperties: false }, () => undefined), ['.x']);
});

test('recursive schemas terminate', () => {
  const resolve = (): object => loop;
  const loop = { allOf: [{ $ref: '#/loop' }], properties: { child: { $ref: '#/loop' } } };
  assert.deepEqual(findUnknownFields({ child: { child: { oops: 1 } } }, loop, resolve), ['.child.child.oops']);
});

test('a CustomResourceDefinition schema is walked through JSONSchemaProps maps', () => {
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      names: { kind: 'Widget', plural: 'widgets' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', default: { a: 1 }, typ: 'x' } } } },
        },
      ],
    },
  };
  const schema = { $ref: `${schemaRefPrefix}io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition` };
  assert.deepEqual(findUnknownFields(crd, schema, resolveBuiltin), ['.spec.versions[0].schema.openAPIV3Schema.properties.spec.typ']);
});
