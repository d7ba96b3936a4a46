import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../machinery/object.ts';
import { SchedulerCache } from './cache.ts';
import { defaultSchedulerConfiguration } from './config.ts';
import { Framework } from './framework.ts';
import { podInfo } from './pod-info.ts';
import { makeNode, makePod } from './testing.ts';

/** Schedules `pods` one by one on `nodes`, each placement counted before the next; returns node names (undefined when unschedulable). */
function place(nodes: KubeObject[], existing: KubeObject[], pods: KubeObject[]): Array<string | undefined> {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.addNode(n);
  for (const p of existing) cache.addPod(p);
  const fwk = new Framework(defaultSchedulerConfiguration().profiles[0]!, { snapshot: cache, random: () => 0.5 });
  return pods.map((p) => {
    const info = podInfo(p);
    const r = fwk.schedulePod(info);
    if (r.nodeName) cache.assumePod(info, r.nodeName);
    return r.nodeName;
  });
}

function message(nodes: KubeObject[], existing: KubeObject[], pod: KubeObject): string {
  const cache = new SchedulerCache();
  for (const n of nodes) cache.addNode(n);
  for (const p of existing) cache.addPod(p);
  const fwk = new Framework(defaultSchedulerConfiguration().profiles[0]!, { snapshot: cache });
  return fwk.schedulePod(podInfo(pod)).status.message();
}

describe('NodeResourcesFit', () => {
  it('fits by cpu, memory, pod count and extended resources', () => {
    const nodes = [makeNode().name('small').capacity({ cpu: '1', memory: '1Gi' }).obj(), makeNode().name('big').capacity({ cpu: '8', memory: '16Gi', 'nvidia.com/gpu': '2' }).obj()];
    assert.deepEqual(place(nodes, [], [makePod().name('a').requests({ cpu: '2' }).obj()]), ['big']);
    assert.deepEqual(place(nodes, [], [makePod().name('g').requests({ 'nvidia.com/gpu': '1' }).obj()]), ['big']);
    assert.deepEqual(place(nodes, [], [makePod().name('x').requests({ cpu: '9' }).obj()]), [undefined]);
    assert.match(message(nodes, [], makePod().name('x').requests({ cpu: '9' }).obj()), /0\/2 nodes are available: 2 Insufficient cpu/);
    const tiny = [makeNode().name('n').capacity({ pods: '1' }).obj()];
    assert.match(message(tiny, [makePod().name('e').node('n').obj()], makePod().name('p').obj()), /Too many pods/);
  });

  it('fits pods without requests anywhere, yet scores them as 100m/200Mi (spreading by count)', () => {
    const nodes = [makeNode().name('a').obj(), makeNode().name('b').obj()];
    const placed = place(nodes, [], [makePod().name('p1').obj(), makePod().name('p2').obj()]);
    assert.deepEqual(new Set(placed), new Set(['a', 'b']));
  });

  it('bin-packs with MostAllocated', () => {
    const cfg = defaultSchedulerConfiguration();
    const profile = { ...cfg.profiles[0]!, pluginArgs: { NodeResourcesFit: { scoringStrategy: { type: 'MostAllocated' } } }, weights: { ...cfg.profiles[0]!.weights, NodeResourcesBalancedAllocation: 1 } };
    const cache = new SchedulerCache();
    cache.addNode(makeNode().name('a').obj());
    cache.addNode(makeNode().name('b').obj());
    cache.addPod(makePod().name('e').requests({ cpu: '1', memory: '8Gi' }).node('b').obj());
    const fwk = new Framework(profile, { snapshot: cache });
    assert.equal(fwk.schedulePod(podInfo(makePod().name('p').requests({ cpu: '1', memory: '8Gi' }).obj())).nodeName, 'b');
  });
});

describe('TaintToleration and NodeUnschedulable', () => {
  it('keeps pods off NoSchedule taints they do not tolerate, and off cordoned nodes', () => {
    const nodes = [makeNode().name('tainted').taint('gpu', 'yes', 'NoSchedule').obj(), makeNode().name('cordoned').unschedulable().obj(), makeNode().name('plain').obj()];
    assert.deepEqual(place(nodes, [], [makePod().name('a').obj()]), ['plain']);
    const tolerant = makePod().name('b').toleration({ key: 'gpu', operator: 'Equal', value: 'yes', effect: 'NoSchedule' }).obj();
    assert.deepEqual(place(nodes.slice(0, 2), [], [tolerant]), ['tainted']);
    assert.match(message(nodes.slice(0, 2), [], makePod().name('c').obj()), /untolerated taint \{gpu: yes\}.*|were unschedulable/);
  });

  it('prefers nodes without PreferNoSchedule taints', () => {
    const nodes = [makeNode().name('soft').taint('x', 'y', 'PreferNoSchedule').obj(), makeNode().name('clean').obj()];
    assert.deepEqual(place(nodes, [], [makePod().name('a').obj()]), ['clean']);
  });
});

describe('NodeAffinity', () => {
  const nodes = [makeNode().name('a').labels({ disk: 'ssd', zone: 'z1' }).obj(), makeNode().name('b').labels({ disk: 'hdd', zone: 'z2' }).obj()];
  it('honours nodeSelector and required affinity', () => {
    assert.deepEqual(place(nodes, [], [makePod().name('p').nodeSelector({ disk: 'hdd' }).obj()]), ['b']);
    assert.deepEqual(place(nodes, [], [makePod().name('q').requiredNodeAffinity('zone', 'In', ['z1']).obj()]), ['a']);
    assert.deepEqual(place(nodes, [], [makePod().name('r').requiredNodeAffinity('zone', 'NotIn', ['z1', 'z2']).obj()]), [undefined]);
  });
  it('scores preferred terms', () => {
    assert.deepEqual(place(nodes, [], [makePod().name('p').preferredNodeAffinity(50, 'disk', 'In', ['hdd']).obj()]), ['b']);
  });
});

describe('NodePorts', () => {
  it('keeps two pods with the same host port apart', () => {
    const nodes = [makeNode().name('a').obj(), makeNode().name('b').obj()];
    const placed = place(nodes, [], [makePod().name('p1').hostPort(8080).obj(), makePod().name('p2').hostPort(8080).obj(), makePod().name('p3').hostPort(8080).obj()]);
    assert.equal(new Set(placed.slice(0, 2)).size, 2);
    assert.equal(placed[2], undefined);
  });
});

describe('PodTopologySpread', () => {
  const nodes = ['a', 'b', 'c'].map((n, i) => makeNode().name(n).labels({ zone: `z${i % 2}` }).obj());
  it('keeps the skew within maxSkew across zones (DoNotSchedule)', () => {
    const pods = Array.from({ length: 6 }, (_, i) => makePod().name(`p${i}`).labels({ app: 'web' }).spread(1, 'zone', { app: 'web' }).obj());
    const placed = place(nodes, [], pods);
    const perZone = { z0: 0, z1: 0 };
    for (const n of placed) perZone[n === 'b' ? 'z1' : 'z0']++;
    assert.deepEqual(perZone, { z0: 3, z1: 3 });
  });
  it('rejects a node whose domain is already ahead', () => {
    const existing = [makePod().name('e1').labels({ app: 'web' }).node('a').obj(), makePod().name('e2').labels({ app: 'web' }).node('c').obj()];
    const pod = makePod().name('p').labels({ app: 'web' }).spread(1, 'zone', { app: 'web' }).obj();
    assert.deepEqual(place(nodes, existing, [pod]), ['b']);
    const onlyZ0 = [nodes[0]!, nodes[2]!];
    assert.match(message(onlyZ0, existing, makePod().name('p').labels({ app: 'web' }).spread(1, 'zone', { app: 'web' }, 'DoNotSchedule', 2).obj()), /topology spread constraints/);
  });
  it('prefers less crowded domains (ScheduleAnyway)', () => {
    const existing = [makePod().name('e1').labels({ app: 'web' }).node('a').obj()];
    assert.deepEqual(place(nodes.slice(0, 2), existing, [makePod().name('p').labels({ app: 'web' }).spread(1, 'zone', { app: 'web' }, 'ScheduleAnyway').obj()]), ['b']);
  });
});

describe('InterPodAffinity', () => {
  const nodes = ['a', 'b', 'c'].map((n) => makeNode().name(n).labels({ zone: n === 'c' ? 'z2' : 'z1' }).obj());
  it('required anti-affinity on hostname puts one pod per node', () => {
    const pods = Array.from({ length: 4 }, (_, i) => makePod().name(`p${i}`).labels({ app: 'db' }).podAffinity('podAntiAffinity', { app: 'db' }, 'kubernetes.io/hostname').obj());
    const placed = place(nodes, [], pods);
    assert.equal(new Set(placed.slice(0, 3)).size, 3);
    assert.equal(placed[3], undefined);
  });
  it('required affinity follows the matching pod into its zone', () => {
    const existing = [makePod().name('cache').labels({ app: 'cache' }).node('c').obj()];
    assert.deepEqual(place(nodes, existing, [makePod().name('web').podAffinity('podAffinity', { app: 'cache' }, 'zone').obj()]), ['c']);
  });
  it('the first pod of a self-affine group may go anywhere', () => {
    assert.notEqual(place(nodes, [], [makePod().name('w').labels({ app: 'w' }).podAffinity('podAffinity', { app: 'w' }, 'zone').obj()])[0], undefined);
  });
  it("respects existing pods' anti-affinity against the incoming pod", () => {
    const existing = [makePod().name('loner').labels({ app: 'loner' }).node('a').podAffinity('podAntiAffinity', { app: 'web' }, 'zone').obj()];
    const pods = [makePod().name('w1').labels({ app: 'web' }).obj(), makePod().name('w2').labels({ app: 'web' }).obj()];
    assert.deepEqual(place(nodes, existing, pods), ['c', 'c']);
  });
  it('scores preferred affinity', () => {
    const existing = [makePod().name('cache').labels({ app: 'cache' }).node('b').obj()];
    assert.deepEqual(place(nodes, existing, [makePod().name('web').podAffinity('podAffinity', { app: 'cache' }, 'kubernetes.io/hostname', 100).obj()]), ['b']);
  });
});

describe('NUMAAlignment', () => {
  const numa = JSON.stringify([{ cpu: '4', memory: '16Gi' }, { cpu: '4', memory: '16Gi' }]);
  const node = makeNode().name('numa').capacity({ cpu: '8', memory: '32Gi' }).annotations({ 'nephele.dev/numa-topology': numa }).obj();
  const aligned = (name: string, cpu: string) => makePod().name(name).guaranteed({ cpu, memory: '4Gi' }).annotations({ 'nephele.dev/numa-policy': 'single-numa-node' }).obj();
  it('places a Guaranteed pod only where one NUMA node holds it all', () => {
    assert.deepEqual(place([node], [], [aligned('a', '3'), aligned('b', '3'), aligned('c', '3')]), ['numa', 'numa', undefined]);
    assert.match(message([node], [], aligned('big', '6')), /no NUMA node large enough/);
  });
  it('does not align pods that are not Guaranteed', () => {
    const burstable = makePod().name('b').requests({ cpu: '6' }).annotations({ 'nephele.dev/numa-policy': 'single-numa-node' }).obj();
    assert.deepEqual(place([node], [], [burstable]), ['numa']);
  });
  it('rejects nodes that do not describe their NUMA topology', () => {
    assert.match(message([makeNode().name('plain').obj()], [], aligned('a', '1')), /NUMA topology/);
  });
});

describe('GPUTopology', () => {
  const gpuNode = (name: string, model: string, islands: number[][]) => makeNode().name(name).labels({ 'nvidia.com/gpu.product': model }).capacity({ 'nvidia.com/gpu': String(islands.flat().length) }).annotations({ 'nephele.dev/gpu-topology': JSON.stringify(islands) }).obj();
  it('matches the GPU model asked for', () => {
    const nodes = [gpuNode('a100', 'A100', [[0, 1]]), gpuNode('h100', 'H100', [[0, 1]])];
    assert.deepEqual(place(nodes, [], [makePod().name('p').requests({ 'nvidia.com/gpu': '1' }).annotations({ 'nephele.dev/gpu-model': 'H100' }).obj()]), ['h100']);
    assert.match(message(nodes, [], makePod().name('p').annotations({ 'nephele.dev/gpu-model': 'B200' }).obj()), /GPU model B200/);
  });
  it('gives a linked pod GPUs from one NVLink island, and prefers the tightest island', () => {
    const linked = (name: string, n: number) => makePod().name(name).requests({ 'nvidia.com/gpu': String(n) }).annotations({ 'nephele.dev/gpu-linked': 'true' }).obj();
    // Node "split" has 4 free GPUs but in two islands of 2 after one GPU per island is taken.
    const split = gpuNode('split', 'A100', [[0, 1, 2], [3, 4, 5]]);
    const existing = [
      makePod().name('x').requests({ 'nvidia.com/gpu': '1' }).annotations({ 'nephele.dev/gpu-indices': '0' }).node('split').obj(),
      makePod().name('y').requests({ 'nvidia.com/gpu': '1' }).annotations({ 'nephele.dev/gpu-indices': '3' }).node('split').obj(),
    ];
    assert.deepEqual(place([split], existing, [linked('l3', 3)]), [undefined]);
    assert.deepEqual(place([split], existing, [linked('l2', 2)]), ['split']);
    // Tightest fit: a 2-GPU linked pod goes to the node whose island it fills exactly.
    const whole = gpuNode('whole', 'A100', [[0, 1, 2, 3]]);
    const pair = gpuNode('pair', 'A100', [[0, 1], [2, 3]]);
    assert.deepEqual(place([whole, pair], [], [linked('l', 2)]), ['pair']);
  });
  it('tracks which GPU indices each pod holds', () => {
    const cache = new SchedulerCache();
    cache.addNode(gpuNode('n', 'A100', [[0, 1], [2, 3]]));
    cache.addPod(makePod().name('a').requests({ 'nvidia.com/gpu': '2' }).annotations({ 'nephele.dev/gpu-linked': 'true' }).node('n').obj());
    const gpu = cache.get('n')!.gpu!;
    assert.deepEqual(gpu.assigned.get('default/a'), [0, 1]);
    cache.removePod(makePod().name('a').obj());
    assert.equal(gpu.assigned.size, 0);
    assert.deepEqual(gpu.owner, [undefined, undefined, undefined, undefined]);
  });
});
