import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlacementSpec } from '../../api/kinds/policy.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { makeCluster, makeWorkload, PlacementStatus, schedulePlacement, type ClusterFilterPlugin, type PlacementInput } from './index.ts';

const cap = { cpu: '100', memory: '400Gi', pods: 1000 };
const web = (replicas: number) => makeWorkload().replicas(replicas).requests({ cpu: '1', memory: '1Gi' }).obj();
const weighted: PlacementSpec['replicaScheduling'] = { replicaSchedulingType: 'Divided', replicaDivisionPreference: 'Weighted' };

function byName(r: ReturnType<typeof schedulePlacement>): Record<string, number> {
  assert.equal(r.status.code, 'Success', r.status.message());
  return Object.fromEntries(r.clusters.map((c) => [c.name, c.replicas]));
}

/** Two clusters in each of three regions; `price` per region makes some regions better than others. */
function threeRegions(): KubeObject[] {
  const prices: Record<string, number> = { 'us-east-1': 0.03, 'eu-west-1': 0.04, 'ap-south-1': 0.05 };
  return Object.entries(prices).flatMap(([region, price]) => ['1', '2'].map((n) => makeCluster(`${region}-${n}`).provider('aws').region(region).capacity(cap).price(price + Number(n) / 1000).obj()));
}

describe('spread constraints (Karmada semantics)', () => {
  it('region minGroups 2 / maxGroups 2 picks the two best regions, each with a cluster', () => {
    const r = schedulePlacement({
      template: web(8),
      clusters: threeRegions(),
      placement: { objectives: { cost: 1 }, replicaScheduling: weighted, spreadConstraints: [{ spreadByField: 'region', minGroups: 2, maxGroups: 2 }, { spreadByField: 'cluster', minGroups: 2, maxGroups: 2 }] },
    });
    // One cluster per chosen region (the best of each), since only two clusters are allowed.
    assert.deepEqual(Object.keys(byName(r)), ['eu-west-1-1', 'us-east-1-1']);
    const left = r.explanation.find((e) => e.cluster === 'ap-south-1-1')!;
    assert.equal(left.result, 'NotSelected');
    assert.match(left.reason!, /region ap-south-1 is not among the 2 chosen/);
  });

  it('uses the fewest regions from minGroups up, and every cluster in them when the cluster count is not bounded', () => {
    const r = schedulePlacement({ template: web(6), clusters: threeRegions(), placement: { objectives: { cost: 1 }, replicaScheduling: weighted, spreadConstraints: [{ spreadByField: 'region', minGroups: 1, maxGroups: 3 }] } });
    assert.deepEqual(Object.keys(byName(r)), ['us-east-1-1', 'us-east-1-2']);
  });

  it('grows the number of regions until the replicas fit, up to maxGroups', () => {
    const small = threeRegions().map((c) => ({ ...c, status: { ...(c.status as object), allocatable: { cpu: '4', memory: '400Gi' } } }));
    const r = schedulePlacement({ template: web(12), clusters: small, placement: { objectives: { cost: 1 }, replicaScheduling: weighted, spreadConstraints: [{ spreadByField: 'region', minGroups: 1, maxGroups: 3 }] } });
    assert.deepEqual(Object.keys(byName(r)).sort(), ['eu-west-1-1', 'eu-west-1-2', 'us-east-1-1', 'us-east-1-2']);
  });

  it('is unschedulable when fewer regions than minGroups have feasible clusters', () => {
    const clusters = threeRegions();
    const r = schedulePlacement({ template: web(6), clusters, placement: { residency: { regions: ['us-east-1', 'eu-west-1'] }, spreadConstraints: [{ spreadByField: 'region', minGroups: 3, maxGroups: 3 }] } });
    assert.equal(r.status.code, 'Unschedulable');
    assert.equal(r.status.message(), '4/6 clusters are available, but the spread constraints need at least 3 regions but only 2 have feasible clusters; 2 cluster(s) outside the allowed regions.');
  });

  it('a cluster constraint alone bounds the number of clusters, best first', () => {
    const r = schedulePlacement({ template: web(4), clusters: threeRegions(), placement: { objectives: { cost: 1 }, spreadConstraints: [{ spreadByField: 'cluster', maxGroups: 2 }] } });
    assert.deepEqual(byName(r), { 'us-east-1-1': 4, 'us-east-1-2': 4 });
    const tooFew = schedulePlacement({ template: web(4), clusters: threeRegions(), placement: { spreadConstraints: [{ spreadByField: 'cluster', minGroups: 7 }] } });
    assert.match(tooFew.status.message(), /need at least 7 clusters/);
  });

  it('spreads by provider and by label too', () => {
    const clusters = [
      makeCluster('aws-a').provider('aws').labels({ site: 'x' }).capacity(cap).price(0.01).obj(),
      makeCluster('aws-b').provider('aws').labels({ site: 'y' }).capacity(cap).price(0.02).obj(),
      makeCluster('gcp-a').provider('gcp').labels({ site: 'x' }).capacity(cap).price(0.05).obj(),
    ];
    const byProvider = schedulePlacement({ template: web(2), clusters, placement: { objectives: { cost: 1 }, spreadConstraints: [{ spreadByField: 'provider', minGroups: 2, maxGroups: 2 }, { spreadByField: 'cluster', maxGroups: 2 }] } });
    assert.deepEqual(Object.keys(byName(byProvider)), ['aws-a', 'gcp-a']);
    const byLabel = schedulePlacement({ template: web(2), clusters, placement: { objectives: { cost: 1 }, spreadConstraints: [{ spreadByLabel: 'site', minGroups: 2, maxGroups: 2 }, { spreadByField: 'cluster', maxGroups: 2 }] } });
    assert.deepEqual(Object.keys(byName(byLabel)), ['aws-a', 'aws-b']);
  });
});

describe('ordered clusterAffinities', () => {
  const clusters = [
    makeCluster('onprem-1').provider('onprem').labels({ tier: 'primary' }).capacity({ cpu: '4', memory: '64Gi' }).obj(),
    makeCluster('onprem-2').provider('onprem').labels({ tier: 'primary' }).capacity(cap).notReady().obj(),
    makeCluster('cloud-1').provider('aws').labels({ tier: 'burst' }).capacity(cap).obj(),
  ];
  const placement = (replicas: NonNullable<PlacementSpec['replicaScheduling']>): PlacementSpec => ({
    replicaScheduling: replicas,
    clusterAffinities: [
      { affinityName: 'local', labelSelector: { matchLabels: { tier: 'primary' } } },
      { affinityName: 'cloud', fieldSelector: { matchExpressions: [{ key: 'provider', operator: 'In', values: ['aws'] }] } },
    ],
  });
  const dynamic = { ...weighted, weightPreference: { dynamicWeight: 'AvailableReplicas' as const } };

  it('uses the first term that yields a placement and records its name', () => {
    const r = schedulePlacement({ template: web(3), clusters, placement: placement(dynamic) });
    assert.deepEqual(byName(r), { 'onprem-1': 3 });
    assert.equal(r.affinityName, 'local');
  });

  it('falls back to the next term when the first cannot hold the replicas', () => {
    const r = schedulePlacement({ template: web(10), clusters, placement: placement(dynamic) });
    assert.deepEqual(byName(r), { 'cloud-1': 10 });
    assert.equal(r.affinityName, 'cloud');
    assert.equal(r.explanation.find((e) => e.cluster === 'onprem-1')!.result, 'Filtered');
  });

  it('reports every term when none works', () => {
    const r = schedulePlacement({ template: web(500), clusters, placement: placement(dynamic) });
    assert.equal(r.status.code, 'Unschedulable');
    assert.match(r.status.message(), /^no cluster affinity term yields a placement: \[local\] 1\/3 clusters are available, but they can take only 4 of 500 replicas; .*\[cloud\]/);
    assert.equal(r.affinityName, undefined);
  });

  it('rejects clusterAffinity and clusterAffinities together', () => {
    const r = schedulePlacement({ template: web(1), clusters, placement: { ...placement(dynamic), clusterAffinity: { clusterNames: ['cloud-1'] } } });
    assert.equal(r.status.code, 'Error');
    assert.match(r.status.message(), /either clusterAffinity or clusterAffinities/);
  });
});

describe('objectives', () => {
  it('cost-weighted: identical clusters but for price, the cheaper one gets more replicas', () => {
    const clusters = [makeCluster('cheap').capacity(cap).price(0.02).obj(), makeCluster('dear').capacity(cap).price(0.05).obj()];
    const r = schedulePlacement({ template: web(10), clusters, placement: { objectives: { cost: 1 }, replicaScheduling: weighted } });
    const split = byName(r);
    assert.ok(split.cheap! > split.dear!, JSON.stringify(split));
    assert.equal(split.cheap! + split.dear!, 10);
    // 100 × (0.02 + ε) / (0.05 + ε) with ε = 1% of the dearest: 40.6, so 10 × 100/140.6 ≈ 7.1.
    assert.deepEqual(split, { cheap: 7, dear: 3 });
    const dear = r.explanation.find((e) => e.cluster === 'dear')!;
    assert.equal(dear.scores!.cost, 40.59);
  });

  it('latency-weighted: favours the cluster nearest the user region', () => {
    const clusters = [
      makeCluster('virginia').region('us-east-1').capacity(cap).latency({ 'europe-west': 80, 'us-east': 2 }).obj(),
      makeCluster('frankfurt').region('eu-central-1').capacity(cap).latency({ 'europe-west': 10, 'us-east': 90 }).obj(),
    ];
    const placement: PlacementSpec = { objectives: { latency: 1, userRegions: { 'europe-west': 0.9, 'us-east': 0.1 } }, replicaScheduling: { replicaSchedulingType: 'Divided', replicaDivisionPreference: 'Aggregated' } };
    assert.deepEqual(byName(schedulePlacement({ template: web(10), clusters, placement })), { frankfurt: 10 });
    const split = byName(schedulePlacement({ template: web(10), clusters, placement: { ...placement, replicaScheduling: weighted } }));
    assert.ok(split.frankfurt! > split.virginia!, JSON.stringify(split));
  });

  it('energy-weighted: lower carbon intensity × PUE ranks first', () => {
    const clusters = [makeCluster('coal').capacity(cap).energy(700, 1.2).obj(), makeCluster('hydro').capacity(cap).energy(30, 1.1).obj()];
    const r = schedulePlacement({ template: web(4), clusters, placement: { objectives: { energy: 1 }, spreadConstraints: [{ spreadByField: 'cluster', maxGroups: 1 }] } });
    assert.deepEqual(byName(r), { hydro: 4 });
  });

  it('data residency excludes clusters outside the allowed regions even when they are cheaper', () => {
    const clusters = [
      makeCluster('eu').region('eu-central-1').capacity(cap).price(0.08).obj(),
      makeCluster('us-cheap').region('us-east-1').capacity(cap).price(0.01).obj(),
    ];
    const r = schedulePlacement({ template: web(10), clusters, placement: { residency: { regions: ['eu-central-1'] }, objectives: { cost: 10 }, replicaScheduling: weighted } });
    assert.deepEqual(byName(r), { eu: 10 });
    assert.equal(r.explanation.find((e) => e.cluster === 'us-cheap')!.plugin, 'Residency');
  });

  it('a cluster with no price scores 0 on cost but still takes replicas the others cannot hold', () => {
    const clusters = [makeCluster('priced').capacity({ cpu: '3', memory: '64Gi' }).price(0.02).obj(), makeCluster('unpriced').capacity(cap).obj()];
    const r = schedulePlacement({ template: web(5), clusters, placement: { objectives: { cost: 1 }, replicaScheduling: weighted } });
    assert.deepEqual(byName(r), { priced: 3, unpriced: 2 });
    assert.equal(r.explanation.find((e) => e.cluster === 'unpriced')!.scores!.cost, 0);
  });
});

describe('determinism and stability', () => {
  const clusters = threeRegions();
  const input: PlacementInput = {
    template: web(10),
    clusters,
    placement: { objectives: { cost: 0.6, energy: 0.2, latency: 0.2, userRegions: { eu: 1 } }, replicaScheduling: weighted, spreadConstraints: [{ spreadByField: 'region', minGroups: 2, maxGroups: 3 }] },
  };

  it('gives exactly the same output for the same inputs, whatever the order of the clusters', () => {
    const a = schedulePlacement(input);
    const b = schedulePlacement({ ...input, clusters: [...clusters].reverse().map((c) => structuredClone(c)) });
    assert.deepEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)));
  });

  it('gives back a decision unchanged when it is fed back as the previous one', () => {
    const first = schedulePlacement(input);
    const again = schedulePlacement({ ...input, previous: first.clusters });
    assert.deepEqual(again.clusters, first.clusters);
    assert.equal(again.explanation.find((e) => e.cluster === first.clusters[0]!.name)!.scores!.ClusterLocality, 100);
  });

  it('respects the previous decision: nothing moves to a slightly better cluster', () => {
    const previous = [{ name: 'eu-west-1-1', replicas: 5 }, { name: 'eu-west-1-2', replicas: 5 }];
    const r = schedulePlacement({ ...input, previous, placement: { ...input.placement, spreadConstraints: [{ spreadByField: 'region', minGroups: 1, maxGroups: 1 }] } });
    assert.deepEqual(byName(r), { 'eu-west-1-1': 5, 'eu-west-1-2': 5 });
    const fresh = schedulePlacement({ ...input, placement: { ...input.placement, spreadConstraints: [{ spreadByField: 'region', minGroups: 1, maxGroups: 1 }] } });
    assert.deepEqual(Object.keys(byName(fresh)), ['us-east-1-1', 'us-east-1-2']);
  });

  it('explains every cluster, filtered ones with plugin and reason', () => {
    const withDown = [...clusters, makeCluster('down').region('us-east-1').capacity(cap).notReady().obj()];
    const r = schedulePlacement({ ...input, clusters: withDown });
    assert.equal(r.explanation.length, withDown.length);
    const down = r.explanation.find((e) => e.cluster === 'down')!;
    assert.deepEqual({ result: down.result, plugin: down.plugin }, { result: 'Filtered', plugin: 'Readiness' });
    for (const e of r.explanation.filter((x) => x.result === 'Selected')) {
      assert.equal(typeof e.score, 'number');
      assert.ok(e.replicas! > 0);
      assert.equal(e.availableReplicas, 100);
      // No cluster reports energy or latency, so only cost ranks them.
      assert.deepEqual(Object.keys(e.scores!).sort(), ['cost', 'objective']);
    }
  });
});

describe('plugin profiles', () => {
  it('a profile can drop a filter and a registry can add a plugin', () => {
    const clusters = [makeCluster('down').capacity(cap).notReady().obj(), makeCluster('odd').labels({ quarantine: 'true' }).capacity(cap).obj()];
    const noQuarantine = {
      name: 'NoQuarantine',
      filter: (_cycle, cluster) => (cluster.labels.quarantine ? PlacementStatus.unschedulable('quarantined') : PlacementStatus.success),
    } satisfies ClusterFilterPlugin;
    const r = schedulePlacement({ template: web(1), clusters, placement: {}, options: { profile: { filters: ['NoQuarantine'], scores: [] }, registry: { NoQuarantine: () => noQuarantine } } });
    assert.deepEqual(byName(r), { down: 1 });
    assert.equal(r.explanation.find((e) => e.cluster === 'odd')!.plugin, 'NoQuarantine');
    const unknown = schedulePlacement({ template: web(1), clusters, placement: {}, options: { profile: { filters: ['Nope'], scores: [] } } });
    assert.match(unknown.status.message(), /unknown placement plugin "Nope"; known: .*ClusterAffinity/);
  });
});

