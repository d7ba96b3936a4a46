import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlacementSpec } from '../../api/kinds/policy.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { divideByWeight, makeCluster, makeWorkload, schedulePlacement } from './index.ts';

/** Clusters with room for `cores` one-core replicas each. */
function sized(sizes: Record<string, number>): KubeObject[] {
  return Object.entries(sizes).map(([name, cores]) => makeCluster(name).region(`region-${name}`).capacity({ cpu: String(cores), memory: '1Ti' }).obj());
}

const oneCore = (replicas: number) => makeWorkload().replicas(replicas).requests({ cpu: '1' }).obj();
const divided = (more: Partial<NonNullable<PlacementSpec['replicaScheduling']>> = {}): PlacementSpec => ({
  replicaScheduling: { replicaSchedulingType: 'Divided', replicaDivisionPreference: 'Weighted', ...more },
});

function split(clusters: KubeObject[], placement: PlacementSpec, replicas: number, previous?: Array<{ name: string; replicas: number }>): Record<string, number> {
  const r = schedulePlacement({ template: oneCore(replicas), placement, clusters, ...(previous ? { previous } : {}) });
  assert.equal(r.status.code, 'Success', r.status.message());
  return Object.fromEntries(r.clusters.map((c) => [c.name, c.replicas]));
}

describe('divideByWeight', () => {
  it('splits by weight with the remainder to the largest fractions, then by name', () => {
    assert.deepEqual(divideByWeight(10, [90, 10], [100, 100], ['a', 'b']), [9, 1]);
    assert.deepEqual(divideByWeight(10, [1, 1, 1], [100, 100, 100], ['c', 'a', 'b']), [3, 4, 3]);
    assert.deepEqual(divideByWeight(9, [1, 3], [100, 100], ['a', 'b']), [2, 7]);
  });

  it('caps a share and gives the rest to the others; stops short when caps do not hold the total', () => {
    assert.deepEqual(divideByWeight(10, [1, 1], [2, 100], ['a', 'b']), [2, 8]);
    assert.deepEqual(divideByWeight(10, [5, 5, 0], [3, 4, 100], ['a', 'b', 'c']), [3, 4, 0]);
  });
});

describe('division modes on clusters of different sizes', () => {
  const clusters = sized({ big: 60, mid: 30, small: 10 });

  it('Duplicated gives every cluster all replicas and filters those without room', () => {
    assert.deepEqual(split(clusters, {}, 10), { big: 10, mid: 10, small: 10 });
    const r = schedulePlacement({ template: oneCore(20), placement: { replicaScheduling: { replicaSchedulingType: 'Duplicated' } }, clusters });
    assert.deepEqual(r.clusters, [{ name: 'big', replicas: 20 }, { name: 'mid', replicas: 20 }]);
    const small = r.explanation.find((e) => e.cluster === 'small')!;
    assert.equal(small.result, 'Filtered');
    assert.equal(small.plugin, 'ReplicaEstimate');
    assert.equal(small.availableReplicas, 10);
  });

  it('static weights 90/10 give 9 and 1 of 10; clusters without a weight get none', () => {
    const placement = divided({ weightPreference: { staticWeightList: [{ targetCluster: { clusterNames: ['small'] }, weight: 90 }, { targetCluster: { clusterNames: ['mid'] }, weight: 10 }] } });
    assert.deepEqual(split(clusters, placement, 10), { small: 9, mid: 1 });
    const r = schedulePlacement({ template: oneCore(10), placement, clusters });
    assert.equal(r.explanation.find((e) => e.cluster === 'big')!.result, 'NotSelected');
  });

  it('static weights never put more on a cluster than it has room for', () => {
    const placement = divided({ weightPreference: { staticWeightList: [{ targetCluster: { clusterNames: ['small'] }, weight: 90 }, { targetCluster: { labelSelector: {} }, weight: 10 }] } });
    assert.deepEqual(split(clusters, placement, 40), { small: 10, big: 15, mid: 15 });
  });

  it('Weighted without weights divides evenly', () => {
    assert.deepEqual(split(clusters, divided(), 10), { big: 4, mid: 3, small: 3 });
  });

  it('dynamic weight by available replicas follows the room each cluster has', () => {
    assert.deepEqual(split(clusters, divided({ weightPreference: { dynamicWeight: 'AvailableReplicas' } }), 10), { big: 6, mid: 3, small: 1 });
  });

  it('Aggregated uses as few clusters as possible', () => {
    const aggregated: PlacementSpec = { replicaScheduling: { replicaSchedulingType: 'Divided', replicaDivisionPreference: 'Aggregated' } };
    assert.deepEqual(split(clusters, aggregated, 50), { big: 50 });
    assert.deepEqual(split(sized({ a: 8, b: 5, c: 3 }), aggregated, 10), { a: 6, b: 4 });
  });

  it('reports a shortfall instead of over-committing, unless asked to', () => {
    const placement = divided({ weightPreference: { dynamicWeight: 'AvailableReplicas' } });
    const r = schedulePlacement({ template: oneCore(120), placement, clusters });
    assert.equal(r.status.code, 'Unschedulable');
    assert.equal(r.status.message(), '3/3 clusters are available, but they can take only 100 of 120 replicas.');
    assert.deepEqual(r.clusters, []);
    const over = schedulePlacement({ template: oneCore(120), placement, clusters, options: { overcommit: true } });
    assert.deepEqual(over.clusters.map((c) => c.replicas).reduce((a, b) => a + b), 120);
  });

  it('a template without replicas goes to every selected cluster, undivided', () => {
    const configMap: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'default' }, data: { a: '1' } };
    const r = schedulePlacement({ template: configMap, placement: divided({ weightPreference: { dynamicWeight: 'AvailableReplicas' } }), clusters });
    assert.deepEqual(r.clusters, [{ name: 'big', replicas: 0 }, { name: 'mid', replicas: 0 }, { name: 'small', replicas: 0 }]);
  });
});

describe('steady re-division when replicas change', () => {
  const clusters = sized({ a: 100, b: 100, c: 100 });
  const dynamic = divided({ weightPreference: { dynamicWeight: 'AvailableReplicas' } });

  it('scales down in proportion to what each cluster holds', () => {
    assert.deepEqual(split(clusters, dynamic, 5, [{ name: 'a', replicas: 6 }, { name: 'b', replicas: 4 }]), { a: 3, b: 2 });
  });

  it('scales up by dividing only the new replicas; the old ones stay', () => {
    // a and b already hold 10 (counted in their allocated), so fresh room differs from the split below.
    assert.deepEqual(split(clusters, dynamic, 13, [{ name: 'a', replicas: 6 }, { name: 'b', replicas: 4 }]), { a: 7, b: 5, c: 1 });
  });

  it('keeps an unchanged decision, and moves the replicas of a cluster that is gone', () => {
    assert.deepEqual(split(clusters, dynamic, 10, [{ name: 'a', replicas: 7 }, { name: 'c', replicas: 3 }]), { a: 7, c: 3 });
    assert.deepEqual(split(sized({ a: 100, b: 100 }), dynamic, 10, [{ name: 'a', replicas: 7 }, { name: 'c', replicas: 3 }]), { a: 9, b: 1 }); // 3 new: 1.5 each, the tie to a by name
  });

  it('Fresh assignment divides anew', () => {
    const r = schedulePlacement({ template: oneCore(9), placement: dynamic, clusters, previous: [{ name: 'a', replicas: 9 }], options: { assignment: 'Fresh' } });
    assert.deepEqual(r.clusters, [{ name: 'a', replicas: 3 }, { name: 'b', replicas: 3 }, { name: 'c', replicas: 3 }]);
  });
});
