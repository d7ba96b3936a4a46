import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedCluster, type SimulatedCluster } from '../sim/index.ts';
import { StatusError } from '../machinery/status-error.ts';
import type { ResourceRef } from '../client/index.ts';
import { InProcessMemberClient } from './in-process.ts';
import { ReadOnlyMemberClient, isReadOnlyMember } from './read-only.ts';

const configMaps: ResourceRef = { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };

describe('ReadOnlyMemberClient', () => {
  let cluster: SimulatedCluster;
  let inner: InProcessMemberClient;
  let member: ReadOnlyMemberClient;
  before(async () => {
    cluster = await startSimulatedCluster({ name: 'shared', controllers: false });
    inner = new InProcessMemberClient(cluster);
    member = new ReadOnlyMemberClient(inner);
    await inner.objects.create(configMaps, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'default' }, data: { a: '1' } });
  });
  after(async () => {
    await member.close();
    await cluster.stop();
  });

  it('reads, lists, discovers and checks health like the client it wraps', async () => {
    assert.equal(((await member.objects.get(configMaps, 'default', 'settings')).data as { a?: string } | undefined)?.a, '1');
    assert.deepEqual((await member.objects.list(configMaps, 'default')).items.map((i) => i.metadata.name), ['settings']);
    assert.equal(await member.healthy(), true);
    assert.ok((await member.discover()).some((r) => r.plural === 'configmaps'));
    assert.equal(isReadOnlyMember(member), true);
    assert.equal(isReadOnlyMember(inner), false);
  });

  it('refuses every write with Forbidden and leaves the member unchanged', async () => {
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'default' }, data: { a: '2' } };
    const writes: Array<[string, () => Promise<unknown>]> = [
      ['create', () => member.objects.create(configMaps, 'default', { ...obj, metadata: { name: 'other', namespace: 'default' } })],
      ['update', () => member.objects.update(configMaps, 'default', obj)],
      ['patch', () => member.objects.patch(configMaps, 'default', 'settings', 'merge', { data: { a: '3' } })],
      ['delete', () => member.objects.delete(configMaps, 'default', 'settings')],
    ];
    for (const [verb, write] of writes) {
      await assert.rejects(write(), (err: unknown) => err instanceof StatusError && err.code === 403 && new RegExp(`may not ${verb} configmaps`).test(err.message) && /ReadOnly/.test(err.message), verb);
    }
    const after = await inner.objects.list(configMaps, 'default');
    assert.deepEqual(after.items.map((i) => [i.metadata.name, (i.data as { a?: string } | undefined)?.a]), [['settings', '1']]);
  });
});
