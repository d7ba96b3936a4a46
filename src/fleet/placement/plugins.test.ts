import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlacementSpec } from '../../api/kinds/policy.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { defaultReplicaEstimator, gpuShapeName, replicaRequirements, schedulePlacement, clusterInfo, makeCluster, makeWorkload } from './index.ts';

const cap = { cpu: '64', memory: '256Gi', pods: 500 };
const web = makeWorkload().replicas(4).requests({ cpu: '1', memory: '1Gi' }).obj();

function run(clusters: KubeObject[], placement: PlacementSpec, template = web) {
  return schedulePlacement({ template, placement, clusters });
}

function filtered(result: ReturnType<typeof run>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of result.explanation) if (e.result === 'Filtered') out[e.cluster] = `${e.plugin}: ${e.reason}`;
  return out;
}

function names(result: ReturnType<typeof run>): string[] {
  return result.clusters.map((c) => c.name);
}

describe('ClusterAffinity', () => {
  const clusters = [
    makeCluster('a').provider('aws').region('us-east-1').zone('us-east-1a').labels({ env: 'prod' }).capacity(cap).obj(),
    makeCluster('b').provider('gcp').region('europe-west1').zone('europe-west1-b').labels({ env: 'prod' }).capacity(cap).obj(),
    makeCluster('c').provider('azure').region('eastus').labels({ env: 'dev' }).capacity(cap).obj(),
  ];

  it('keeps only the named clusters, minus the excluded ones', () => {
    const r = run(clusters, { clusterAffinity: { clusterNames: ['a', 'b'], exclude: ['b'] } });
    assert.deepEqual(names(r), ['a']);
    assert.match(filtered(r).b!, /^ClusterAffinity: .*excluded/);
    assert.match(filtered(r).c!, /not among the named clusters/);
  });

  it('matches labels with matchLabels and matchExpressions', () => {
    assert.deepEqual(names(run(clusters, { clusterAffinity: { labelSelector: { matchLabels: { env: 'prod' } } } })), ['a', 'b']);
    const r = run(clusters, { clusterAffinity: { labelSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] } } });
    assert.deepEqual(names(r), ['c']);
    assert.match(filtered(r).a!, /labels do not match env notin \(prod\)/);
  });

  it('matches provider, region and zone with the field selector; a missing field is not In', () => {
    assert.deepEqual(names(run(clusters, { clusterAffinity: { fieldSelector: { matchExpressions: [{ key: 'provider', operator: 'In', values: ['aws', 'gcp'] }] } } })), ['a', 'b']);
    assert.deepEqual(names(run(clusters, { clusterAffinity: { fieldSelector: { matchExpressions: [{ key: 'region', operator: 'NotIn', values: ['us-east-1'] }] } } })), ['b', 'c']);
    const r = run(clusters, { clusterAffinity: { fieldSelector: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['us-east-1a', 'europe-west1-b'] }] } } });
    assert.deepEqual(names(r), ['a', 'b']);
    assert.match(filtered(r).c!, /zone \(none\) is not in/);
  });
});

describe('TaintToleration', () => {
  const clusters = [
    makeCluster('gpu').taint('dedicated', 'NoSchedule', 'ml').capacity(cap).obj(),
    makeCluster('draining').taint('maintenance', 'NoExecute').capacity(cap).obj(),
    makeCluster('soft').taint('spot', 'PreferNoSchedule').capacity(cap).obj(),
  ];

  it('filters NoSchedule and NoExecute taints that are not tolerated, never PreferNoSchedule', () => {
    const r = run(clusters, {});
    assert.deepEqual(names(r), ['soft']);
    assert.equal(filtered(r).gpu, 'TaintToleration: untolerated taint {dedicated=ml:NoSchedule}');
    assert.match(r.explanation.find((e) => e.cluster === 'draining')!.reason!, /maintenance:NoExecute/);
  });

  it('lets Equal and Exists tolerations through, matching key, value and effect', () => {
    assert.deepEqual(names(run(clusters, { clusterTolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }] })), ['gpu', 'soft']);
    assert.deepEqual(names(run(clusters, { clusterTolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web' }] })), ['soft']);
    assert.deepEqual(names(run(clusters, { clusterTolerations: [{ key: 'maintenance', operator: 'Exists', effect: 'NoSchedule' }] })), ['soft']);
    assert.deepEqual(names(run(clusters, { clusterTolerations: [{ operator: 'Exists' }] })), ['draining', 'gpu', 'soft']);
  });
});

describe('Residency', () => {
  it('filters clusters outside the allowed regions and providers, and clusters that do not say', () => {
    const clusters = [
      makeCluster('eu-aws').provider('aws').region('eu-central-1').capacity(cap).obj(),
      makeCluster('eu-gcp').provider('gcp').region('europe-west1').capacity(cap).obj(),
      makeCluster('us').provider('aws').region('us-east-1').capacity(cap).obj(),
      makeCluster('nowhere').capacity(cap).obj(),
    ];
    const r = run(clusters, { residency: { regions: ['eu-central-1', 'europe-west1'], providers: ['aws'] } });
    assert.deepEqual(names(r), ['eu-aws']);
    assert.equal(filtered(r)['eu-gcp'], 'Residency: provider gcp is not an allowed provider [aws]');
    assert.match(filtered(r).us!, /region us-east-1 is not an allowed region/);
    assert.match(filtered(r).nowhere!, /region \(none\)/);
  });
});

describe('ClusterAccess', () => {
  it('never places on a cluster registered ReadOnly, even the cheapest, and says why', () => {
    const r = run([makeCluster('owned').capacity(cap).price(0.05).obj(), makeCluster('shared').capacity(cap).price(0.01).readOnly().obj()], {});
    assert.deepEqual(names(r), ['owned']);
    assert.equal(filtered(r).shared, 'ClusterAccess: the cluster is registered ReadOnly on this hub: another hub places workloads there');
  });
});

describe('Readiness', () => {
  it('filters NotReady clusters and clusters without a Ready condition, giving the reason', () => {
    const silent = makeCluster('silent').capacity(cap).obj();
    (silent.status as Record<string, unknown>).conditions = [];
    const r = run([makeCluster('up').capacity(cap).obj(), makeCluster('down').capacity(cap).notReady('Offline', 'lease expired').obj(), silent], {});
    assert.deepEqual(names(r), ['up']);
    assert.equal(filtered(r).down, 'Readiness: Ready=False (Offline: lease expired)');
    assert.match(filtered(r).silent!, /^Readiness: Ready=Unknown/);
  });

  it('counts the causes in a kube-scheduler-like message when nothing is left', () => {
    const clusters = [
      makeCluster('a').region('us-east-1').capacity(cap).obj(),
      makeCluster('b').region('us-west-2').capacity(cap).obj(),
      makeCluster('c').region('eu-west-1').capacity(cap).notReady().obj(),
      makeCluster('d').region('eu-west-1').capacity(cap).notReady().obj(),
      makeCluster('e').region('eu-west-1').capacity(cap).notReady().obj(),
    ];
    const r = run(clusters, { residency: { regions: ['eu-west-1'] } });
    assert.equal(r.status.code, 'Unschedulable');
    assert.equal(r.status.message(), '0/5 clusters are available: 3 cluster(s) NotReady, 2 cluster(s) outside the allowed regions.');
    assert.deepEqual(r.clusters, []);
  });
});

describe('ResourceConstraints (GPU)', () => {
  const gpuJob = makeWorkload().kind('Job').replicas(2).requests({ cpu: '8', memory: '64Gi' }).obj();
  const fourA100: PlacementSpec = { resourceConstraints: { gpu: { model: 'A100-40GB', count: 4 } }, replicaScheduling: { replicaSchedulingType: 'Divided', replicaDivisionPreference: 'Weighted', weightPreference: { dynamicWeight: 'AvailableReplicas' } } };

  it('places replicas only on clusters with that many free GPUs of the model', () => {
    const clusters = [
      makeCluster('a100-free').capacity(cap).gpus('A100-40GB', 16, 4).obj(), // 12 free: 3 replicas
      makeCluster('a100-busy').capacity(cap).gpus('A100-40GB', 8, 6).obj(), // 2 free
      makeCluster('h100').capacity(cap).gpus('H100-SXM', 32).obj(),
      makeCluster('cpu-only').capacity(cap).obj(),
    ];
    const r = run(clusters, fourA100, gpuJob);
    assert.deepEqual(r.clusters, [{ name: 'a100-free', replicas: 2 }]);
    assert.match(filtered(r)['a100-busy']!, /^ResourceConstraints: lacks 4 free A100-40GB GPU\(s\) on a node \(2 of 8 free/);
    assert.equal(filtered(r).h100, 'ResourceConstraints: has no A100-40GB GPUs');
    assert.equal(filtered(r)['cpu-only'], 'ResourceConstraints: has no A100-40GB GPUs');
    assert.equal(r.explanation.find((e) => e.cluster === 'a100-free')!.availableReplicas, 3);
  });

  it('believes the node-aware resource-model shape over the cluster totals', () => {
    // 8 free GPUs in total, but spread 2 per node: no node can take 4.
    const fragmented = makeCluster('fragmented').capacity(cap).gpus('A100-40GB', 8).shape(gpuShapeName(4, 'A100-40GB'), { 'nvidia.com/gpu': 4 }, 0).obj();
    const whole = makeCluster('whole').capacity(cap).gpus('A100-40GB', 8).shape(gpuShapeName(4, 'A100-40GB'), { 'nvidia.com/gpu': 4 }, 2).obj();
    const r = run([fragmented, whole], fourA100, gpuJob);
    assert.deepEqual(r.clusters, [{ name: 'whole', replicas: 2 }]);
    assert.match(filtered(r).fragmented!, /lacks 4 free A100-40GB/);
  });

  it('reads the GPU count from the template when the placement names none', () => {
    const req = replicaRequirements(makeWorkload().limits({ 'nvidia.com/gpu': 2 }).obj(), {});
    assert.deepEqual(req.gpu, { model: undefined, count: 2 });
    const r = run([makeCluster('t4').capacity(cap).gpus('T4', 1).obj(), makeCluster('l4').capacity(cap).gpus('L4', 4).obj()], {}, makeWorkload().replicas(1).limits({ 'nvidia.com/gpu': 2 }).obj());
    assert.deepEqual(names(r), ['l4']);
  });
});

describe('SpreadConstraint filter', () => {
  it('filters clusters that lack the field or label the constraints group by', () => {
    const r = run([makeCluster('a').region('r1').labels({ rack: 'x' }).capacity(cap).obj(), makeCluster('b').capacity(cap).obj()], { spreadConstraints: [{ spreadByLabel: 'rack', minGroups: 1, maxGroups: 2 }] });
    assert.deepEqual(names(r), ['a']);
    assert.equal(filtered(r).b, 'SpreadConstraint: has no label rack, which the spread constraints group clusters by');
  });
});

describe('defaultReplicaEstimator', () => {
  const req = (template: KubeObject) => replicaRequirements(template, {});

  it('takes the minimum over requested resources and free pods', () => {
    const c = clusterInfo(makeCluster('c').capacity({ cpu: '10', memory: '64Gi', pods: 100 }, { cpu: '2500m', memory: '4Gi', pods: 95 }).obj());
    assert.equal(defaultReplicaEstimator(c, req(makeWorkload().requests({ cpu: '500m', memory: '1Gi' }).obj())), 5); // pods bound
    assert.equal(defaultReplicaEstimator(c, req(makeWorkload().requests({ cpu: '2', memory: '1Gi' }).obj())), 3); // 7.5 cores free
    assert.equal(defaultReplicaEstimator(c, req(makeWorkload().requests({ 'example.com/fpga': 1 }).obj())), 0); // not offered
    assert.equal(defaultReplicaEstimator(clusterInfo(makeCluster('blind').obj()), req(web)), 0); // reports nothing
  });

  it('uses a resource-model shape that matches the replica exactly', () => {
    const c = clusterInfo(makeCluster('m').capacity({ cpu: '100', memory: '400Gi' }).shape('medium', { cpu: '1', memory: '1Gi' }, 37).obj());
    assert.equal(defaultReplicaEstimator(c, req(makeWorkload().requests({ cpu: '1000m', memory: '1024Mi' }).obj())), 37);
    assert.equal(defaultReplicaEstimator(c, req(makeWorkload().requests({ cpu: '2', memory: '1Gi' }).obj())), 50);
  });

  it('sums containers and counts a larger init container, and a limit without a request', () => {
    const template = makeWorkload().obj();
    const podSpec = ((template.spec as Record<string, unknown>).template as { spec: Record<string, unknown> }).spec;
    podSpec.containers = [{ name: 'a', resources: { requests: { cpu: '250m' } } }, { name: 'b', resources: { limits: { cpu: '750m', memory: '1Gi' } } }];
    podSpec.initContainers = [{ name: 'init', resources: { requests: { cpu: '2' } } }];
    assert.deepEqual(replicaRequirements(template, {}).resources, { cpu: 2, memory: 2 ** 30 });
  });
});

describe('bad input', () => {
  it('returns an Error status that says what to fix', () => {
    assert.match(run([makeCluster('a').obj()], {}, makeWorkload().replicas(-1).obj()).status.message(), /spec.replicas must be a non-negative integer, got -1/);
    const broken = makeCluster('broken').capacity({ cpu: 'lots' }).obj();
    const r = run([broken], {});
    assert.equal(r.status.code, 'Error');
    assert.match(r.status.message(), /cluster broken: status.allocatable.cpu: "lots" is not a Kubernetes quantity/);
    assert.match(run([makeCluster('a').obj()], { spreadConstraints: [{ spreadByField: 'region', spreadByLabel: 'x' }] }).status.message(), /set exactly one of spreadByField and spreadByLabel/);
  });
});
