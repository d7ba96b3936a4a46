import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../machinery/object.ts';
import { SchedulerCache } from './cache.ts';
import { defaultSchedulerConfiguration } from './config.ts';
import { Framework } from './framework.ts';
import type { FilterPlugin, PluginFactory } from './interfaces.ts';
import { podInfo, type PodInfo } from './pod-info.ts';
import { inTreeRegistry } from './plugins/registry.ts';
import { disruptionBudget } from './disruption-budget.ts';
import { makeNode, makePod } from './testing.ts';
import { seededRandom as seeded } from '../machinery/random.ts';

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

/** The in-tree registry with NodeResourcesFit unable to judge by arithmetic: every dry run changes the node. */
const podChangingRegistry: Readonly<Record<string, PluginFactory>> = {
  ...inTreeRegistry,
  NodeResourcesFit: (args, handle) => {
    const { filterWithDelta: _, ...rest } = inTreeRegistry.NodeResourcesFit!(args, handle) as FilterPlugin;
    return rest;
  },
};

describe('preemption judged by arithmetic', () => {
  it('finds the same nodes, victims and messages as dry runs that change the node, nominated pods included', () => {
    let preempted = 0;
    let withNominated = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const random = seeded(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
      const nodes: KubeObject[] = [];
      const existing: KubeObject[] = [];
      const nodeCount = 2 + Math.floor(random() * 6);
      for (let n = 0; n < nodeCount; n++) {
        const name = `n${n}`;
        nodes.push(makeNode().name(name).capacity({ cpu: pick(['2', '4', '8']), memory: pick(['4Gi', '8Gi']), pods: pick(['3', '6', '110']), ...(random() < 0.3 ? { 'nvidia.com/gpu': '2' } : {}) }).obj());
        const pods = 1 + Math.floor(random() * 5);
        for (let i = 0; i < pods; i++) {
          existing.push(makePod().name(`${name}-p${i}`).node(name).priority(pick([1, 5, 10, 50]))
            .requests({ cpu: pick(['500m', '1', '2']), memory: pick(['512Mi', '1Gi', '3Gi']), ...(random() < 0.1 ? { 'nvidia.com/gpu': '1' } : {}) })
            .startTime(`2026-01-01T00:0${i}:00Z`).obj());
        }
      }
      const nominated = new Map<string, PodInfo[]>();
      for (let i = 0; i < 3; i++) {
        if (random() < 0.5) continue;
        const on = `n${Math.floor(random() * nodeCount)}`;
        const p = podInfo(makePod().name(`nominated-${i}`).priority(pick([5, 20, 100])).requests({ cpu: pick(['500m', '1', '2']), memory: '1Gi' }).obj());
        nominated.set(on, [...(nominated.get(on) ?? []), p]);
      }
      const pod = podInfo(makePod().name('incoming').priority(pick([10, 20, 100])).requests({ cpu: pick(['1', '2', '3']), memory: pick(['1Gi', '2Gi']), ...(random() < 0.2 ? { 'nvidia.com/gpu': '1' } : {}) }).obj());
      const run = (registry: Readonly<Record<string, PluginFactory>>) => {
        const cache = new SchedulerCache();
        for (const n of nodes) cache.addNode(n);
        for (const p of existing) cache.addPod(p);
        const fwk = new Framework(defaultSchedulerConfiguration().profiles[0]!, { snapshot: cache, nominatedPods: nominated, random: () => 0.5, registry });
        const r = fwk.schedulePod(pod);
        return { nodeName: r.nodeName, message: r.status.message(), nominated: r.postFilter?.nominatedNodeName, victims: r.postFilter?.victims?.map((v) => v.name) };
      };
      const byArithmetic = run(inTreeRegistry);
      assert.deepEqual(byArithmetic, run(podChangingRegistry), `seed ${seed}`);
      if (byArithmetic.victims) preempted++;
      if (nominated.size > 0 && byArithmetic.nodeName === undefined) withNominated++;
    }
    // The cases must cover preemption and nominated pods, or the comparison proves little.
    assert.ok(preempted >= 40, `only ${preempted} cases preempted`);
    assert.ok(withNominated >= 40, `only ${withNominated} unschedulable cases had nominated pods`);
  });

  it('leaves a node with a nominated pod of equal priority alone when the two would not fit together', () => {
    const existing = [running('a1', 'a', '3', 1), running('b1', 'b', '3', 1), running('b2', 'b', '1', 1)];
    const nominee = podInfo(makePod().name('first').priority(10).requests({ cpu: '3' }).obj());
    const cache = new SchedulerCache();
    for (const n of [node('a'), node('b')]) cache.addNode(n);
    for (const p of existing) cache.addPod(p);
    const fwk = new Framework(defaultSchedulerConfiguration().profiles[0]!, { snapshot: cache, nominatedPods: new Map([['a', [nominee]]]), random: () => 0 });
    const r = fwk.schedulePod(podInfo(makePod().name('second').priority(10).requests({ cpu: '3' }).obj()));
    // Node a alone would need only a1 to go, but the pod nominated there already claims that room.
    assert.equal(r.postFilter?.nominatedNodeName, 'b');
    assert.deepEqual(r.postFilter?.victims?.map((v) => v.name), ['b1']);
  });
});
