/**
 * One behaviour suite, run against both ObjectClients on a running hub: what a controller may
 * rely on must not depend on whether it runs inside the hub or talks to it over HTTPS.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import { startTestHub, type TestHub } from '../testing/hub.ts';
import { makeConfigMap } from '../testing/config-map.ts';
import { waitFor } from '../testing/wait.ts';
import { HttpClient, InProcessClient, type ClientWatchEvent, type ObjectClient, type ResourceRef } from './index.ts';

const configMaps: ResourceRef = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
const namespaces: ResourceRef = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };

const configMap = (name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}) =>
  makeConfigMap().name(name).labels(labels).data(data).obj() as unknown as KubeObject;

async function rejectsWith(promise: Promise<unknown>, reason: string, code: number): Promise<StatusError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StatusError, `expected a StatusError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected ${reason}, but the call succeeded`);
}

const clients: Array<[string, (hub: TestHub) => ObjectClient & { close?(): void }]> = [
  ['InProcessClient', (hub) => new InProcessClient(hub.registry, hub.catalog)],
  ['HttpClient', (hub) => HttpClient.fromKubeconfig(hub.kubeconfigPath)],
];

for (const [label, makeClient] of clients) {
  describe(label, () => {
    let hub: TestHub;
    let client: ObjectClient & { close?(): void };
    const ns = 'suite';
    before(async () => {
      hub = await startTestHub({ store: 'memory' });
      client = makeClient(hub);
      await client.create(namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    });
    after(async () => {
      client.close?.();
      await hub.close();
    });

    it('creates, gets and lists with a label selector', async () => {
      const created = await client.create(configMaps, ns, configMap('a', { tier: 'web' }, { k: 'v' }));
      assert.equal(created.metadata.name, 'a');
      assert.equal(created.kind, 'ConfigMap');
      assert.ok(created.metadata.resourceVersion);
      await client.create(configMaps, ns, configMap('b', { tier: 'db' }));
      await client.create(configMaps, ns, configMap('c', { tier: 'web' }));

      const got = await client.get(configMaps, ns, 'a');
      assert.deepEqual(got.data, { k: 'v' });
      assert.equal(got.metadata.resourceVersion, created.metadata.resourceVersion);

      const web = await client.list(configMaps, ns, { labelSelector: 'tier=web' });
      assert.deepEqual(web.items.map((i) => i.metadata.name).sort(), ['a', 'c']);
      assert.ok(Number(web.resourceVersion) >= Number(created.metadata.resourceVersion));
      assert.ok(web.items.every((i) => i.kind === 'ConfigMap' && i.apiVersion === 'v1'));

      const byName = await client.list(configMaps, ns, { fieldSelector: 'metadata.name=b' });
      assert.deepEqual(byName.items.map((i) => i.metadata.name), ['b']);
    });

    it('pages a list with limit and continue', async () => {
      const first = await client.list(configMaps, ns, { limit: 2 });
      assert.equal(first.items.length, 2);
      assert.ok(first.continue);
      const rest = await client.list(configMaps, ns, { limit: 10, continue: first.continue });
      assert.equal(rest.continue, undefined);
      const all = await client.list(configMaps, ns);
      assert.deepEqual([...first.items, ...rest.items].map((i) => i.metadata.name), all.items.map((i) => i.metadata.name));
    });

    it('updates, and refuses a stale resourceVersion with 409 Conflict', async () => {
      const current = await client.get(configMaps, ns, 'a');
      const updated = await client.update(configMaps, ns, { ...current, data: { k: 'v2' } });
      assert.deepEqual(updated.data, { k: 'v2' });
      assert.notEqual(updated.metadata.resourceVersion, current.metadata.resourceVersion);
      await rejectsWith(client.update(configMaps, ns, { ...current, data: { k: 'stale' } }), 'Conflict', 409);
      assert.deepEqual((await client.get(configMaps, ns, 'a')).data, { k: 'v2' });
    });

    it('merge-patches', async () => {
      const patched = await client.patch(configMaps, ns, 'a', 'merge', { metadata: { labels: { extra: 'yes' } }, data: { added: '1' } });
      assert.deepEqual(patched.data, { k: 'v2', added: '1' });
      assert.deepEqual(patched.metadata.labels, { tier: 'web', extra: 'yes' });
    });

    it('deletes; a missing object or type is NotFound', async () => {
      await client.create(configMaps, ns, configMap('doomed'));
      await client.delete(configMaps, ns, 'doomed');
      const err = await rejectsWith(client.get(configMaps, ns, 'doomed'), 'NotFound', 404);
      assert.match(err.message, /doomed/);
      await rejectsWith(client.delete(configMaps, ns, 'doomed'), 'NotFound', 404);
      await rejectsWith(client.get({ ...configMaps, plural: 'nosuchthings' }, ns, 'x'), 'NotFound', 404);
      await rejectsWith(client.create(configMaps, ns, configMap('a')), 'AlreadyExists', 409);
    });

    it('watches ADDED, MODIFIED and DELETED from a resourceVersion', async () => {
      const start = await client.list(configMaps, ns);
      const events: ClientWatchEvent[] = [];
      let ended = 0;
      const watch = await client.watch(configMaps, ns, { resourceVersion: start.resourceVersion }, (e) => events.push(e), () => ended++);
      try {
        const created = await client.create(configMaps, ns, configMap('watched', {}, { n: '1' }));
        const patched = await client.patch(configMaps, ns, 'watched', 'merge', { data: { n: '2' } });
        await client.delete(configMaps, ns, 'watched');
        await waitFor('three watch events', () => events.length >= 3, { describe: () => JSON.stringify(events.map((e) => e.type)) });
        assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name]), [['ADDED', 'watched'], ['MODIFIED', 'watched'], ['DELETED', 'watched']]);
        assert.equal(events[0]!.object.metadata.resourceVersion, created.metadata.resourceVersion);
        assert.equal(events[1]!.object.metadata.resourceVersion, patched.metadata.resourceVersion);
        assert.deepEqual(events[1]!.object.data, { n: '2' });
      } finally {
        watch.stop();
      }
      assert.equal(ended, 0, 'onEnd must not be called after stop()');
    });

    it('answers a watch from a compacted revision with a 410 ERROR event, then ends', async () => {
      const stale = (await client.list(configMaps, ns)).resourceVersion;
      // Two changes: a watch from the revision just before the oldest one kept still replays.
      await client.create(configMaps, ns, configMap('after-stale-1'));
      await client.create(configMaps, ns, configMap('after-stale-2'));
      await hub.compact(await hub.store.currentRevision());
      const events: ClientWatchEvent[] = [];
      let ended = 0;
      await client.watch(configMaps, ns, { resourceVersion: stale }, (e) => events.push(e), () => ended++);
      await waitFor('the watch to end', () => ended > 0);
      assert.equal(events.length, 1, JSON.stringify(events));
      assert.equal(events[0]!.type, 'ERROR');
      const status = events[0]!.object as unknown as { kind: string; code: number; reason: string };
      assert.equal(status.kind, 'Status');
      assert.equal(status.code, 410);
      assert.equal(status.reason, 'Expired');
      assert.equal(ended, 1);
    });
  });
}
