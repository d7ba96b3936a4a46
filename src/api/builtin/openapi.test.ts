import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinOpenAPI, generateBuiltinOpenAPI, schemaRefPrefix } from './openapi.ts';
import { builtinKinds } from './kinds.ts';
import { patchMetadata } from './patch-metadata.ts';

type Schema = Record<string, any>;

const schemas = builtinOpenAPI().schemas as Record<string, Schema>;
const core = 'io.k8s.api.core.v1';
const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** Calls `visit` on every schema node: the named ones and everything nested under them. */
function eachSchemaNode(visit: (node: Schema, where: string) => void): void {
  const walk = (node: unknown, where: string): void => {
    if (typeof node !== 'object' || node === null) return;
    const schema = node as Schema;
    visit(schema, where);
    for (const [name, property] of Object.entries(schema.properties ?? {})) walk(property, `${where}.${name}`);
    if (schema.items) walk(schema.items, `${where}[]`);
    if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, `${where}{}`);
    for (const key of ['allOf', 'oneOf', 'anyOf']) for (const member of schema[key] ?? []) walk(member, `${where}/${key}`);
  };
  for (const [name, schema] of Object.entries(schemas)) walk(schema, name);
}

test('Deployment is published under its Kubernetes name with its group-version-kind and description', () => {
  const deployment = schemas['io.k8s.api.apps.v1.Deployment'];
  assert.ok(deployment);
  assert.deepEqual(deployment['x-kubernetes-group-version-kind'], [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
  assert.match(deployment.description, /declarative updates for Pods/);
  assert.equal(deployment.type, 'object');
  assert.deepEqual(deployment.properties.spec, { $ref: `${schemaRefPrefix}io.k8s.api.apps.v1.DeploymentSpec` });
  assert.deepEqual(schemas['io.k8s.api.apps.v1.DeploymentSpec']?.required, ['selector', 'template']);
});

test('every kind and its list carry a group-version-kind', () => {
  const tagged = new Map<string, unknown>();
  for (const [name, schema] of Object.entries(schemas)) {
    if (schema['x-kubernetes-group-version-kind']) tagged.set(name, schema['x-kubernetes-group-version-kind']);
  }
  for (const k of builtinKinds) {
    const withKind = [...tagged].filter(([, gvks]) => (gvks as Array<{ kind: string; group: string }>).some((g) => g.kind === k.kind && g.group === k.group));
    assert.equal(withKind.length, 1, `${k.kind} is tagged once`);
    const withList = [...tagged].filter(([, gvks]) => (gvks as Array<{ kind: string }>).some((g) => g.kind === `${k.kind}List`));
    // A review is created and answered, never listed: it has no list kind.
    assert.equal(withList.length, 'review' in k ? 0 : 1, `${k.kind}List is tagged ${'review' in k ? 'nowhere' : 'once'}`);
  }
  assert.deepEqual(schemas[`${core}.Event`]?.['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Event', version: 'v1' }]);
  assert.deepEqual(schemas[`${meta}.Status`]?.['x-kubernetes-group-version-kind'], [{ group: '', kind: 'Status', version: 'v1' }]);
  const deleteOptionGroups = schemas[`${meta}.DeleteOptions`]?.['x-kubernetes-group-version-kind'].map((g: { group: string }) => g.group);
  assert.deepEqual(deleteOptionGroups, ['', 'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'apps', 'authentication.k8s.io', 'authorization.k8s.io', 'batch', 'coordination.k8s.io', 'policy', 'scheduling.k8s.io']);
});

test('PodSpec.containers merges by name, as the Go types declare', () => {
  const containers = schemas[`${core}.PodSpec`]?.properties.containers;
  assert.equal(containers.type, 'array');
  assert.deepEqual(containers.items, { $ref: `${schemaRefPrefix}${core}.Container` });
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(containers['x-kubernetes-list-type'], 'map');
  assert.deepEqual(containers['x-kubernetes-list-map-keys'], ['name']);
  assert.match(containers.description, /List of containers belonging to the pod/);
});

test('patch metadata for the fields strategic merge patch depends on', () => {
  const property = (schema: string, field: string): Schema => schemas[schema]?.properties[field];
  assert.equal(property(`${core}.PodSpec`, 'volumes')['x-kubernetes-patch-strategy'], 'merge,retainKeys');
  assert.deepEqual(property(`${core}.Container`, 'ports')['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
  assert.equal(property(`${core}.Container`, 'ports')['x-kubernetes-patch-merge-key'], 'containerPort');
  assert.equal(property(`${core}.Container`, 'envFrom')['x-kubernetes-list-type'], 'atomic');
  assert.deepEqual(property(`${core}.ServiceSpec`, 'ports')['x-kubernetes-list-map-keys'], ['port', 'protocol']);
  assert.equal(property(`${meta}.ObjectMeta`, 'finalizers')['x-kubernetes-list-type'], 'set');
  assert.equal(property(`${meta}.ObjectMeta`, 'ownerReferences')['x-kubernetes-patch-merge-key'], 'uid');
  assert.equal(property('io.k8s.api.batch.v1.JobStatus', 'conditions')['x-kubernetes-patch-merge-key'], 'type');
  const strategy = property('io.k8s.api.apps.v1.DeploymentSpec', 'strategy');
  assert.deepEqual(strategy.allOf, [{ $ref: `${schemaRefPrefix}io.k8s.api.apps.v1.DeploymentStrategy` }]);
  assert.equal(strategy['x-kubernetes-patch-strategy'], 'retainKeys');
});

test('every patch-metadata entry lands on a published field', () => {
  for (const [schemaName, fields] of Object.entries(patchMetadata)) {
    const schema = schemas[schemaName];
    assert.ok(schema, `${schemaName} is published`);
    for (const [field, metadata] of Object.entries(fields)) {
      const property = schema.properties[field];
      assert.ok(property, `${schemaName}.${field} exists`);
      if (metadata['x-kubernetes-list-type']) assert.equal(property.type, 'array', `${schemaName}.${field} is a list`);
      for (const [key, value] of Object.entries(metadata)) assert.deepEqual(property[key], value, `${schemaName}.${field} ${key}`);
    }
  }
});

test('Container.image keeps its upstream description', () => {
  const image = schemas[`${core}.Container`]?.properties.image;
  assert.equal(image.type, 'string');
  assert.match(image.description, /^Container image name\./);
});

test('refs with their own description are wrapped in allOf, as Kubernetes v3 does', () => {
  const created = schemas[`${meta}.ObjectMeta`]?.properties.creationTimestamp;
  assert.deepEqual(created.allOf, [{ $ref: `${schemaRefPrefix}${meta}.Time` }]);
  assert.match(created.description, /CreationTimestamp/);
  assert.equal(created.$ref, undefined);
});

test('scalar wrapper types are published as Kubernetes publishes them', () => {
  assert.deepEqual(schemas['io.k8s.apimachinery.pkg.api.resource.Quantity']?.oneOf, [{ type: 'string' }, { type: 'number' }]);
  const intOrString = schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString'];
  assert.equal(intOrString?.['x-kubernetes-int-or-string'], true);
  assert.equal(intOrString?.format, 'int-or-string');
  assert.deepEqual(intOrString?.oneOf, [{ type: 'integer' }, { type: 'string' }]);
  assert.equal(schemas[`${meta}.Time`]?.format, 'date-time');
  assert.equal(schemas[`${meta}.MicroTime`]?.format, 'date-time');
  assert.deepEqual(schemas[`${core}.HTTPGetAction`]?.properties.port.allOf, [{ $ref: `${schemaRefPrefix}io.k8s.apimachinery.pkg.util.intstr.IntOrString` }]);
  assert.deepEqual(schemas[`${core}.ResourceRequirements`]?.properties.limits.additionalProperties, {
    $ref: `${schemaRefPrefix}io.k8s.apimachinery.pkg.api.resource.Quantity`,
  });
  assert.deepEqual(schemas[`${core}.Secret`]?.properties.data.additionalProperties, { type: 'string', format: 'byte' });
  assert.deepEqual(schemas['io.k8s.api.apps.v1.DeploymentSpec']?.properties.replicas.type, 'integer');
  assert.deepEqual(schemas['io.k8s.api.apps.v1.DeploymentSpec']?.properties.replicas.format, 'int32');
});

test('every $ref resolves inside the set', () => {
  let refs = 0;
  eachSchemaNode((node, where) => {
    if (typeof node.$ref !== 'string') return;
    refs++;
    assert.ok(node.$ref.startsWith(schemaRefPrefix), `${where}: ${node.$ref}`);
    assert.ok(schemas[node.$ref.slice(schemaRefPrefix.length)], `${where}: ${node.$ref} resolves`);
  });
  assert.ok(refs > 300, `walked ${refs} refs`);
});

test('every field client-node types as any is given its real type', () => {
  eachSchemaNode((node, where) => assert.equal(node['x-kubernetes-preserve-unknown-fields'], undefined, where));
  const props = schemas['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps']?.properties;
  assert.match(props.default.$ref ?? props.default.allOf[0].$ref, /apiextensions\.v1\.JSON$/);
  assert.match(props['x-kubernetes-preserve-unknown-fields'].type, /boolean/);
});

test('the Quantity fields match the ones kubernetes-models types as Quantity', () => {
  const folder = dirname(fileURLToPath(import.meta.resolve('kubernetes-models/v1')));
  for (const [name, schema] of Object.entries(schemas)) {
    if (!name.startsWith(`${core}.`)) continue;
    const source = readFileSync(`${folder}/${name.slice(core.length + 1)}.d.ts`, 'utf8');
    const body = source.slice(source.indexOf('export interface'), source.indexOf('\n}', source.indexOf('export interface')));
    const expected = new Set<string>();
    let field: string | undefined;
    for (const line of body.split('\n')) {
      field = /^ {4}"([^"]+)"\??:/.exec(line)?.[1] ?? field;
      if (field && line.includes('IoK8sApimachineryPkgApiResourceQuantity')) expected.add(field);
    }
    const actual = Object.entries(schema.properties ?? {})
      .filter(([, p]) => JSON.stringify(p).includes('resource.Quantity'))
      .map(([f]) => f);
    assert.deepEqual(actual.sort(), [...expected].sort(), name);
  }
});

test('generation is deterministic, cached and frozen', () => {
  const again = generateBuiltinOpenAPI();
  assert.equal(JSON.stringify(again), JSON.stringify(builtinOpenAPI()));
  assert.deepEqual(Object.keys(again.schemas), Object.keys(again.schemas).slice().sort());
  assert.equal(builtinOpenAPI(), builtinOpenAPI());
  assert.ok(Object.isFrozen(builtinOpenAPI().schemas));
  assert.ok(Object.isFrozen(schemas[`${core}.PodSpec`]?.properties.containers));
});
