import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { maxReplicas, whatIf } from './what-if.ts';
import { makeNode, makePod } from './testing.ts';

describe('whatIf and maxReplicas', () => {
  const nodes = [makeNode().name('a').capacity({ cpu: '4', memory: '8Gi' }).obj(), makeNode().name('b').capacity({ cpu: '2', memory: '8Gi' }).obj()];
  const existing = [makePod().name('e').node('a').requests({ cpu: '3' }).obj()];

  it('says how many candidates fit and where', () => {
    const candidates = [1, 2, 3].map((i) => makePod().name(`c${i}`).requests({ cpu: '1' }).obj());
    const r = whatIf(nodes, existing, candidates);
    assert.equal(r.fits, 3);
    const perNode = r.placements.reduce<Record<string, number>>((acc, p) => ((acc[p.nodeName] = (acc[p.nodeName] ?? 0) + 1), acc), {});
    assert.deepEqual(perNode, { a: 1, b: 2 });
    const more = whatIf(nodes, existing, [...candidates, makePod().name('c4').requests({ cpu: '1' }).obj()]);
    assert.equal(more.fits, 3);
    assert.deepEqual(more.unschedulable.map((u) => u.pod), ['default/c4']);
    assert.match(more.unschedulable[0]!.message, /Insufficient cpu/);
  });

  it('counts replicas of a shape, with anti-affinity among them', () => {
    assert.equal(maxReplicas(nodes, existing, { metadata: { name: 'web' }, spec: makePod().requests({ cpu: '500m' }).obj().spec }), 6);
    const spread = makePod().labels({ app: 'one-per-node' }).podAffinity('podAntiAffinity', { app: 'one-per-node' }, 'kubernetes.io/hostname').obj();
    assert.equal(maxReplicas(nodes, [], { metadata: spread.metadata, spec: spread.spec }), 2);
  });

  it('has no side effects: the same question gives the same answer', () => {
    const candidates = [makePod().name('c').requests({ cpu: '1' }).obj()];
    assert.deepEqual(whatIf(nodes, existing, candidates), whatIf(nodes, existing, candidates));
    assert.equal(existing.length, 1);
    assert.equal((candidates[0]!.spec as { nodeName?: string }).nodeName, undefined);
  });
});
