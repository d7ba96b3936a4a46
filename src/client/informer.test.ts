/**
 * The Informer against a running hub, through each ObjectClient: initial sync, ordered events,
 * indexes, re-listing after 410 Expired, and (over HTTPS) reconnecting to a restarted hub.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../machinery/object.ts';
import { startTestHub, type TestHub } from '../testing/hub.ts';
import { makeConfigMap } from '../testing/config-map.ts';
import { waitFor } from '../testing/wait.ts';
import { HttpClient, InProcessClient, Informer, byNamespace, namespaceIndex, type ObjectClient, type ResourceRef } from './index.ts';

const configMaps: ResourceRef = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
const namespaces: ResourceRef = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };

type Recorded = { type: 'add' | 'update' | 'delete'; name: string; rv: string };

const configMap = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}) =>
  makeConfigMap().name(name).labels(labels).data(data).obj() as unknown as KubeObject;

const fastBackoff = { initialMs: 20, maxMs: 200 };

function record(informer: Informer): Recorded[] {
  const events: Recorded[] = [];
  const push = (type: Recorded['type']) => (obj: KubeObject) => events.push({ type, name: `${obj.metadata.namespace}/${obj.metadata.name}`, rv: obj.metadata.resourceVersion ?? '' });
  informer.onAdd(push('add'));
  informer.onUpdate(push('update'));
  informer.onDelete(push('delete'));
  return events;
}

const summary = (objs: KubeObject[]) => objs
  .map((o) => `${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}`)
  .sort();

/** Waits until the informer's cache equals what the API lists (all namespaces). */
async function converged(client: ObjectClient, informer: Informer): Promise<void> {
  let want: string[] = [];
  await waitFor('the informer cache to equal the API list', async () => {
    want = summary((await client.list(configMaps, undefined)).items);
    return JSON.stringify(summary(informer.list())) === JSON.stringify(want);
  }, { describe: () => `cache ${JSON.stringify(summary(informer.list()))}, API ${JSON.stringify(want)}` });
}

async function createNamespaces(client: ObjectClient, ...names: string[]): Promise<void> {
  for (const name of names) await client.create(namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

const clients: Array<[string, (hub: TestHub) => ObjectClient & { close?(): void }]> = [
  ['InProcessClient', (hub) => new InProcessClient(hub.registry, hub.catalog)],
  ['HttpClient', (hub) => HttpClient.fromKubeconfig(hub.kubeconfigPath)],
];

for (const [label, makeClient] of clients) {
  describe(`Informer over ${label}`, () => {
    const cleanups: Array<() => Promise<void> | void> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function setUp() {
      const hub = await startTestHub({ store: 'memory' });
      cleanups.push(() => hub.close());
      const client = makeClient(hub);
      cleanups.push(() => client.close?.());
      await createNamespaces(client, 'ns-a', 'ns-b');
      return { hub, client };
    }

    it('syncs, then reports adds, updates and deletes in order; cache and indexes match the API', async () => {
      const { client } = await setUp();
      for (let i = 0; i < 7; i++) await client.create(configMaps, i % 2 ? 'ns-b' : 'ns-a', configMap(`pre-${i}`, {}, { app: i < 3 ? 'web' : 'db' }));
      // A page size below the object count makes the first sync page through continue tokens.
      const informer = new Informer(client, configMaps, { pageSize: 3, backoff: fastBackoff });
      cleanups.push(() => informer.stop());
      informer.addIndex(namespaceIndex, byNamespace);
      informer.addIndex('app', (obj) => (obj.metadata.labels?.app ? [obj.metadata.labels.app] : []));
      const events = record(informer);
      informer.start();
      await informer.synced;
      assert.deepEqual(summary(informer.list()), summary((await client.list(configMaps, undefined)).items));
      assert.equal(events.length, 7);
      assert.ok(events.every((e) => e.type === 'add'));

      const expected: Recorded[] = [];
      const note = (type: Recorded['type'], obj: KubeObject) => expected.push({ type, name: `${obj.metadata.namespace}/${obj.metadata.name}`, rv: obj.metadata.resourceVersion ?? '' });
      note('add', await client.create(configMaps, 'ns-a', configMap('new-1', { v: '1' }, { app: 'web' })));
      note('add', await client.create(configMaps, 'ns-b', configMap('new-2', {}, { app: 'cache' })));
      note('update', await client.patch(configMaps, 'ns-a', 'new-1', 'merge', { data: { v: '2' } }));
      note('update', await client.patch(configMaps, 'ns-a', 'pre-0', 'merge', { metadata: { labels: { app: 'db' } } }));
      const doomed = await client.get(configMaps, 'ns-b', 'pre-1');
      await client.delete(configMaps, 'ns-b', 'pre-1');
      expected.push({ type: 'delete', name: 'ns-b/pre-1', rv: '' });
      note('add', await client.create(configMaps, 'ns-a', configMap('sentinel')));

      await waitFor('the sentinel to arrive', () => events.some((e) => e.name === 'ns-a/sentinel'), { describe: () => JSON.stringify(events.slice(7)) });
      const seen = events.slice(7).map((e) => (e.type === 'delete' ? { ...e, rv: '' } : e));
      assert.deepEqual(seen, expected);
      const deleted = events.find((e) => e.type === 'delete')!;
      assert.ok(Number(deleted.rv) > Number(doomed.metadata.resourceVersion), 'a delete carries the final state');
      await converged(client, informer);
      assert.equal(informer.resourceVersion, expected.at(-1)!.rv);
      assert.equal(informer.stats.lists, 1);

      assert.deepEqual(informer.get('ns-a', 'new-1')?.data, { v: '2' });
      assert.equal(informer.get('ns-b', 'pre-1'), undefined);
      const names = (objs: KubeObject[]) => objs.map((o) => o.metadata.name).sort();
      assert.deepEqual(names(informer.byIndex('namespace', 'ns-a')), ['new-1', 'pre-0', 'pre-2', 'pre-4', 'pre-6', 'sentinel']);
      assert.deepEqual(names(informer.byIndex('namespace', 'ns-b')), ['new-2', 'pre-3', 'pre-5']);
      assert.deepEqual(names(informer.byIndex('app', 'web')), ['new-1', 'pre-2']);
      assert.deepEqual(names(informer.byIndex('app', 'db')), ['pre-0', 'pre-3', 'pre-4', 'pre-5', 'pre-6']);
      assert.deepEqual(names(informer.byIndex('app', 'cache')), ['new-2']);
      assert.deepEqual(informer.byIndex('app', 'nothing'), []);
      // An index added later is built over what is already cached.
      informer.addIndex('has-data', (obj) => (obj.data && Object.keys(obj.data).length ? ['yes'] : []));
      assert.deepEqual(names(informer.byIndex('has-data', 'yes')), ['new-1']);
      assert.throws(() => informer.byIndex('unknown', 'x'), /no index/);
    });

    it('re-lists after 410 Expired and reports exactly the difference', async () => {
      const { hub, client } = await setUp();
      for (let i = 0; i < 6; i++) await client.create(configMaps, 'ns-a', configMap(`cm-${i}`, { i: String(i) }));
      const informer = new Informer(client, configMaps, { namespace: 'ns-a', backoff: fastBackoff });
      cleanups.push(() => informer.stop());
      const events = record(informer);
      informer.start();
      await informer.synced;
      assert.equal(events.length, 6);

      informer.pause();
      await waitFor('the informer\'s watch to close', () => hub.handler.watchCount === 0);
      await client.create(configMaps, 'ns-a', configMap('new-a'));
      await client.create(configMaps, 'ns-a', configMap('new-b'));
      await client.patch(configMaps, 'ns-a', 'cm-1', 'merge', { data: { while: 'away' } });
      await client.delete(configMaps, 'ns-a', 'cm-4');
      await client.delete(configMaps, 'ns-a', 'cm-5');
      // Outside the informer's namespace: must not show up in its diff.
      await client.create(configMaps, 'ns-b', configMap('elsewhere'));
      await hub.compact(await hub.store.currentRevision());
      assert.equal(events.length, 6, 'a paused informer reported changes');

      informer.resume();
      await waitFor('the informer to re-list', () => informer.stats.lists === 2 && events.length >= 11, { describe: () => JSON.stringify(events.slice(6)) });
      const diff = events.slice(6).map(({ type, name }) => `${type} ${name}`).sort();
      assert.deepEqual(diff, ['add ns-a/new-a', 'add ns-a/new-b', 'delete ns-a/cm-4', 'delete ns-a/cm-5', 'update ns-a/cm-1']);

      const late = await client.create(configMaps, 'ns-a', configMap('after-relist'));
      await waitFor('a change after the re-list', () => events.some((e) => e.name === 'ns-a/after-relist'));
      assert.deepEqual(events.at(-1), { type: 'add', name: 'ns-a/after-relist', rv: late.metadata.resourceVersion });
      const truth = summary((await client.list(configMaps, 'ns-a')).items);
      assert.deepEqual(summary(informer.list()), truth);
      assert.equal(informer.stats.lists, 2);
    });
  });
}

describe('Informer over HttpClient, hub restart', () => {
  it('reconnects with backoff to a SQLite hub restarted on the same home and port, without re-listing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'nephele-client-informer-'));
    let hub = await startTestHub({ home, store: 'sqlite' });
    const port = hub.port;
    const client = HttpClient.fromKubeconfig(hub.kubeconfigPath);
    const informer = new Informer(client, configMaps, { namespace: 'restart', backoff: fastBackoff });
    try {
      await createNamespaces(client, 'restart');
      for (let i = 0; i < 3; i++) await client.create(configMaps, 'restart', configMap(`cm-${i}`));
      const errors: Error[] = [];
      informer.onError((err) => errors.push(err));
      const events = record(informer);
      informer.start();
      await informer.synced;
      await waitFor('the informer to watch', () => hub.handler.watchCount > 0);
      const rvBefore = informer.resourceVersion;
      const watchesBefore = informer.stats.watches;

      await hub.close(true);
      await waitFor('the informer to fail reconnecting', () => errors.length > 0 && informer.stats.watches > watchesBefore + 1);
      hub = await startTestHub({ home, port, store: 'sqlite' });
      await waitFor('the informer to watch the restarted hub', () => hub.handler.watchCount > 0, {
        describe: () => `${errors.length} errors, last: ${String(errors.at(-1))}`,
      });
      assert.equal(informer.resourceVersion, rvBefore);
      assert.equal(events.length, 3);

      const created = await client.create(configMaps, 'restart', configMap('after-restart'));
      await client.delete(configMaps, 'restart', 'cm-0');
      await waitFor('the changes after the restart', () => events.length === 5, { describe: () => JSON.stringify(events) });
      assert.deepEqual(events.slice(3).map(({ type, name }) => `${type} ${name}`), ['add restart/after-restart', 'delete restart/cm-0']);
      assert.equal(events[3]!.rv, created.metadata.resourceVersion);
      assert.deepEqual(summary(informer.list()), summary((await client.list(configMaps, 'restart')).items));
      assert.equal(informer.stats.lists, 1, 'revisions survive the restart, so no re-list is needed');
    } finally {
      await informer.stop();
      client.close();
      await hub.close(true);
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('Informer backoff', () => {
  it('doubles the delay between failed watches up to the cap, and starts over after a watch opens', async () => {
    const watchCalls: string[] = [];
    // Scripted outcomes of successive watch calls: fail, fail, fail, fail, open then end, fail, hang.
    const outcomes = ['fail', 'fail', 'fail', 'fail', 'open-end', 'fail', 'hang'];
    const client: ObjectClient = {
      get: () => Promise.reject(new Error('unused')),
      create: () => Promise.reject(new Error('unused')),
      update: () => Promise.reject(new Error('unused')),
      patch: () => Promise.reject(new Error('unused')),
      delete: () => Promise.reject(new Error('unused')),
      list: async () => ({ items: [], resourceVersion: '5' }),
      watch: async (_ref, _ns, options, _onEvent, onEnd) => {
        watchCalls.push(options.resourceVersion ?? '');
        const outcome = outcomes.shift() ?? 'hang';
        if (outcome === 'fail') throw new Error('connect ECONNREFUSED');
        if (outcome === 'open-end') setImmediate(() => onEnd());
        return { stop: () => undefined };
      },
    };
    const delays: number[] = [];
    const informer = new Informer(client, configMaps, {
      backoff: { initialMs: 100, maxMs: 400 },
      sleep: async (ms) => { delays.push(ms); },
    });
    const errors: Error[] = [];
    informer.onError((err) => errors.push(err));
    informer.start();
    try {
      await waitFor('seven watch attempts', () => watchCalls.length === 7, { describe: () => JSON.stringify({ watchCalls, delays }) });
      assert.deepEqual(delays, [100, 200, 400, 400, 100, 200]);
      assert.deepEqual(watchCalls, ['5', '5', '5', '5', '5', '5', '5']);
      assert.equal(errors.length, 5);
      assert.equal(informer.stats.lists, 1);
    } finally {
      await informer.stop();
    }
  });
});
