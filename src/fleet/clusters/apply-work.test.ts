import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../machinery/object.ts';
import { InProcessMemberClient } from '../../member/index.ts';
import { startSimulatedCluster, type SimulatedCluster } from '../../sim/cluster.ts';
import { applyWork, pruneWork, workStatus } from './apply-work.ts';
import { FailableMemberClient } from './failable-member.ts';

const configMaps = { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };

function configMap(name: string, namespace: string, data: Record<string, string>): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

function work(name: string, manifests: unknown[], status?: unknown): KubeObject {
  return { apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Work', metadata: { name, namespace: 'nephele-cluster-m' }, spec: { workload: { manifests } }, ...(status ? { status } : {}) };
}

describe('applyWork and pruneWork', () => {
  let cluster: SimulatedCluster;
  let member: InProcessMemberClient;
  before(async () => {
    cluster = await startSimulatedCluster({ name: 'm', controllers: false });
    member = new InProcessMemberClient(cluster);
  });
  after(async () => {
    await member.close();
    await cluster.stop();
  });

  it('applies every manifest it can, labelled with the Work, creating missing namespaces, and reports the rest', async () => {
    const w = work('w1', [configMap('a', 'team-a', { k: '1' }), { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x', namespace: 'team-a' } }, { kind: 'ConfigMap' }]);
    const summary = await applyWork(member, w);
    assert.equal(summary.applied, false);
    assert.deepEqual(summary.manifestStatuses.map((m) => [m.identifier.name, m.health]), [['a', 'Healthy']]);
    assert.equal(summary.errors.length, 2);
    assert.match(summary.errors[0]!.message, /Widget team-a\/x \(example\.com\/v1\): member cluster m does not serve Widget in example\.com\/v1/);
    assert.match(summary.errors[1]!.message, /manifests\[2\] needs apiVersion, kind and metadata\.name/);
    const a = await member.objects.get(configMaps, 'team-a', 'a');
    assert.equal(a.metadata.labels?.['fleet.nephele.dev/work'], 'w1');
    assert.equal(a.metadata.labels?.['fleet.nephele.dev/work-namespace'], 'nephele-cluster-m');
    assert.ok(a.metadata.managedFields?.some((f) => f.manager === 'nephele-agent' && f.operation === 'Apply'));
    const status = workStatus(summary, undefined, '2026-01-01T00:00:00Z');
    assert.equal(status.conditions[0]!.status, 'False');
    assert.equal(status.conditions[0]!.reason, 'AppliedFailed');
  });

  it('prunes what an earlier apply listed and the Work no longer does, but never objects of another Work', async () => {
    const first = work('w2', [configMap('keep', 'default', { v: '1' }), configMap('drop', 'default', { v: '1' })]);
    const applied = await applyWork(member, first);
    assert.equal(applied.applied, true);
    await member.objects.create(configMaps, 'default', configMap('foreign', 'default', { v: 'theirs' }));
    const next = work('w2', [configMap('keep', 'default', { v: '2' })], workStatus(applied, undefined, 't'));
    // Pretend the status also listed an object some other Work (or a person) owns.
    (next.status as { manifestStatuses: unknown[] }).manifestStatuses.push({ identifier: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'foreign' } });
    const second = await applyWork(member, next);
    assert.deepEqual(second.pruned.map((id) => id.name), ['drop']);
    assert.equal(((await member.objects.get(configMaps, 'default', 'keep')).data as Record<string, string>).v, '2');
    await assert.rejects(member.objects.get(configMaps, 'default', 'drop'), /not found/);
    assert.equal(((await member.objects.get(configMaps, 'default', 'foreign')).data as Record<string, string>).v, 'theirs');
    const pruned = await pruneWork(member, next);
    assert.deepEqual(pruned.map((id) => id.name), ['keep']);
    await assert.rejects(member.objects.get(configMaps, 'default', 'keep'), /not found/);
    assert.deepEqual(await pruneWork(member, next), [], 'pruning twice deletes nothing more');
  });

  it('rejects when the member cannot be reached, instead of reporting every manifest as failed', async () => {
    const failable = new FailableMemberClient(new InProcessMemberClient(cluster));
    failable.down = true;
    await assert.rejects(applyWork(failable, work('w3', [configMap('c', 'default', {})])), { name: 'MemberUnreachableError' });
  });
});
