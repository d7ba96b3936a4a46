import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../machinery/object.ts';
import { maxReplicas } from '../../scheduler/index.ts';
import { podRequests, resourceModel, summarizeResources, type ResourceShape } from './summary.ts';
import { reconcileTaints, setCondition } from './conditions.ts';

function node(name: string, cpu: string, memory: string, options: { gpus?: number; model?: string; price?: string; ready?: boolean } = {}): KubeObject {
  const resources: Record<string, string> = { cpu, memory, pods: '110', ...(options.gpus ? { 'nvidia.com/gpu': String(options.gpus) } : {}) };
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(options.model ? { 'nvidia.com/gpu.product': options.model } : {}) }, annotations: options.price ? { 'nephele.dev/hourly-price-usd': options.price } : {} },
    spec: {},
    status: { capacity: resources, allocatable: resources, conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }] },
  };
}

function pod(name: string, nodeName: string | undefined, requests: Record<string, string>, phase = 'Running'): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'i', resources: { requests } }] },
    status: { phase },
  };
}

describe('cluster resource summary', () => {
  it('sums nodes, counts ready ones, and allocates only bound non-terminal pods', () => {
    const nodes = [node('a', '4', '16Gi', { price: '0.2' }), node('b', '8', '32Gi', { price: '0.4', ready: false })];
    const pods = [
      pod('bound', 'a', { cpu: '500m', memory: '1Gi' }),
      pod('pending', undefined, { cpu: '2' }, 'Pending'),
      pod('done', 'b', { cpu: '1' }, 'Succeeded'),
      pod('failed', 'b', { cpu: '1' }, 'Failed'),
      pod('bound-b', 'b', { cpu: '1500m' }),
    ];
    const s = summarizeResources(nodes, pods);
    assert.equal(s.nodeCount, 2);
    assert.equal(s.readyNodeCount, 1);
    assert.deepEqual(s.capacity, { cpu: '12', memory: '48Gi', pods: '220' });
    assert.deepEqual(s.allocated, { cpu: '2', memory: '1Gi', pods: '2' });
    assert.equal(s.cpuCoreHourUSD, 0.05, 'price over all priced cores: 0.6 $/h / 12 cores');
    assert.deepEqual(s.gpus, {});
  });

  it('counts GPUs by model, and what bound pods take of them', () => {
    const nodes = [node('g1', '8', '32Gi', { gpus: 4, model: 'A100' }), node('g2', '8', '32Gi', { gpus: 1, model: 'T4' }), node('cpu', '4', '8Gi')];
    const pods = [pod('train', 'g1', { 'nvidia.com/gpu': '3' }), pod('infer', 'g2', { 'nvidia.com/gpu': '1' }), pod('gone', 'g1', { 'nvidia.com/gpu': '1' }, 'Failed')];
    const s = summarizeResources(nodes, pods);
    assert.deepEqual(s.gpus, { A100: { capacity: 4, allocatable: 4, allocated: 3 }, T4: { capacity: 1, allocatable: 1, allocated: 1 } });
    assert.equal(s.cpuCoreHourUSD, undefined, 'no node carries a price');
  });

  it('takes the larger of the containers\' sum and one init container, plus overhead', () => {
    const p: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {
      containers: [{ name: 'a', resources: { requests: { cpu: '100m' } } }, { name: 'b', resources: { requests: { cpu: '200m', memory: '1Gi' } } }],
      initContainers: [{ name: 'init', resources: { requests: { cpu: '1', memory: '512Mi' } } }],
      overhead: { cpu: '50m' },
    } };
    const r = podRequests(p);
    assert.equal(r.get('cpu'), 1.05);
    assert.equal(r.get('memory'), 2 ** 30);
  });

  it('models how many pods of each shape fit beside the bound ones, on ready nodes only', () => {
    const nodes = [node('a', '4', '16Gi'), node('b', '4', '16Gi'), node('down', '64', '256Gi', { ready: false })];
    const pods = [pod('x', 'a', { cpu: '3', memory: '1Gi' })];
    const model = resourceModel(nodes, pods, [{ name: 'one-cpu', requests: { cpu: '1', memory: '1Gi' } }, { name: 'gpu', requests: { cpu: '1', 'nvidia.com/gpu': '1' } }]);
    assert.deepEqual(model.map((m) => [m.name, m.maxReplicas]), [['one-cpu', 5], ['gpu', 0]]);
    assert.equal(resourceModel(nodes, [], [{ name: 'tiny', requests: { cpu: '10m' } }], 25)[0]!.maxReplicas, 25, 'the limit caps the count');
  });

  it('counts node by node what the scheduler\'s what-if counts over the whole cluster', () => {
    const nodes = [
      ...Array.from({ length: 6 }, (_, i) => node(`small-${i}`, '4', '16Gi')),
      ...Array.from({ length: 3 }, (_, i) => node(`big-${i}`, '16', '64Gi', { gpus: 2, model: 'L4' })),
    ];
    const pods = [pod('a', 'small-1', { cpu: '1500m', memory: '2Gi' }), pod('b', 'big-2', { cpu: '10', 'nvidia.com/gpu': '1' }), pod('c', 'small-4', { memory: '15Gi' })];
    const shapes: ResourceShape[] = [
      { name: 'small', requests: { cpu: '250m', memory: '256Mi' } },
      { name: 'large', requests: { cpu: '4', memory: '8Gi' } },
      { name: 'gpu', requests: { cpu: '1', memory: '4Gi', 'nvidia.com/gpu': '1' } },
    ];
    for (const entry of resourceModel(nodes, pods, shapes)) {
      const template = { metadata: { name: 'x', namespace: 'default' }, spec: { containers: [{ name: 'm', image: 'i', resources: { requests: entry.requests } }] } };
      assert.equal(entry.maxReplicas, maxReplicas(nodes, pods, template), entry.name);
    }
  });
});

describe('cluster conditions and taints', () => {
  it('keeps lastTransitionTime while the status holds', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'ClusterReady' }, 't1');
    const same = setCondition(first, { type: 'Ready', status: 'True', reason: 'ClusterReady', message: 'again' }, 't2');
    assert.equal(same[0]!.lastTransitionTime, 't1');
    assert.equal(same[0]!.message, 'again');
    const changed = setCondition(same, { type: 'Ready', status: 'Unknown', reason: 'ClusterNotReachable' }, 't3');
    assert.equal(changed[0]!.lastTransitionTime, 't3');
    assert.equal(changed.length, 1);
  });

  it('adds and removes only the managed NoExecute taints, keeping their timeAdded', () => {
    const mine = { key: 'team', value: 'a', effect: 'NoSchedule' as const };
    const tainted = reconcileTaints([mine], ['cluster.nephele.dev/not-ready', 'cluster.nephele.dev/unreachable'], 't1');
    assert.deepEqual(tainted, [mine, { key: 'cluster.nephele.dev/not-ready', effect: 'NoExecute', timeAdded: 't1' }, { key: 'cluster.nephele.dev/unreachable', effect: 'NoExecute', timeAdded: 't1' }]);
    const narrower = reconcileTaints(tainted, ['cluster.nephele.dev/not-ready'], 't2');
    assert.deepEqual(narrower, [mine, { key: 'cluster.nephele.dev/not-ready', effect: 'NoExecute', timeAdded: 't1' }]);
    assert.deepEqual(reconcileTaints(narrower, [], 't3'), [mine]);
  });
});
