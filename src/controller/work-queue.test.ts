import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './work-queue.ts';
import { ManualScheduler } from './scheduler.ts';

test('a key added many times while waiting is handed out once', async () => {
  const queue = new WorkQueue({ scheduler: new ManualScheduler() });
  queue.add('a');
  queue.add('b');
  queue.add('a');
  queue.add('a');
  assert.equal(queue.length, 2);
  assert.equal(await queue.get(), 'a');
  assert.equal(await queue.get(), 'b');
  assert.equal(queue.length, 0);
});

test('a key being processed is not handed out again until done, then comes back once', async () => {
  const queue = new WorkQueue({ scheduler: new ManualScheduler() });
  queue.add('a');
  const key = await queue.get();
  assert.equal(key, 'a');
  queue.add('a');
  queue.add('a');
  assert.equal(queue.length, 0, 'not queued while being processed');
  let second: string | undefined;
  const waiting = queue.get().then((k) => (second = k));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(second, undefined, 'a second worker does not get the key in flight');
  queue.done('a');
  await waiting;
  assert.equal(second, 'a');
  queue.done('a');
  assert.equal(queue.length, 0);
});

test('two workers never process one key at once', async () => {
  const queue = new WorkQueue({ scheduler: new ManualScheduler() });
  const active = new Set<string>();
  let overlaps = 0;
  let processed = 0;
  const worker = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      if (active.has(key)) overlaps++;
      active.add(key);
      await new Promise((resolve) => setImmediate(resolve));
      if (processed++ < 20) queue.add(key);
      active.delete(key);
      queue.done(key);
    }
  };
  queue.add('x');
  const workers = [worker(), worker(), worker()];
  while (processed < 21) await new Promise((resolve) => setImmediate(resolve));
  queue.shutDown();
  await Promise.all(workers);
  assert.equal(overlaps, 0);
  assert.equal(processed, 21);
});

test('addAfter waits on the scheduler, and the earliest of two delays wins', async () => {
  const scheduler = new ManualScheduler();
  const queue = new WorkQueue({ scheduler });
  queue.addAfter('a', 1000);
  queue.addAfter('a', 300);
  queue.addAfter('a', 2000);
  assert.equal(queue.length, 0);
  assert.equal(queue.delayedLength, 1);
  await scheduler.advance(299);
  assert.equal(queue.length, 0);
  await scheduler.advance(1);
  assert.equal(queue.length, 1);
  assert.equal(queue.delayedLength, 0);
  await scheduler.advance(5000);
  assert.equal(queue.length, 1, 'the later delays were dropped');
});

test('addRateLimited backs off exponentially up to the maximum, and forget resets it', async () => {
  const scheduler = new ManualScheduler();
  const queue = new WorkQueue({ scheduler, baseDelayMs: 5, maxDelayMs: 100 });
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    const before = scheduler.now();
    queue.addRateLimited('k');
    let waited = 0;
    while (queue.length === 0) {
      await scheduler.advance(1);
      waited++;
    }
    delays.push(scheduler.now() - before);
    assert.equal(await queue.get(), 'k');
    queue.done('k');
    assert.ok(waited > 0);
  }
  assert.deepEqual(delays, [5, 10, 20, 40, 80, 100, 100]);
  assert.equal(queue.numRequeues('k'), 7);
  queue.forget('k');
  assert.equal(queue.numRequeues('k'), 0);
  assert.equal(queue.backoffOf('k'), 5);
});

test('the default backoff starts at 5 ms and caps at 1000 s', () => {
  const queue = new WorkQueue({ scheduler: new ManualScheduler() });
  assert.equal(queue.backoffOf('k'), 5);
  for (let i = 0; i < 40; i++) queue.addRateLimited('k');
  assert.equal(queue.backoffOf('k'), 1_000_000);
});

test('shutDown resolves waiting gets with undefined and drops delayed keys', async () => {
  const scheduler = new ManualScheduler();
  const queue = new WorkQueue({ scheduler });
  const waiting = queue.get();
  queue.addAfter('later', 10);
  queue.shutDown();
  assert.equal(await waiting, undefined);
  await scheduler.advance(100);
  assert.equal(queue.length, 0);
  queue.add('ignored');
  assert.equal(await queue.get(), undefined);
});
