import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../storage/index.ts';
import type { WatchEvent } from '../storage/store.ts';
import { StatusError } from '../machinery/status-error.ts';
import { WatchCache } from './watch-cache.ts';

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('WatchCache', () => {
  it('hands every watcher the same event object, from one store watch', async () => {
    const store = createMemoryStore();
    const cache = new WatchCache(store);
    await cache.start();
    const seen: WatchEvent[][] = [[], [], []];
    for (const log of seen) await cache.watch('/registry/core/configmaps/', undefined, undefined, { onEvent: (e) => log.push(e) });
    await store.create('/registry/core/configmaps/default/a', { metadata: { name: 'a' } });
    await store.create('/registry/core/secrets/default/s', { metadata: { name: 's' } });
    await settle();
    assert.deepEqual(seen.map((log) => log.length), [1, 1, 1], 'the secret is outside the prefix');
    assert.equal(seen[0]![0], seen[1]![0], 'one shared object');
    cache.stop();
    await store.close();
  });

  it('tells where each of its watches stands, also from inside a handler while a change goes out', async () => {
    const store = createMemoryStore();
    const cache = new WatchCache(store);
    await cache.start();
    const prefix = '/registry/core/configmaps/';
    const start = await store.currentRevision();
    const seenFromFirst: Array<number | undefined> = [];
    const watches: Array<Awaited<ReturnType<WatchCache['watch']>>> = [];
    watches.push(await cache.watch(prefix, undefined, undefined, {
      onEvent: () => void seenFromFirst.push(cache.position(watches[0]!), cache.position(watches[1]!)),
    }));
    watches.push(await cache.watch(prefix, undefined, undefined, { onEvent: () => undefined }));
    // Ahead: from a revision the cache has not reached.
    const ahead = await cache.watch(prefix, start + 2, undefined, { onEvent: () => undefined });
    assert.deepEqual([cache.position(watches[0]!), cache.position(watches[1]!), cache.position(ahead)], [start, start, start + 2]);
    const a = await store.create(`${prefix}default/a`, { metadata: { name: 'a' } });
    await settle();
    const r = Number(a.metadata.resourceVersion);
    // The first watch's handler runs before the second has its copy of the change.
    assert.deepEqual(seenFromFirst, [r, r - 1]);
    assert.deepEqual([cache.position(watches[0]!), cache.position(watches[1]!), cache.position(ahead)], [r, r, start + 2]);
    // A change outside the prefix moves every watch of it along.
    const s = await store.create('/registry/core/secrets/default/s', { metadata: { name: 's' } });
    await settle();
    assert.deepEqual([cache.position(watches[0]!), cache.position(ahead)], [Number(s.metadata.resourceVersion), start + 2]);
    watches[1]!.stop();
    assert.equal(cache.position(watches[1]!), undefined, 'a stopped watch stands nowhere');
    cache.stop();
    await store.close();
  });

  it('replays from its ring, and sends older revisions to the store', async () => {
    const store = createMemoryStore();
    await store.create('/registry/core/namespaces/default', { metadata: { name: 'default' } });
    const first = await store.create('/registry/core/configmaps/default/before', { metadata: { name: 'before' } });
    const cache = new WatchCache(store);
    await cache.start();
    const a = await store.create('/registry/core/configmaps/default/a', { metadata: { name: 'a' } });
    await store.update('/registry/core/configmaps/default/a', { metadata: { name: 'a' }, data: { x: '1' } } as never);
    await settle();
    const replayed: string[] = [];
    await cache.watch('/registry/', Number(a.metadata.resourceVersion) - 1, undefined, { onEvent: (e) => replayed.push(`${e.type} ${e.object?.metadata.name}`) });
    assert.deepEqual(replayed, ['ADDED a', 'MODIFIED a']);
    const older: string[] = [];
    const w = await cache.watch('/registry/core/configmaps/', Number(first.metadata.resourceVersion) - 1, undefined, { onEvent: (e) => older.push(`${e.type} ${e.object?.metadata.name}`) });
    await settle();
    assert.deepEqual(older, ['ADDED before', 'ADDED a', 'MODIFIED a'], 'the store replays what the cache never saw');
    w.stop();
    await store.compact!(await store.currentRevision());
    cache.compact(await store.currentRevision());
    await assert.rejects(cache.watch('/registry/', Number(a.metadata.resourceVersion) - 1, undefined, { onEvent: () => undefined }), (err: unknown) => err instanceof StatusError && err.reason === 'Expired');
    cache.stop();
    await store.close();
  });

  it('sends bookmarks at the latest revision it delivered', async () => {
    const store = createMemoryStore();
    const cache = new WatchCache(store);
    await cache.start();
    const events: WatchEvent[] = [];
    const w = await cache.watch('/registry/core/configmaps/', undefined, 30, { onEvent: (e) => events.push(e) });
    const created = await store.create('/registry/core/configmaps/default/b', { metadata: { name: 'b' } });
    await new Promise((r) => setTimeout(r, 100));
    const bookmark = events.find((e) => e.type === 'BOOKMARK');
    assert.ok(bookmark);
    assert.ok(bookmark.revision >= Number(created.metadata.resourceVersion));
    w.stop();
    cache.stop();
    await store.close();
  });

  it('answers objectAt only for the newest change of a key that is still in its ring', async () => {
    const store = createMemoryStore();
    const cache = new WatchCache(store, { capacity: 3 });
    await cache.start();
    const key = (name: string) => `/registry/core/configmaps/default/${name}`;
    const rv = (obj: { metadata: { resourceVersion?: string } }) => Number(obj.metadata.resourceVersion);
    const a1 = await store.create(key('a'), { metadata: { name: 'a' }, data: { v: '1' } } as never);
    const a2 = await store.update(key('a'), { metadata: { name: 'a' }, data: { v: '2' } } as never);
    await settle();
    assert.equal(cache.objectAt(key('a'), rv(a1)), undefined, 'an older version is history, not the object');
    assert.deepEqual(cache.objectAt(key('a'), rv(a2))?.data, { v: '2' });
    assert.equal(cache.objectAt(key('b'), rv(a2)), undefined, 'another key');
    // Three more changes push a2 out of a ring of three.
    for (const name of ['b', 'c', 'd']) await store.create(key(name), { metadata: { name } });
    await settle();
    assert.equal(cache.objectAt(key('a'), rv(a2)), undefined, 'forgotten with its change');
    const d = await store.get(key('d'));
    assert.ok(cache.objectAt(key('d'), rv(d!)));
    await store.delete(key('d'));
    await settle();
    assert.equal(cache.objectAt(key('d'), rv(d!)), undefined, 'a deleted object is not there');
    const c = await store.get(key('c'));
    cache.compact(await store.currentRevision());
    assert.equal(cache.objectAt(key('c'), rv(c!)), undefined, 'compaction forgets too');
    cache.stop();
    await store.close();
  });

  it('with everyKey, answers objectAt for the newest state of every live key, however old its change', async () => {
    const store = createMemoryStore();
    const cache = new WatchCache(store, { capacity: 3, everyKey: true });
    await cache.start();
    const key = (name: string) => `/registry/core/configmaps/default/${name}`;
    const rv = (obj: { metadata: { resourceVersion?: string } }) => Number(obj.metadata.resourceVersion);
    const a1 = await store.create(key('a'), { metadata: { name: 'a' }, data: { v: '1' } } as never);
    const a2 = await store.update(key('a'), { metadata: { name: 'a' }, data: { v: '2' } } as never);
    for (const name of ['b', 'c', 'd', 'e']) await store.create(key(name), { metadata: { name } });
    await settle();
    assert.deepEqual(cache.objectAt(key('a'), rv(a2))?.data, { v: '2' }, 'kept after its change left the ring');
    assert.equal(cache.objectAt(key('a'), rv(a1)), undefined, 'still only the newest version');
    cache.compact(await store.currentRevision());
    assert.deepEqual(cache.objectAt(key('a'), rv(a2))?.data, { v: '2' }, 'compacting history leaves current state');
    await store.delete(key('a'));
    await settle();
    assert.equal(cache.objectAt(key('a'), rv(a2)), undefined, 'a deleted object is not there');
    const a3 = await store.create(key('a'), { metadata: { name: 'a' }, data: { v: '3' } } as never);
    await settle();
    assert.deepEqual(cache.objectAt(key('a'), rv(a3))?.data, { v: '3' }, 'and its successor is');
    cache.stop();
    await store.close();
  });
});
