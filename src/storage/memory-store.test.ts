import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusError } from '../machinery/status-error.ts';
import { runStoreConformance } from './conformance.ts';
import { createMemoryStore } from './memory-store.ts';

runStoreConformance('memory', async () => {
  const store = createMemoryStore();
  return { store, cleanup: () => store.close() };
});

describe('memory store', () => {
  it('keeps only the last historyLimit changes for replay', async () => {
    const store = createMemoryStore({ historyLimit: 3 });
    for (let i = 1; i <= 5; i++) await store.create(`/k/${i}`, { metadata: { name: String(i) } });
    // Changes 3, 4 and 5 remain, so a watch from revision 2 still replays completely.
    const events: number[] = [];
    const watch = await store.watch('/k/', { fromRevision: 2 }, { onEvent: (e) => void events.push(e.revision) });
    await new Promise((resolve) => setTimeout(resolve, 10));
    watch.stop();
    assert.deepEqual(events, [3, 4, 5]);
    await assert.rejects(store.watch('/k/', { fromRevision: 1 }, { onEvent() {} }), (err) => {
      assert.ok(err instanceof StatusError);
      assert.equal(err.reason, 'Expired');
      assert.equal(err.message, 'too old resource version: 1 (2)');
      return true;
    });
    await store.close();
  });

  it('does not let a predicate change a stored object', async () => {
    const store = createMemoryStore();
    await store.create('/k/a', { metadata: { name: 'a', labels: { x: '1' } } });
    await assert.rejects(store.list('/k/', {
      predicate: (o) => {
        o.metadata.labels!.x = '2';
        return true;
      },
    }), TypeError);
    assert.equal((await store.get('/k/a'))?.metadata.labels?.x, '1');
    await store.close();
  });

  it('rejects calls after close', async () => {
    const store = createMemoryStore();
    await store.close();
    await assert.rejects(store.get('/k/a'), /memory store is closed/);
  });
});
