import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from './memory-store.ts';
import type { WatchEvent } from './store.ts';

describe('watch fan-out', () => {
  it('copies events for ordinary watches and shares them with read-only ones', async () => {
    const store = createMemoryStore();
    const got: Record<string, WatchEvent[]> = { a: [], b: [], shared1: [], shared2: [] };
    await store.watch('/x/', {}, { onEvent: (e) => got.a!.push(e) });
    await store.watch('/x/', {}, { onEvent: (e) => got.b!.push(e) });
    await store.watch('/x/', { readOnly: true }, { onEvent: (e) => got.shared1!.push(e) });
    await store.watch('/x/', { readOnly: true }, { onEvent: (e) => got.shared2!.push(e) });
    await store.create('/x/one', { metadata: { name: 'one' } });
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(Object.values(got).every((events) => events.length === 1));
    assert.notEqual(got.a![0]!.object, got.b![0]!.object, 'ordinary watches get their own copies');
    assert.equal(got.shared1![0]!.object, got.shared2![0]!.object, 'read-only watches share one object');
    got.a![0]!.object!.metadata.name = 'changed';
    assert.equal(got.shared1![0]!.object!.metadata.name, 'one', 'changing a copy touches nobody else');
    await store.close();
  });
});
