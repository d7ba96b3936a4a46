/**
 * End-to-end: `@kubernetes/client-node` informers (list, then watch from the list's
 * resourceVersion) against a running hub. What this proves:
 *
 * - every create, update and delete in a namespace reaches the informer exactly once and in
 *   order (the event log equals the writes, nothing missing, nothing repeated), and its cache
 *   equals what the API lists;
 * - a SQLite hub restarted on the same home and port keeps its revisions: the informer, whose
 *   watch broke when the hub went down, resumes from its resourceVersion without re-listing
 *   and sees every later change;
 * - when the informer's resourceVersion has been compacted away while it was not watching, the
 *   hub answers its watch with a 410 Expired ERROR event, client-node re-lists, and the cache
 *   ends equal to the API, with the objects deleted in the meantime gone from it.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, makeInformer, type ListWatch, type V1ConfigMap } from '@kubernetes/client-node';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';
import { makeConfigMap } from '../src/testing/config-map.ts';
import { waitFor } from '../src/testing/wait.ts';

type InformerEvent = { type: 'add' | 'update' | 'delete'; name: string; rv: string };
type CacheEntry = { name: string; rv: string; data: Record<string, string> };

/**
 * A ConfigMap informer for one namespace that records what it is told. After an error (the hub
 * is down, a connection broke) it starts again after 100 ms, as an application would, unless
 * `pause` was called.
 */
function watchConfigMaps(kubeconfigPath: string, namespace: string) {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const api = kc.makeApiClient(CoreV1Api);
  let lists = 0;
  const listFn = () => {
    lists++;
    return api.listNamespacedConfigMap({ namespace });
  };
  // makeInformer builds a ListWatch; its type hides latestResourceVersion, which the tests read.
  const informer = makeInformer<V1ConfigMap>(kc, `/api/v1/namespaces/${namespace}/configmaps`, listFn) as ListWatch<V1ConfigMap>;
  const events: InformerEvent[] = [];
  const errors: unknown[] = [];
  let restartWanted = true;
  const record = (type: InformerEvent['type']) => (obj: V1ConfigMap) => {
    events.push({ type, name: obj.metadata!.name!, rv: obj.metadata!.resourceVersion! });
  };
  informer.on('add', record('add'));
  informer.on('update', record('update'));
  informer.on('delete', record('delete'));
  informer.on('error', (err: unknown) => {
    errors.push(err);
    if (restartWanted) setTimeout(() => { if (restartWanted) void informer.start().catch(() => undefined); }, 100);
  });
  return {
    informer,
    events,
    errors,
    get lists() { return lists; },
    async start() {
      restartWanted = true;
      await informer.start();
    },
    /**
     * Stops watching; the cache and resourceVersion stay as they are. client-node reports the
     * aborted watch through its error callbacks a moment later; waiting for that keeps the late
     * report from aborting the watch a following `start` opens.
     */
    async pause() {
      restartWanted = false;
      const before = errors.length;
      await informer.stop();
      await waitFor('the stopped watch to report its end', () => errors.length > before, { timeoutMs: 5_000 });
    },
    /** Stops for good (cleanup). */
    async close() {
      restartWanted = false;
      await informer.stop();
    },
    cache(): CacheEntry[] {
      return informer.list(namespace)
        .map((cm) => ({ name: cm.metadata!.name!, rv: cm.metadata!.resourceVersion!, data: { ...cm.data } }))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
  };
}

/** The namespace's ConfigMaps as the API lists them, in the same shape as the cache. */
async function truth(hub: TestHub, namespace: string): Promise<CacheEntry[]> {
  const res = await hub.call('GET', `/api/v1/namespaces/${namespace}/configmaps`);
  assert.equal(res.status, 200, res.body);
  return (res.json().items as V1ConfigMap[])
    .map((cm) => ({ name: cm.metadata!.name!, rv: cm.metadata!.resourceVersion!, data: { ...cm.data } }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Waits until the informer's cache equals the API's list. */
async function converged(hub: TestHub, namespace: string, watcher: ReturnType<typeof watchConfigMaps>): Promise<void> {
  let want: CacheEntry[] = [];
  await waitFor('the informer cache to equal the API list', async () => {
    want = await truth(hub, namespace);
    return JSON.stringify(watcher.cache()) === JSON.stringify(want);
  }, { describe: () => `cache ${JSON.stringify(watcher.cache().map((e) => `${e.name}@${e.rv}`))}, API ${JSON.stringify(want.map((e) => `${e.name}@${e.rv}`))}` });
}

async function createNamespace(hub: TestHub, name: string): Promise<void> {
  const res = await hub.call('POST', '/api/v1/namespaces', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }), headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 201, res.body);
}

/** Writes through the API and returns what the informer should report for the write. */
const writes = (hub: TestHub, namespace: string) => {
  const base = `/api/v1/namespaces/${namespace}/configmaps`;
  const json = { 'content-type': 'application/json' };
  return {
    async create(name: string, data: Record<string, string>): Promise<InformerEvent> {
      const res = await hub.call('POST', base, { body: makeConfigMap().name(name).data(data).json(), headers: json });
      assert.equal(res.status, 201, res.body);
      return { type: 'add', name, rv: res.json().metadata.resourceVersion };
    },
    async update(name: string, data: Record<string, string>): Promise<InformerEvent> {
      const current = await hub.call('GET', `${base}/${name}`);
      assert.equal(current.status, 200, current.body);
      const body = makeConfigMap().name(name).data(data).resourceVersion(current.json().metadata.resourceVersion).json();
      const res = await hub.call('PUT', `${base}/${name}`, { body, headers: json });
      assert.equal(res.status, 200, res.body);
      return { type: 'update', name, rv: res.json().metadata.resourceVersion };
    },
    /** A delete's response is a Status without the revision, so the expected event carries rv ''. */
    async delete(name: string): Promise<InformerEvent> {
      const res = await hub.call('DELETE', `${base}/${name}`);
      assert.equal(res.status, 200, res.body);
      return { type: 'delete', name, rv: '' };
    },
  };
};

/** The event log with delete revisions blanked (the API does not report them), for comparison. */
const comparable = (events: InformerEvent[]) => events.map((e) => (e.type === 'delete' ? { ...e, rv: '' } : e));

function assertRevisionsIncrease(events: InformerEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.ok(Number(events[i]!.rv) > Number(events[i - 1]!.rv), `event ${i} (${JSON.stringify(events[i])}) is not after ${JSON.stringify(events[i - 1])}`);
  }
}

const name = (i: number) => `cm-${String(i).padStart(2, '0')}`;

describe('client-node informer against the hub', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('sees every add, update and delete exactly once, in order, and its cache matches the API', async () => {
    const hub = await startTestHub({ store: 'memory' });
    cleanups.push(() => hub.close());
    await createNamespace(hub, 'informed');
    const watcher = watchConfigMaps(hub.kubeconfigPath, 'informed');
    cleanups.push(() => watcher.close());
    await watcher.start();
    const api = writes(hub, 'informed');

    const expected: InformerEvent[] = [];
    for (let i = 0; i < 20; i++) expected.push(await api.create(name(i), { index: String(i) }));
    for (let i = 0; i < 10; i++) expected.push(await api.update(name(i), { index: String(i), updated: 'yes' }));
    for (let i = 15; i < 20; i++) expected.push(await api.delete(name(i)));
    // A last write the informer must see after all the others: once it arrives, any duplicate or
    // stray event for the earlier writes would already be in the log.
    expected.push(await api.create('sentinel', {}));

    await waitFor('the sentinel to reach the informer', () => watcher.events.some((e) => e.name === 'sentinel'), {
      describe: () => `${watcher.events.length} events`,
    });
    assert.deepEqual(comparable(watcher.events), expected);
    assertRevisionsIncrease(watcher.events);
    assert.equal(watcher.lists, 1, 'the informer listed more than once');
    assert.deepEqual(watcher.errors, []);

    const cache = watcher.cache();
    assert.deepEqual(cache, await truth(hub, 'informed'));
    assert.deepEqual(cache.map((e) => e.name), [...Array.from({ length: 15 }, (_, i) => name(i)), 'sentinel']);
    assert.deepEqual(cache.find((e) => e.name === name(3))!.data, { index: '3', updated: 'yes' });
    assert.deepEqual(cache.find((e) => e.name === name(12))!.data, { index: '12' });
  });

  it('resumes from its resourceVersion after a SQLite hub restarts on the same home and port', async () => {
    const home = mkdtempSync(join(tmpdir(), 'nephele-informer-'));
    cleanups.push(async () => rmSync(home, { recursive: true, force: true }));
    let hub = await startTestHub({ home, store: 'sqlite' });
    const port = hub.port;
    cleanups.push(() => hub.close());
    await createNamespace(hub, 'restart');
    let api = writes(hub, 'restart');
    for (let i = 0; i < 5; i++) await api.create(name(i), { index: String(i) });
    const watcher = watchConfigMaps(hub.kubeconfigPath, 'restart');
    cleanups.push(() => watcher.close());
    await watcher.start();
    await converged(hub, 'restart', watcher);
    const rvBefore = watcher.informer.latestResourceVersion();
    const seenBefore = watcher.events.length;

    await hub.close(true);
    // The informer notices: its watch ends and reconnecting fails while nothing listens.
    await waitFor('the informer to report the hub unreachable', () => watcher.errors.length > 0);
    hub = await startTestHub({ home, port, store: 'sqlite' });
    assert.equal(hub.port, port);
    await waitFor('the informer to watch the restarted hub', () => hub.handler.watchCount > 0, {
      describe: () => `${watcher.errors.length} errors, last: ${String(watcher.errors.at(-1))}`,
    });
    assert.equal(watcher.events.length, seenBefore, 'the informer reported changes while none were made');
    assert.equal(watcher.informer.latestResourceVersion(), rvBefore);

    api = writes(hub, 'restart');
    const expected: InformerEvent[] = [];
    for (let i = 5; i < 8; i++) expected.push(await api.create(name(i), { index: String(i) }));
    expected.push(await api.update(name(1), { index: '1', after: 'restart' }));
    expected.push(await api.update(name(6), { index: '6', after: 'restart' }));
    expected.push(await api.delete(name(0)));
    expected.push(await api.delete(name(7)));
    expected.push(await api.create('sentinel', {}));
    assert.ok(Number(expected[0]!.rv) > Number(rvBefore), 'the restarted hub reused revisions from before the restart');

    await waitFor('the sentinel to reach the informer', () => watcher.events.some((e) => e.name === 'sentinel'));
    assert.deepEqual(comparable(watcher.events.slice(seenBefore)), expected);
    assertRevisionsIncrease(watcher.events);
    await converged(hub, 'restart', watcher);
    assert.deepEqual(watcher.cache().map((e) => e.name), [name(1), name(2), name(3), name(4), name(5), name(6), 'sentinel']);
    assert.equal(watcher.lists, 1, 'revisions survive the restart, so the informer should not need to re-list');
  });

  it('re-lists after 410 Expired when its resourceVersion was compacted while it was away', async () => {
    const hub = await startTestHub({ store: 'memory' });
    cleanups.push(() => hub.close());
    await createNamespace(hub, 'compacted');
    const api = writes(hub, 'compacted');
    for (let i = 0; i < 6; i++) await api.create(name(i), { index: String(i) });
    const watcher = watchConfigMaps(hub.kubeconfigPath, 'compacted');
    cleanups.push(() => watcher.close());
    await watcher.start();
    await converged(hub, 'compacted', watcher);
    assert.equal(watcher.lists, 1);

    await watcher.pause();
    await waitFor('the informer\'s watch to close on the hub', () => hub.handler.watchCount === 0);
    const staleRv = watcher.informer.latestResourceVersion();
    const seenBefore = watcher.events.length;
    // Changes the informer misses, then a compaction that forgets them.
    await api.create('new-a', { n: 'a' });
    await api.create('new-b', { n: 'b' });
    await api.create('new-c', { n: 'c' });
    await api.update(name(1), { index: '1', while: 'away' });
    await api.update(name(2), { index: '2', while: 'away' });
    await api.delete(name(4));
    await api.delete(name(5));
    await hub.compact(await hub.store.currentRevision());

    // The hub's side of the contract, seen directly: a watch from the stale revision is one
    // ERROR event carrying a 410 Expired Status.
    const direct = await hub.call('GET', `/api/v1/namespaces/compacted/configmaps?watch=true&resourceVersion=${staleRv}`);
    assert.equal(direct.status, 200);
    const lines = direct.body.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 1, direct.body);
    assert.equal(lines[0].type, 'ERROR');
    assert.equal(lines[0].object.kind, 'Status');
    assert.equal(lines[0].object.code, 410);
    assert.equal(lines[0].object.reason, 'Expired');

    await watcher.start();
    await waitFor('the informer to re-list', () => watcher.lists === 2, { describe: () => `${watcher.lists} lists` });
    await converged(hub, 'compacted', watcher);
    const byName = (a: InformerEvent, b: InformerEvent) => a.name.localeCompare(b.name);
    assert.deepEqual(
      watcher.events.slice(seenBefore).map(({ type, name }) => ({ type, name })).sort((a, b) => byName(a as InformerEvent, b as InformerEvent)),
      [
        { type: 'update', name: name(1) },
        { type: 'update', name: name(2) },
        { type: 'delete', name: name(4) },
        { type: 'delete', name: name(5) },
        { type: 'add', name: 'new-a' },
        { type: 'add', name: 'new-b' },
        { type: 'add', name: 'new-c' },
      ],
    );
    // Watching again from the re-listed revision: later changes arrive as usual.
    const late = await api.create('after-relist', {});
    await waitFor('a change after the re-list to reach the informer', () => watcher.events.some((e) => e.name === 'after-relist'));
    assert.deepEqual(watcher.events.at(-1), late);
    await converged(hub, 'compacted', watcher);
    assert.equal(watcher.lists, 2, 'the informer re-listed more than once');
  });
});
