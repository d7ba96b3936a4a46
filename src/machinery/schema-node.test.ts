import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { componentsResolver, schemaNode, unknownSchemaNode } from './schema-node.ts';
import { deploymentSchema } from './patch/testing/deployments.ts';

describe('schemaNode', () => {
  const deployment = deploymentSchema();
  const podSpec = deployment.field('spec').field('template').field('spec');
  const container = podSpec.field('containers').elements();

  it('follows $ref and allOf wrappers down to the pod spec', () => {
    assert.equal(deployment.type, 'object');
    assert.equal(deployment.field('spec').type, 'object');
    assert.equal(podSpec.type, 'object');
    assert.ok(podSpec.hasField('containers'));
    assert.equal(container.field('image').type, 'scalar');
  });

  it('reads the list extensions Kubernetes publishes', () => {
    const containers = podSpec.field('containers');
    assert.equal(containers.type, 'array');
    assert.equal(containers.listType, 'map');
    assert.deepEqual(containers.listMapKeys, ['name']);
    assert.equal(containers.patchMergeKey, 'name');
    assert.equal(containers.patchStrategy, 'merge');
    assert.deepEqual(container.field('ports').listMapKeys, ['containerPort', 'protocol']);
    assert.equal(container.field('ports').patchMergeKey, 'containerPort');
    assert.equal(container.field('ports').elements().field('protocol').defaultValue, 'TCP');
    assert.equal(podSpec.field('volumes').patchStrategy, 'merge,retainKeys');
    assert.equal(container.field('args').listType, 'atomic');
    assert.equal(deployment.field('metadata').field('finalizers').listType, 'set');
    assert.equal(deployment.field('metadata').field('managedFields').listType, 'atomic');
  });

  it('reads extensions placed on the allOf wrapper itself', () => {
    assert.equal(deployment.field('spec').field('strategy').patchStrategy, 'retainKeys');
  });

  it('tells maps from objects, and atomic maps from granular ones', () => {
    const meta = deployment.field('metadata');
    assert.equal(meta.field('labels').type, 'map');
    assert.equal(meta.field('labels').mapType, 'granular');
    assert.equal(meta.field('labels').field('app').type, 'scalar');
    assert.equal(meta.hasField('labels'), true);
    assert.equal(meta.field('labels').hasField('app'), false);
    assert.equal(podSpec.field('nodeSelector').mapType, 'atomic');
    assert.equal(deployment.field('spec').field('selector').mapType, 'atomic');
    assert.equal(container.field('resources').field('limits').elements().type, 'scalar');
  });

  it('treats int-or-string as a scalar', () => {
    const maxSurge = deployment.field('spec').field('strategy').field('rollingUpdate').field('maxSurge');
    assert.equal(maxSurge.type, 'scalar');
    assert.equal(maxSurge.intOrString, true);
  });

  it('answers unknown for what the schema does not describe', () => {
    assert.equal(container.field('noSuchField').type, 'unknown');
    assert.equal(container.field('noSuchField').field('deeper').elements().type, 'unknown');
    assert.equal(schemaNode(undefined, () => undefined), unknownSchemaNode);
    const dangling = schemaNode({ $ref: '#/components/schemas/Missing' }, () => undefined);
    assert.equal(dangling.type, 'unknown');
    assert.equal(unknownSchemaNode.listType, 'atomic');
    assert.equal(unknownSchemaNode.mapType, 'granular');
  });

  it('derives list types from patch extensions when x-kubernetes-list-type is absent', () => {
    const node = schemaNode(
      {
        type: 'object',
        properties: {
          keyed: { type: 'array', items: { type: 'object' }, 'x-kubernetes-patch-merge-key': 'id', 'x-kubernetes-patch-strategy': 'merge' },
          merged: { type: 'array', items: { type: 'string' }, 'x-kubernetes-patch-strategy': 'merge' },
          plain: { type: 'array', items: { type: 'string' } },
          mapWithoutKeys: { type: 'array', items: { type: 'object' }, 'x-kubernetes-list-type': 'map' },
        },
      },
      () => undefined,
    );
    assert.equal(node.field('keyed').listType, 'map');
    assert.deepEqual(node.field('keyed').listMapKeys, ['id']);
    assert.equal(node.field('merged').listType, 'set');
    assert.equal(node.field('plain').listType, 'atomic');
    assert.equal(node.field('mapWithoutKeys').listType, 'atomic');
  });

  it('is lazy and copes with recursive schemas such as JSONSchemaProps', () => {
    const components = {
      schemas: {
        JSONSchemaProps: {
          type: 'object',
          properties: {
            type: { type: 'string' },
            properties: { type: 'object', additionalProperties: { allOf: [{ $ref: '#/components/schemas/JSONSchemaProps' }], default: {} } },
            items: { $ref: '#/components/schemas/JSONSchemaProps' },
          },
        },
      },
    };
    let lookups = 0;
    const resolve = componentsResolver({ components });
    const counting = (ref: string) => {
      lookups++;
      return resolve(ref);
    };
    const root = schemaNode({ $ref: '#/components/schemas/JSONSchemaProps' }, counting);
    assert.equal(lookups, 0);
    let node = root;
    for (let depth = 0; depth < 50; depth++) node = node.field('properties').field(`level${depth}`).field('items');
    assert.equal(node.type, 'object');
    assert.equal(node.field('type').type, 'scalar');
  });
});
