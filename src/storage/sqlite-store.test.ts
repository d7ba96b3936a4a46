import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runStoreConformance } from './conformance.ts';
import { createSqliteStore, prefixUpperBound } from './sqlite-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'nephele-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const nextPath = () => join(dir, `store-${++counter}.db`);

runStoreConformance('sqlite', async () => {
  const path = nextPath();
  const store = createSqliteStore({ path });
  return {
    store,
    cleanup: async () => {
      await store.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    },
  };
});

describe('sqlite store', () => {
  it('keeps objects and the revision across close and reopen', async () => {
    const path = nextPath();
    const first = createSqliteStore({ path });
    await first.create('/k/a', { metadata: { name: 'a' } });
    await first.create('/k/b', { metadata: { name: 'b' } });
    await first.delete('/k/a');
    await first.delete('/k/b');
    await first.close();

    const second = createSqliteStore({ path });
    assert.equal(await second.currentRevision(), 4, 'the revision survives deleting everything');
    const c = await second.create('/k/c', { metadata: { name: 'c' } });
    assert.equal(c.metadata.resourceVersion, '5');
    await second.close();

    const third = createSqliteStore({ path });
    assert.deepEqual((await third.list('/k/')).items, [c]);
    // The change log survived too: a watch can replay across the restart.
    const events: string[] = [];
    const watch = await third.watch('/k/', { fromRevision: 2 }, { onEvent: (e) => void events.push(`${e.type} ${e.key}`) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    watch.stop();
    assert.deepEqual(events, ['DELETED /k/a', 'DELETED /k/b', 'ADDED /k/c']);
    await third.close();
  });

  it('bounds the change log and expires watches from before it', async () => {
    const path = nextPath();
    const store = createSqliteStore({ path, historyLimit: 20 });
    for (let i = 0; i < 60; i++) await store.create(`/k/${i}`, { metadata: { name: String(i) } });
    await assert.rejects(store.watch('/k/', { fromRevision: 1 }, { onEvent() {} }), { reason: 'Expired' });
    const watch = await store.watch('/k/', { fromRevision: 40 }, { onEvent() {} });
    watch.stop();
    await store.close();
    // The retained window is durable: after a reopen, old revisions are still Expired.
    const reopened = createSqliteStore({ path, historyLimit: 20 });
    await assert.rejects(reopened.watch('/k/', { fromRevision: 1 }, { onEvent() {} }), { reason: 'Expired' });
    assert.equal(await reopened.currentRevision(), 60);
    await reopened.close();
  });

  it('refuses a second open of the same file', async () => {
    const path = nextPath();
    const store = createSqliteStore({ path });
    await store.create('/k/a', { metadata: { name: 'a' } });
    assert.throws(() => createSqliteStore({ path }), /in use by another process/);
    await store.close();
  });

  it('keeps every acknowledged write through kill -9', async () => {
    const path = nextPath();
    const writer = spawn(process.execPath, [new URL('./sqlite-crash-writer.ts', import.meta.url).pathname, path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let errors = '';
    writer.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    writer.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => writer.on('exit', (_code, signal) => resolve(signal)));
    // Let it write for a while once it is up, then kill it mid-stream.
    const deadline = Date.now() + 10_000;
    while (output.split('\n').length < 200 && Date.now() < deadline && writer.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 700));
    writer.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', `the writer was killed, not finished (stderr: ${errors})`);

    // Only complete lines count: a key is acknowledged once its line was printed.
    const acknowledged = output.split('\n').slice(0, -1);
    assert.ok(acknowledged.length >= 200, `the writer acknowledged ${acknowledged.length} writes (stderr: ${errors})`);
    const store = createSqliteStore({ path });
    const stored = new Set((await store.list('/crash/')).items.map((o) => o.metadata.name));
    const missing = acknowledged.filter((key) => !stored.has(key.slice('/crash/'.length)));
    assert.deepEqual(missing, [], 'every acknowledged write is stored');
    assert.ok(await store.currentRevision() >= acknowledged.length);
    await store.close();
  });

  it('lists each item with its exact JSON, through filters, pages and updates', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const meta = (name: string, parity?: string) => ({ name, ...(parity ? { labels: { parity } } : {}) });
    await store.create('/things/a', { metadata: meta('a', 'odd'), data: { text: 'é ✓ "quoted" \\ \u2028', 10: 'integer-like key', 2: 'another' } } as never);
    await store.create('/things/b', { metadata: meta('b'), spec: { big: 1e21, small: 5e-7, negative: -0, nested: [[{ deep: [null, true] }]] } } as never);
    const c = await store.create('/things/c', { metadata: meta('c', 'odd') });
    await store.update('/things/c', { ...c, data: { changed: 'yes' } } as never, Number(c.metadata.resourceVersion));
    const check = (result: Awaited<ReturnType<typeof store.list>>, names: string[]) => {
      assert.deepEqual(result.items.map((item) => item.metadata.name), names);
      assert.deepEqual(result.texts, result.items.map((item) => JSON.stringify(item)));
    };
    check(await store.list('/things/'), ['a', 'b', 'c']);
    check(await store.list('/things/', { predicate: (o) => o.metadata.labels?.parity === 'odd' }), ['a', 'c']);
    const first = await store.list('/things/', { limit: 2 });
    check(first, ['a', 'b']);
    check(await store.list('/things/', { limit: 2, continue: first.continue }), ['c']);
    await store.close();
  });

  it('runs on :memory: for tests that need no file', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    const created = await store.create('/k/a', { metadata: { name: 'a' } });
    assert.deepEqual(await store.get('/k/a'), created);
    await store.close();
  });

  it('computes a prefix upper bound in byte order', () => {
    assert.equal(prefixUpperBound('/a/'), '/a0');
    assert.equal(prefixUpperBound(''), undefined);
    assert.equal(prefixUpperBound('a\uffff'), 'b');
  });
});
