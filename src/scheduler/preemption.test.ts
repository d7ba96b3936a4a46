import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../machinery/object.ts';
import { SchedulerCache } from './cache.ts';
import { defaultSchedulerConfiguration } from './config.ts';
import { Framework } from './framework.ts';
import { podInfo } from './pod-info.ts';
import { disruptionBudget } from './disruption-budget.ts';
import { makeNode, makePod } from './testing.ts';

function preempt(nodes: KubeObject[], existing: KubeObject[], pod: KubeObject, pdbs: KubeObject[] = []) {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.addNode(n);
  for (const p of existing) cache.addPod(p);
  const budgets = pdbs.map(disruptionBudget);
  const fwk = new Framework(defaultSchedulerConfiguration().profiles[0]!, { snapshot: cache, disruptionBudgets: () => budgets, random: () => 0 });
  const r = fwk.schedulePod(podInfo(pod));
  assert.equal(r.nodeName, undefined, 'the pod should not fit without preemption');
  return { node: r.postFilter?.nominatedNodeName, victims: (r.postFilter?.victims ?? []).map((v) => v.name).sort(), message: r.status.message(), postFilter: r.postFilter };
}

const node = (name: string) => makeNode().name(name).capacity({ cpu: '4', memory: '16Gi' }).obj();
const running = (name: string, nodeName: string, cpu: string, priority: number, labels: Record<string, string> = {}) =>
  makePod().name(name).node(nodeName).requests({ cpu }).priority(priority).labels(labels).startTime('2026-01-01T00:00:00Z').obj();

describe('DefaultPreemption', () => {
  it('picks the node whose victims have the lowest priority, and evicts no more than needed', () => {
    const existing = [
      running('a-mid', 'a', '2', 50), running('a-mid2', 'a', '2', 50),
      running('b-low', 'b', '2', 10), running('b-high', 'b', '2', 900),
    ];
    const r = preempt([node('a'), node('b')], existing, makePod().name('p').priority(100).requests({ cpu: '2' }).obj());
    assert.equal(r.node, 'b');
    assert.deepEqual(r.victims, ['b-low']);
    assert.match(r.message, /Preemption: nominated node b, 1 victim/);
  });

  it('prefers fewer victims when priorities tie', () => {
    const existing = [
      running('a1', 'a', '1', 10), running('a2', 'a', '1', 10), running('a3', 'a', '1', 10), running('a4', 'a', '1', 10),
      running('b1', 'b', '2', 10), running('b2', 'b', '2', 10),
    ];
    const r = preempt([node('a'), node('b')], existing, makePod().name('p').priority(100).requests({ cpu: '2' }).obj());
    assert.equal(r.node, 'b');
    assert.equal(r.victims.length, 1);
  });

  it('never evicts pods of equal or higher priority', () => {
    const existing = [running('a1', 'a', '4', 100)];
    const r = preempt([node('a')], existing, makePod().name('p').priority(100).requests({ cpu: '1' }).obj());
    assert.equal(r.node, undefined);
    assert.deepEqual(r.victims, []);
  });

  it('prefers a node whose evictions violate no PodDisruptionBudget', () => {
    const existing = [running('a1', 'a', '4', 10, { app: 'guarded' }), running('b1', 'b', '4', 20, { app: 'free' })];
    const pdb = { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'guard', namespace: 'default' }, spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded' } } } };
    const r = preempt([node('a'), node('b')], existing, makePod().name('p').priority(100).requests({ cpu: '2' }).obj(), [pdb]);
    // a1 has the lower priority, but evicting it would break the budget; b1 breaks none.
    assert.equal(r.node, 'b');
    assert.deepEqual(r.victims, ['b1']);
    const withoutPdb = preempt([node('a'), node('b')], existing, makePod().name('p').priority(100).requests({ cpu: '2' }).obj());
    assert.equal(withoutPdb.node, 'a');
  });

  it('violates a budget only when there is no other way', () => {
    const existing = [running('a1', 'a', '4', 10, { app: 'guarded' })];
    const pdb = { metadata: { name: 'guard', namespace: 'default' }, spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'guarded' } } } };
    const r = preempt([node('a')], existing, makePod().name('p').priority(100).requests({ cpu: '2' }).obj(), [pdb]);
    assert.equal(r.node, 'a');
    assert.deepEqual(r.victims, ['a1']);
  });

  it('honours preemptionPolicy Never', () => {
    const existing = [running('a1', 'a', '4', 10)];
    const r = preempt([node('a')], existing, makePod().name('p').priority(100).preemptionPolicy('Never').requests({ cpu: '2' }).obj());
    assert.equal(r.node, undefined);
    assert.match(r.postFilter!.status.message(), /preemptionPolicy is Never/);
  });

  it('does not preempt where removing pods cannot help (taints, too small a node)', () => {
    const existing = [running('a1', 'a', '4', 10)];
    const r = preempt([node('a')], existing, makePod().name('p').priority(100).requests({ cpu: '8' }).obj());
    assert.equal(r.node, undefined);
  });
});
