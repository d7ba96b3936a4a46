/**
 * The Store conformance suite: the behaviour every backend must show, registered as node:test
 * cases. A backend's test file calls `runStoreConformance` with a factory; each case gets a fresh,
 * empty store and calls `cleanup` when done (cleanup closes the store and discards its data; it
 * may find the store already closed).
 *
 * Cases never assume absolute revisions: an etcd shared between cases starts wherever it is. They
 * do rely on nothing else writing to the backend while a case runs.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeObject } from '../machinery/object.ts';
import { StatusError, type StatusReason } from '../machinery/status-error.ts';
import type { Store, WatchEvent, WatchHandlers } from './store.ts';

export interface StoreUnderTest {
  store: Store;
  cleanup(): Promise<void>;
}

const waitTimeoutMs = 5_000;

export function runStoreConformance(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  /** Runs `body` against a fresh store and always cleans up. */
  function withStore(body: (store: Store, t: TestContext) => Promise<void>): (t: TestContext) => Promise<void> {
    return async (t) => {
      const { store, cleanup } = await makeStore();
      try {
        await body(store, t);
      } finally {
        await cleanup();
      }
    };
  }

  describe(`${name}: Store conformance`, () => {
    describe('objects', () => {
      it('creates, gets, updates and deletes', withStore(async (store) => {
        assert.equal(await store.get('/things/a'), undefined);
        const created = await store.create('/things/a', thing('a', { data: { v: '1' } }));
        assert.equal(created.data && (created.data as Record<string, string>).v, '1');
        assert.deepEqual(await store.get('/things/a'), created);

        const updated = await store.update('/things/a', { ...created, data: { v: '2' } });
        assert.equal(revisionOf(updated), revisionOf(created) + 1);
        assert.deepEqual(await store.get('/things/a'), updated);

        const deleted = await store.delete('/things/a');
        assert.equal(revisionOf(deleted), revisionOf(updated) + 1);
        assert.deepEqual(deleted.data, { v: '2' });
        assert.equal(await store.get('/things/a'), undefined);
      }));

      it('refuses to create a key that exists (AlreadyExists)', withStore(async (store) => {
        await store.create('/things/a', thing('a'));
        await rejectsWith(store.create('/things/a', thing('a')), 'AlreadyExists');
      }));

      it('answers NotFound for updating or deleting a missing key', withStore(async (store) => {
        await rejectsWith(store.update('/things/missing', thing('missing')), 'NotFound');
        await rejectsWith(store.update('/things/missing', thing('missing'), 1), 'NotFound');
        await rejectsWith(store.update('/things/missing', thing('missing'), 0), 'NotFound');
        assert.equal(await store.get('/things/missing'), undefined);
        await rejectsWith(store.delete('/things/missing'), 'NotFound');
        await rejectsWith(store.delete('/things/missing', { expectedUid: 'x' }), 'NotFound');
      }));

      it('updates with compare-and-swap: a stale revision is a Conflict', withStore(async (store) => {
        const created = await store.create('/things/a', thing('a'));
        const updated = await store.update('/things/a', thing('a', { data: { v: '2' } }), revisionOf(created));
        await rejectsWith(store.update('/things/a', thing('a', { data: { v: '3' } }), revisionOf(created)), 'Conflict');
        assert.deepEqual(await store.get('/things/a'), updated);
        await store.update('/things/a', thing('a', { data: { v: '3' } }), revisionOf(updated));
      }));

      it('deletes only when the revision and uid preconditions hold', withStore(async (store) => {
        const created = await store.create('/things/a', thing('a'));
        const updated = await store.update('/things/a', thing('a', { data: { v: '2' } }));
        await rejectsWith(store.delete('/things/a', { expectedRevision: revisionOf(created) }), 'Conflict');
        await rejectsWith(store.delete('/things/a', { expectedUid: 'uid-someone-else' }), 'Conflict');
        await rejectsWith(store.delete('/things/a', { expectedUid: 'uid-a', expectedRevision: revisionOf(created) }), 'Conflict');
        assert.deepEqual(await store.get('/things/a'), updated);
        const deleted = await store.delete('/things/a', { expectedRevision: revisionOf(updated), expectedUid: 'uid-a' });
        assert.equal(revisionOf(deleted), revisionOf(updated) + 1);
        assert.equal(await store.get('/things/a'), undefined);
      }));

      it('keeps one global revision that grows by one with each write, across keys', withStore(async (store) => {
        const start = await store.currentRevision();
        const revisions = [
          revisionOf(await store.create('/things/a', thing('a'))),
          revisionOf(await store.create('/other/b', thing('b'))),
          revisionOf(await store.update('/things/a', thing('a', { data: { v: '2' } }))),
          revisionOf(await store.delete('/other/b')),
          revisionOf(await store.create('/other/b', thing('b'))),
        ];
        assert.deepEqual(revisions, [start + 1, start + 2, start + 3, start + 4, start + 5]);
        assert.equal(await store.currentRevision(), start + 5);
        await rejectsWith(store.create('/things/a', thing('a')), 'AlreadyExists');
        assert.equal(await store.currentRevision(), start + 5, 'a failed write does not advance the revision');
      }));

      it('never reuses a revision, even after everything is deleted', withStore(async (store) => {
        await store.create('/things/a', thing('a'));
        const deleted = await store.delete('/things/a');
        assert.equal(await store.currentRevision(), revisionOf(deleted));
        const again = await store.create('/things/a', thing('a'));
        assert.equal(revisionOf(again), revisionOf(deleted) + 1);
      }));

      it('stamps resourceVersion into what it returns, and hands out copies', withStore(async (store) => {
        const input = thing('a', { data: { v: '1' } });
        const created = await store.create('/things/a', input);
        assert.equal(input.metadata.resourceVersion, undefined, 'the caller\'s object is left alone');
        assert.equal(created.metadata.resourceVersion, String(await store.currentRevision()));
        assert.match(created.metadata.resourceVersion!, /^[1-9][0-9]*$/);

        (created.data as Record<string, string>).v = 'changed by the caller';
        const got = await store.get('/things/a');
        assert.deepEqual(got?.data, { v: '1' });
        (got!.data as Record<string, string>).v = 'changed again';
        const listed = await store.list('/things/');
        assert.deepEqual(listed.items[0]?.data, { v: '1' });
        assert.equal(listed.items[0]?.metadata.resourceVersion, created.metadata.resourceVersion);

        const stale = { ...thing('a', { data: { v: '2' } }), metadata: { ...thing('a').metadata, resourceVersion: '1' } };
        const updated = await store.update('/things/a', stale);
        assert.equal(updated.metadata.resourceVersion, String(await store.currentRevision()), 'the store sets resourceVersion, not the caller');
      }));

      it('lets exactly one of several racing compare-and-swap writers win', withStore(async (store) => {
        const created = await store.create('/things/a', thing('a'));
        const writers = Array.from({ length: 8 }, (_, i) =>
          store.update('/things/a', thing('a', { data: { writer: String(i) } }), revisionOf(created)));
        const results = await Promise.allSettled(writers);
        const winners = results.filter((r) => r.status === 'fulfilled');
        const losers = results.filter((r) => r.status === 'rejected');
        assert.equal(winners.length, 1);
        for (const loser of losers) assertStatus(loser.reason, 'Conflict');
        const stored = await store.get('/things/a');
        assert.deepEqual(stored, winners[0]!.value);
        assert.equal(await store.currentRevision(), revisionOf(created) + 1);
      }));

      it('lets exactly one of several racing creators win', withStore(async (store) => {
        const results = await Promise.allSettled(Array.from({ length: 6 }, () => store.create('/things/a', thing('a'))));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') assertStatus(r.reason, 'AlreadyExists');
      }));
    });

    describe('list', () => {
      it('lists a prefix in key order without leaking sibling prefixes', withStore(async (store) => {
        for (const key of ['/a/b/2', '/a/bc/1', '/a/b/1', '/a/b/3', '/a/b', '/a/a/1', '/a/b/sub/1']) {
          await store.create(key, thing(key));
        }
        const listed = await store.list('/a/b/');
        assert.deepEqual(listed.items.map((o) => o.metadata.name), ['/a/b/1', '/a/b/2', '/a/b/3', '/a/b/sub/1']);
        assert.equal(listed.revision, await store.currentRevision());
        assert.equal(listed.continue, undefined);
        assert.deepEqual((await store.list('/a/bc/')).items.map((o) => o.metadata.name), ['/a/bc/1']);
        assert.deepEqual((await store.list('/nothing/')).items, []);
        assert.equal((await store.list('/a/')).items.length, 7);
        assert.equal((await store.list('')).items.length, 7);
      }));

      it('filters with a predicate', withStore(async (store) => {
        for (let i = 0; i < 6; i++) await store.create(`/things/${i}`, thing(`t${i}`, { labels: { parity: i % 2 ? 'odd' : 'even' } }));
        const listed = await store.list('/things/', { predicate: (o) => o.metadata.labels?.parity === 'odd' });
        assert.deepEqual(listed.items.map((o) => o.metadata.name), ['t1', 't3', 't5']);
      }));

      it('pages with limit and continue, returning every item exactly once', withStore(async (store) => {
        const names = Array.from({ length: 23 }, (_, i) => `item-${String(i).padStart(2, '0')}`);
        for (const n of names) await store.create(`/things/${n}`, thing(n));
        const firstRevision = await store.currentRevision();
        const pages = await readAllPages(store, '/things/', { limit: 5 });
        assert.deepEqual(pages.map((p) => p.items.length), [5, 5, 5, 5, 3]);
        assert.deepEqual(pages.flatMap((p) => p.items.map((o) => o.metadata.name)), names);
        for (const page of pages) assert.equal(page.revision, firstRevision, 'every page reports the first page\'s revision');

        const exact = await readAllPages(store, '/things/', { limit: 23 });
        assert.equal(exact.length, 1, 'no continue when nothing remains');
      }));

      it('counts only matching items toward the limit', withStore(async (store) => {
        const names = Array.from({ length: 30 }, (_, i) => `item-${String(i).padStart(2, '0')}`);
        for (const [i, n] of names.entries()) await store.create(`/things/${n}`, thing(n, { labels: { keep: i % 3 === 0 ? 'yes' : 'no' } }));
        const predicate = (o: KubeObject) => o.metadata.labels?.keep === 'yes';
        const pages = await readAllPages(store, '/things/', { limit: 4, predicate });
        assert.deepEqual(pages.map((p) => p.items.length), [4, 4, 2]);
        assert.deepEqual(pages.flatMap((p) => p.items.map((o) => o.metadata.name)), names.filter((_, i) => i % 3 === 0));
      }));

      it('keeps paging through writes without repeating or skipping untouched items', withStore(async (store) => {
        for (let i = 0; i < 10; i++) await store.create(`/things/${i}`, thing(`t${i}`));
        const first = await store.list('/things/', { limit: 4 });
        await store.delete('/things/1');
        await store.create('/things/9a', thing('t9a'));
        const rest = await readAllPages(store, '/things/', { limit: 4, continue: first.continue });
        const names = [...first.items, ...rest.flatMap((p) => p.items)].map((o) => o.metadata.name);
        assert.equal(new Set(names).size, names.length, 'no item twice');
        for (const n of ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't8', 't9']) assert.ok(names.includes(n), `${n} listed`);
      }));

      it('rejects a continue token it did not issue (BadRequest)', withStore(async (store) => {
        for (let i = 0; i < 3; i++) await store.create(`/things/${i}`, thing(`t${i}`));
        await rejectsWith(store.list('/things/', { limit: 1, continue: 'not a token' }), 'BadRequest', /invalid continue token/);
        await rejectsWith(store.list('/things/', { limit: 1, continue: Buffer.from('{"k":1}').toString('base64url') }), 'BadRequest');
        const page = await store.list('/things/', { limit: 1 });
        assert.ok(page.continue);
        await rejectsWith(store.list('/other/', { limit: 1, continue: page.continue }), 'BadRequest');
      }));

      it('expires a continue token older than the retained history', withStore(async (store, t) => {
        if (!store.compact) return t.skip('the backend cannot compact');
        for (let i = 0; i < 3; i++) await store.create(`/things/${i}`, thing(`t${i}`));
        const page = await store.list('/things/', { limit: 1 });
        await store.update('/things/0', thing('t0', { data: { v: '2' } }));
        await store.update('/things/0', thing('t0', { data: { v: '3' } }));
        await store.compact(await store.currentRevision());
        await rejectsWith(store.list('/things/', { limit: 1, continue: page.continue }), 'Expired');
      }));
    });

    describe('watch', () => {
      it('delivers changes from now on, in order, with their types', withStore(async (store) => {
        await store.create('/things/a', thing('a'));
        const rec = record();
        const watch = await store.watch('/things/', {}, rec.handlers);
        const updated = await store.update('/things/a', thing('a', { data: { v: '2' } }));
        const created = await store.create('/things/b', thing('b'));
        const deleted = await store.delete('/things/b');
        await rec.until(() => rec.events.length >= 3, 'three events');
        await settle();
        watch.stop();
        assert.deepEqual(rec.events.map((e) => [e.type, e.key, e.revision]), [
          ['MODIFIED', '/things/a', revisionOf(updated)],
          ['ADDED', '/things/b', revisionOf(created)],
          ['DELETED', '/things/b', revisionOf(deleted)],
        ]);
        assert.deepEqual(rec.events[0]!.object, updated);
        assert.equal(rec.events[0]!.previous?.metadata.resourceVersion, String(revisionOf(updated) - 1));
        assert.deepEqual(rec.events[1]!.object, created);
        assert.deepEqual(rec.errors, []);
      }));

      it('replays from an older revision, then continues live, without gaps or repeats', withStore(async (store) => {
        const a1 = await store.create('/a/1', thing('a1'));
        await store.create('/a/2', thing('a2'));
        await store.create('/b/1', thing('b1'));
        await store.update('/a/1', thing('a1', { data: { v: '2' } }));
        const rec = record();
        const watch = await store.watch('/a/', { fromRevision: revisionOf(a1) }, rec.handlers);
        await store.create('/a/3', thing('a3'));
        await rec.until(() => rec.events.length >= 3, 'replayed and live events');
        await settle();
        watch.stop();
        assert.deepEqual(rec.events.map((e) => [e.type, e.key]), [['ADDED', '/a/2'], ['MODIFIED', '/a/1'], ['ADDED', '/a/3']]);
        assertIncreasing(rec.events);
        assert.equal(rec.events[0]!.revision, revisionOf(a1) + 1);
      }));

      it('delivers DELETED with the last state, stamped with the revision of the delete', withStore(async (store) => {
        await store.create('/things/a', thing('a', { labels: { app: 'web' } }));
        const last = await store.update('/things/a', thing('a', { labels: { app: 'web' }, data: { v: 'last' } }));
        const rec = record();
        const watch = await store.watch('/things/', {}, rec.handlers);
        const deleted = await store.delete('/things/a');
        await rec.until(() => rec.events.length >= 1, 'the DELETED event');
        watch.stop();
        const event = rec.events[0]!;
        assert.equal(event.type, 'DELETED');
        assert.equal(event.revision, revisionOf(deleted));
        assert.deepEqual(event.object, deleted);
        assert.deepEqual(event.object?.data, { v: 'last' });
        assert.equal(event.object?.metadata.labels?.app, 'web');
        assert.deepEqual(event.previous, last);
      }));

      it('isolates prefixes: /a/b/ does not see /a/bc/', withStore(async (store) => {
        const rec = record();
        const watch = await store.watch('/a/b/', {}, rec.handlers);
        await store.create('/a/bc/1', thing('sibling'));
        await store.create('/a/b', thing('parent key'));
        await store.create('/a/b/1', thing('child'));
        await rec.until(() => rec.events.length >= 1, 'the child event');
        await settle();
        watch.stop();
        assert.deepEqual(rec.events.map((e) => e.key), ['/a/b/1']);
      }));

      it('hands each watch its own copy of an event', withStore(async (store) => {
        const first = record((e) => {
          if (e.object) e.object.metadata.name = 'changed by the first watch';
        });
        const second = record();
        const w1 = await store.watch('/things/', {}, first.handlers);
        const w2 = await store.watch('/things/', {}, second.handlers);
        await store.create('/things/a', thing('a'));
        await first.until(() => first.events.length >= 1, 'first watch');
        await second.until(() => second.events.length >= 1, 'second watch');
        w1.stop();
        w2.stop();
        assert.equal(second.events[0]!.object?.metadata.name, 'a');
        assert.equal((await store.get('/things/a'))?.metadata.name, 'a');
      }));

      it('keeps revision order under concurrent writes, even with a slow handler', withStore(async (store) => {
        const rec = record(async (e) => {
          if (e.revision % 3 === 0) await sleep(1);
        });
        const watch = await store.watch('/things/', {}, rec.handlers);
        const written = await Promise.all(Array.from({ length: 60 }, (_, i) => store.create(`/things/${i}`, thing(`t${i}`))));
        await rec.until(() => rec.events.length >= written.length, 'all events');
        watch.stop();
        assertIncreasing(rec.events);
        assert.deepEqual(rec.events.map((e) => e.revision), written.map(revisionOf).sort((x, y) => x - y));
      }));

      it('stops delivering after stop, and stop is idempotent', withStore(async (store) => {
        const rec = record();
        const watch = await store.watch('/things/', {}, rec.handlers);
        await store.create('/things/a', thing('a'));
        await rec.until(() => rec.events.length >= 1, 'first event');
        watch.stop();
        watch.stop();
        await store.create('/things/b', thing('b'));
        await settle();
        assert.equal(rec.events.length, 1);
        assert.deepEqual(rec.errors, []);
      }));

      it('fails with Expired when asked to replay from a compacted revision', withStore(async (store, t) => {
        if (!store.compact) return t.skip('the backend cannot compact');
        const r1 = revisionOf(await store.create('/things/a', thing('a')));
        await store.update('/things/a', thing('a', { data: { v: '2' } }));
        const r3 = revisionOf(await store.update('/things/a', thing('a', { data: { v: '3' } })));
        await store.compact(r3);
        await store.compact(r3);
        const rec = record();
        // The number in brackets is the oldest revision a watch can still start from.
        await rejectsWith(store.watch('/things/', { fromRevision: r1 }, rec.handlers), 'Expired', new RegExp(`^too old resource version: ${r1} \\(${r3 - 1}\\)$`));
        const watch = await store.watch('/things/', { fromRevision: r3 - 1 }, rec.handlers);
        await rec.until(() => rec.events.length >= 1, 'the retained change');
        watch.stop();
        assert.deepEqual(rec.events.map((e) => e.revision), [r3]);
        await rejectsWith(store.compact(r3 + 100), 'BadRequest');
      }));

      it('sends bookmarks that cover every delivered change', withStore(async (store) => {
        const rec = record();
        const watch = await store.watch('/things/', { bookmarkIntervalMs: 40 }, rec.handlers);
        const created = await store.create('/things/a', thing('a'));
        await rec.until(() => rec.events.some((e) => e.type === 'BOOKMARK' && e.revision >= revisionOf(created)), 'a bookmark after the write');
        watch.stop();
        let highest = 0;
        for (const e of rec.events) {
          if (e.type === 'BOOKMARK') {
            assert.equal(e.object, undefined);
            assert.ok(e.revision >= highest, 'a bookmark never goes back');
          }
          highest = Math.max(highest, e.revision);
        }
        const index = rec.events.findIndex((e) => e.type === 'ADDED');
        assert.ok(rec.events.slice(0, index).every((e) => e.revision < revisionOf(created)), 'no bookmark claims the change before it arrives');
      }));

      it('sends bookmarks that advance with writes outside the prefix', withStore(async (store) => {
        const rec = record();
        const watch = await store.watch('/things/', { bookmarkIntervalMs: 40 }, rec.handlers);
        const elsewhere = await store.create('/other/a', thing('a'));
        await rec.until(() => rec.events.some((e) => e.type === 'BOOKMARK' && e.revision >= revisionOf(elsewhere)), 'a bookmark at the latest revision');
        watch.stop();
        assert.ok(rec.events.every((e) => e.type === 'BOOKMARK'));
      }));

      it('ends open watches with an error when the store closes', withStore(async (store) => {
        const rec = record();
        await store.watch('/things/', {}, rec.handlers);
        await store.close();
        await rec.until(() => rec.errors.length === 1, 'onError');
        await store.close();
      }));
    });
  });
}

/** Collects the events and errors of one watch; `onEvent` may add behaviour (slow, mutating). */
function record(onEvent?: (event: WatchEvent) => void | Promise<void>) {
  const events: WatchEvent[] = [];
  const errors: Error[] = [];
  const handlers: WatchHandlers = {
    onEvent(event) {
      events.push(event);
      return onEvent?.(event);
    },
    onError(err) {
      errors.push(err);
    },
  };
  async function until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + waitTimeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) {
        const seen = events.map((e) => `${e.type}@${e.revision}`).join(', ');
        throw new Error(`timed out waiting for ${what}; saw [${seen}] errors [${errors.map((e) => e.message).join(', ')}]`);
      }
      await sleep(5);
    }
  }
  return { events, errors, handlers, until };
}

/** Gives a backend time to deliver anything it should not have. */
function settle(): Promise<void> {
  return sleep(100);
}

async function readAllPages(store: Store, prefix: string, options: { limit: number; continue?: string; predicate?: (o: KubeObject) => boolean }) {
  const pages = [];
  let token = options.continue;
  do {
    const page = await store.list(prefix, { ...options, continue: token });
    assert.ok(page.items.length <= options.limit);
    pages.push(page);
    token = page.continue;
    assert.ok(pages.length < 100, 'paging ends');
  } while (token !== undefined);
  return pages;
}

function thing(name: string, extra: { labels?: Record<string, string>; data?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, ...(extra.labels ? { labels: extra.labels } : {}) },
    data: extra.data ?? { v: '1' },
  };
}

function revisionOf(obj: KubeObject): number {
  const rv = Number(obj.metadata.resourceVersion);
  assert.ok(Number.isSafeInteger(rv) && rv > 0, `resourceVersion ${obj.metadata.resourceVersion} is a positive integer`);
  return rv;
}

function assertIncreasing(events: WatchEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i]!.revision > events[i - 1]!.revision, `revision ${events[i]!.revision} follows ${events[i - 1]!.revision}`);
  }
}

function assertStatus(err: unknown, reason: StatusReason, message?: RegExp): void {
  assert.ok(err instanceof StatusError, `expected a StatusError ${reason}, got ${String(err)}`);
  assert.equal(err.reason, reason, err.message);
  if (message) assert.match(err.message, message);
}

async function rejectsWith(promise: Promise<unknown>, reason: StatusReason, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err) => {
    assertStatus(err, reason, message);
    return true;
  });
}
