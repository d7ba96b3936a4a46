import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../status-error.ts';
import { applyMergePatch, applyObjectMergePatch } from './merge-patch.ts';
import { dig, makeDeployment } from './testing/deployments.ts';

describe('applyMergePatch: RFC 7386 appendix A', () => {
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, expected] of cases) {
    it(`${JSON.stringify(target)} + ${JSON.stringify(patch)}`, () => assert.deepEqual(applyMergePatch(target, patch), expected));
  }
});

describe('applyMergePatch on Kubernetes objects', () => {
  const deployment = makeDeployment('web').replicas(2).label('app', 'web').label('tier', 'frontend').container({ name: 'web', image: 'nginx:1.25' }).container({ name: 'log', image: 'fluentbit' }).obj();

  it('replaces lists wholesale, deletes with null, never mutates', () => {
    const before = structuredClone(deployment);
    const patch = { metadata: { labels: { tier: null, team: 'a' } }, spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } } };
    const result = applyMergePatch(deployment, patch) as typeof deployment;
    assert.deepEqual(deployment, before);
    assert.deepEqual(result.metadata.labels, { app: 'web', team: 'a' });
    assert.deepEqual(dig(result, 'spec', 'template', 'spec', 'containers'), [{ name: 'web', image: 'nginx:1.27' }]);
    assert.equal(dig(result, 'spec', 'replicas'), 2);
    // Untouched parts are copies, not the input's own objects.
    assert.notEqual(dig(result, 'spec', 'selector'), dig(deployment, 'spec', 'selector'));
    patch.metadata.labels.team = 'b';
    assert.equal(result.metadata.labels?.team, 'a');
  });

  it('applyObjectMergePatch requires an object patch', () => {
    assert.throws(() => applyObjectMergePatch(deployment, ['x']), (err: unknown) => err instanceof StatusError && err.code === 400);
    assert.equal(applyObjectMergePatch(deployment, { spec: { replicas: 4 } }).spec.replicas, 4);
  });
});
