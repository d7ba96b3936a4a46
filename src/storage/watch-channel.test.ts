import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WatchEvent } from './store.ts';
import { WatchChannel } from './watch-channel.ts';

const change = (revision: number): WatchEvent => ({ type: 'ADDED', revision, key: `/k/${revision}`, object: { metadata: {} } });

describe('WatchChannel', () => {
  it('delivers asynchronously, in order, waiting for a handler that returns a promise', async () => {
    const seen: string[] = [];
    const channel = new WatchChannel({
      bookmarkRevision: () => 0,
      handlers: {
        async onEvent(e) {
          seen.push(`start ${e.revision}`);
          await sleep(e.revision === 1 ? 20 : 0);
          seen.push(`end ${e.revision}`);
        },
      },
    });
    channel.push(change(1));
    channel.push(change(2));
    assert.deepEqual(seen, [], 'nothing is delivered from inside push');
    await sleep(50);
    assert.deepEqual(seen, ['start 1', 'end 1', 'start 2', 'end 2']);
    channel.stop();
  });

  it('ends the watch when a handler throws, reporting the error once', async () => {
    const seen: number[] = [];
    const errors: Error[] = [];
    let closed = 0;
    const channel = new WatchChannel({
      bookmarkRevision: () => 0,
      onClose: () => closed++,
      handlers: {
        onEvent(e) {
          seen.push(e.revision);
          if (e.revision === 2) throw new Error('handler bug');
        },
        onError: (err) => errors.push(err),
      },
    });
    for (let r = 1; r <= 4; r++) channel.push(change(r));
    await sleep(10);
    channel.push(change(5));
    await sleep(10);
    assert.deepEqual(seen, [1, 2]);
    assert.deepEqual(errors.map((e) => e.message), ['handler bug']);
    assert.equal(closed, 1);
    assert.equal(channel.ended, true);
  });

  it('delivers what is queued before the failure, then onError', async () => {
    const seen: string[] = [];
    const channel = new WatchChannel({
      bookmarkRevision: () => 0,
      handlers: { onEvent: (e) => void seen.push(String(e.revision)), onError: (err) => void seen.push(err.message) },
    });
    channel.push(change(1));
    channel.fail(new Error('connection lost'));
    channel.fail(new Error('twice'));
    channel.push(change(2));
    await sleep(10);
    assert.deepEqual(seen, ['1', 'connection lost']);
  });

  it('delivers nothing after stop, not even a pending failure', async () => {
    const seen: string[] = [];
    let closed = 0;
    const channel = new WatchChannel({
      bookmarkRevision: () => 0,
      onClose: () => closed++,
      handlers: { onEvent: (e) => void seen.push(String(e.revision)), onError: (err) => void seen.push(err.message) },
    });
    channel.push(change(1));
    channel.fail(new Error('late'));
    channel.stop();
    channel.stop();
    await sleep(10);
    assert.deepEqual(seen, []);
    assert.equal(closed, 1);
  });

  it('ends a watch whose handler falls too far behind', async () => {
    const errors: Error[] = [];
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const channel = new WatchChannel({
      bookmarkRevision: () => 0,
      maxPendingEvents: 3,
      handlers: { onEvent: () => blocked, onError: (err) => void errors.push(err) },
    });
    for (let r = 1; r <= 5; r++) channel.push(change(r));
    release();
    await sleep(10);
    assert.match(errors[0]?.message ?? '', /fell 3 events behind/);
  });

  it('keeps at most one bookmark waiting behind a slow handler, with the latest revision', async () => {
    const seen: WatchEvent[] = [];
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let revision = 10;
    const channel = new WatchChannel({
      bookmarkIntervalMs: 5,
      bookmarkRevision: () => revision,
      handlers: {
        onEvent(e) {
          seen.push(e);
          return e.revision === 1 ? blocked : undefined;
        },
      },
    });
    channel.push(change(1));
    await sleep(40);
    revision = 12;
    await sleep(20);
    release();
    await sleep(2);
    channel.stop();
    assert.equal(seen[0]?.revision, 1);
    assert.equal(seen[1]?.type, 'BOOKMARK');
    assert.equal(seen[1]?.revision, 12);
    assert.ok(seen.slice(2).every((e) => e.type === 'BOOKMARK' && e.revision === 12));
    assert.ok(seen.length <= 4, `bookmarks coalesced while blocked (got ${seen.length} events)`);
  });
});
