import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { policyResourceTypes } from './policy.ts';

describe('ResourceBinding printer columns', () => {
  const binding = policyResourceTypes().find((t) => t.kind === 'ResourceBinding')!;
  const clusters = binding.printerColumns.find((c) => c.name === 'Clusters')!;

  it('shows each cluster\'s share of a workload\'s replicas', () => {
    const row = clusters.value!({ metadata: { name: 'web-deployment' }, spec: { replicas: 6, clusters: [{ name: 'east', replicas: 5 }, { name: 'west', replicas: 1 }] } });
    assert.equal(row, 'east:5,west:1');
  });

  it('shows only the names for a resource without replicas, which goes whole to each', () => {
    const row = clusters.value!({ metadata: { name: 'web-deployment' }, spec: { clusters: [{ name: 'east', replicas: 0 }, { name: 'west', replicas: 0 }] } });
    assert.equal(row, 'east,west');
  });

  it('says <none> before anything is placed', () => {
    assert.equal(clusters.value!({ metadata: { name: 'web-deployment' }, spec: {} }), '<none>');
  });
});
