import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fieldSegments, lineOfField } from './yaml-fields.ts';

const text = `apiVersion: policy.nephele.dev/v1alpha1
kind: DistributionPolicy
metadata:
  name: web
  labels:
    nephele.dev/fleet: demo
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
    - apiVersion: v1
      kind: Service
  placement:
    replicaScheduling:
      replicaSchedulingType: Sometimes
`;

test('field paths split into keys and indexes', () => {
  assert.deepEqual(fieldSegments('spec.resourceSelectors[1].kind'), ['spec', 'resourceSelectors', 1, 'kind']);
  assert.deepEqual(fieldSegments('metadata.name'), ['metadata', 'name']);
});

test('a nested field maps to the line of its key', () => {
  assert.equal(lineOfField(text, 'spec.placement.replicaScheduling.replicaSchedulingType'), 15);
  assert.equal(lineOfField(text, 'spec.resourceSelectors[1].kind'), 12);
});

test('keys with dots are found whole', () => {
  assert.equal(lineOfField(text, 'metadata.labels.nephele.dev/fleet'), 6);
});

test('a missing field maps to its nearest parent', () => {
  assert.equal(lineOfField(text, 'spec.placement.clusterAffinity'), 13);
  assert.equal(lineOfField('not: [valid', 'spec'), 1);
});
