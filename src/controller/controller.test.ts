import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Controller, type ControllerLog } from './controller.ts';
import { ManualScheduler } from './scheduler.ts';
import { TerminalError, type ReconcileRequest, type ReconcileResult, type Reconciler } from './reconciler.ts';
import { Manager } from './manager.ts';

/** Lets workers run everything that is ready. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Advances the manual clock in steps, letting workers run after each. */
async function runFor(scheduler: ManualScheduler, ms: number, step = 1): Promise<void> {
  await flush();
  for (let t = 0; t < ms; t += step) {
    await scheduler.advance(step);
    await flush();
  }
}

/** A reconciler that answers from a script, one outcome a call, and records when it was called. */
function scripted(scheduler: ManualScheduler, script: Array<ReconcileResult | Error | undefined>) {
  const calls: Array<{ at: number; request: ReconcileRequest }> = [];
  const start = scheduler.now();
  const reconciler: Reconciler = {
    async reconcile(request) {
      calls.push({ at: scheduler.now() - start, request });
      const next = script.length > 0 ? script.shift() : undefined;
      if (next instanceof Error) throw next;
      return next;
    },
  };
  return { reconciler, calls };
}

function setup(script: Array<ReconcileResult | Error | undefined>) {
  const scheduler = new ManualScheduler();
  const metrics = new Registry();
  const logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const log: ControllerLog = (level, message, fields) => logs.push({ level, message, fields });
  const { reconciler, calls } = scripted(scheduler, script);
  const controller = new Controller({ name: 'test', reconciler, scheduler, metrics, log, workers: 2 });
  return { scheduler, metrics, logs, calls, controller };
}

async function resultCount(metrics: Registry, result: string): Promise<number> {
  const json = await metrics.getSingleMetric('nephele_controller_reconcile_total')!.get();
  return json.values.find((v) => v.labels.result === result && v.labels.controller === 'test')?.value ?? 0;
}

test('requeueAfter reconciles the key again after that long', async () => {
  const { scheduler, calls, controller, metrics } = setup([{ requeueAfter: 1000 }, {}]);
  controller.start();
  controller.enqueue({ namespace: 'ns', name: 'a' });
  await flush();
  assert.deepEqual(calls, [{ at: 0, request: { namespace: 'ns', name: 'a' } }]);
  await runFor(scheduler, 999, 111);
  assert.equal(calls.length, 1);
  await runFor(scheduler, 1);
  assert.deepEqual(calls.map((c) => c.at), [0, 1000]);
  await runFor(scheduler, 5000, 500);
  assert.equal(calls.length, 2, 'an empty result does not requeue');
  assert.equal(await resultCount(metrics, 'requeue_after'), 1);
  assert.equal(await resultCount(metrics, 'success'), 1);
  await controller.stop();
});

test('requeue: true retries with growing backoff', async () => {
  const { scheduler, calls, controller, metrics } = setup([{ requeue: true }, { requeue: true }, { requeue: true }, {}]);
  controller.start();
  controller.enqueue({ name: 'cluster-scoped' });
  await runFor(scheduler, 100);
  assert.deepEqual(calls.map((c) => c.at), [0, 5, 15, 35]);
  assert.deepEqual(calls[0]!.request, { name: 'cluster-scoped' });
  assert.equal(await resultCount(metrics, 'requeue'), 3);
  await controller.stop();
});

test('errors retry with backoff until success, which resets the backoff', async () => {
  const { scheduler, calls, controller, metrics, logs } = setup([new Error('boom'), new Error('boom'), new Error('boom'), {}]);
  controller.start();
  controller.enqueue({ namespace: 'ns', name: 'a' });
  await runFor(scheduler, 100);
  assert.deepEqual(calls.map((c) => c.at), [0, 5, 15, 35]);
  assert.equal(controller.queue.numRequeues('ns/a'), 0);
  assert.equal(await resultCount(metrics, 'error'), 3);
  assert.equal(await resultCount(metrics, 'success'), 1);
  assert.equal(logs.filter((l) => l.level === 'error').length, 3);
  assert.equal(logs[1]!.fields?.delayMs, 10);
  await controller.stop();
});

test('a TerminalError is logged and not retried', async () => {
  const { scheduler, calls, controller, metrics, logs } = setup([new TerminalError('spec is wrong')]);
  controller.start();
  controller.enqueue({ namespace: 'ns', name: 'a' });
  await runFor(scheduler, 10_000, 100);
  assert.equal(calls.length, 1);
  assert.equal(await resultCount(metrics, 'terminal_error'), 1);
  assert.match(logs[0]!.message, /terminal/);
  assert.equal(logs[0]!.fields?.error, 'spec is wrong');
  controller.enqueue({ namespace: 'ns', name: 'a' });
  await flush();
  assert.equal(calls.length, 2, 'adding the key again reconciles it again');
  await controller.stop();
});

test('one key is never reconciled by two workers at once; adds during a reconcile coalesce', async () => {
  const scheduler = new ManualScheduler();
  let active = 0;
  let maxActive = 0;
  let calls = 0;
  let release!: () => void;
  const reconciler: Reconciler = {
    async reconcile() {
      calls++;
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise<void>((resolve) => (release = resolve));
      active--;
    },
  };
  const controller = new Controller({ name: 'test', reconciler, scheduler, workers: 4, log: () => {} });
  controller.start();
  controller.enqueue({ name: 'a' });
  await flush();
  for (let i = 0; i < 10; i++) controller.enqueue({ name: 'a' });
  await flush();
  assert.equal(calls, 1);
  release();
  await flush();
  assert.equal(calls, 2, 'the adds made during the first reconcile became one more');
  release();
  await flush();
  assert.equal(calls, 2);
  assert.equal(maxActive, 1);
  await controller.stop();
});

test('metrics: queue depth and reconcile duration carry the controller name', async () => {
  const { controller, metrics } = setup([]);
  controller.enqueue({ name: 'a' });
  controller.enqueue({ name: 'b' });
  let text = await metrics.metrics();
  assert.match(text, /nephele_controller_queue_depth\{controller="test"\} 2/);
  controller.start();
  await flush();
  text = await metrics.metrics();
  assert.match(text, /nephele_controller_queue_depth\{controller="test"\} 0/);
  assert.match(text, /nephele_controller_reconcile_duration_seconds_count\{controller="test"\} 2/);
  // A second controller on the same registry shares the series.
  const other = new Controller({ name: 'other', reconciler: { async reconcile() {} }, metrics, log: () => {} });
  other.enqueue({ name: 'x' });
  other.start();
  await flush();
  assert.match(await metrics.metrics(), /nephele_controller_reconcile_total\{controller="other",result="success"\} 1/);
  await Promise.all([controller.stop(), other.stop()]);
});

test('stop waits for the reconcile in flight; a stopped controller can start again', async () => {
  const scheduler = new ManualScheduler();
  let finish!: () => void;
  let finished = false;
  const seen: string[] = [];
  const controller = new Controller({
    name: 'test',
    scheduler,
    log: () => {},
    reconciler: {
      async reconcile(request) {
        seen.push(request.name);
        if (request.name === 'slow') {
          await new Promise<void>((resolve) => (finish = resolve));
          finished = true;
        }
      },
    },
  });
  controller.start();
  controller.enqueue({ name: 'slow' });
  await flush();
  const stopping = controller.stop();
  await flush();
  assert.equal(finished, false);
  finish();
  await stopping;
  assert.equal(finished, true);
  controller.start();
  controller.enqueue({ name: 'again' });
  await flush();
  assert.deepEqual(seen, ['slow', 'again']);
  await controller.stop();
});

test('a manager without leader election starts and stops everything, in reverse on stop', async () => {
  const order: string[] = [];
  const runnable = (name: string) => ({ start: () => void order.push(`start ${name}`), stop: () => void order.push(`stop ${name}`) });
  const manager = new Manager({ log: () => {} });
  await manager.add(runnable('a'));
  await manager.add(runnable('b'));
  await manager.start();
  assert.equal(manager.isLeader, true);
  await manager.add(runnable('c'));
  await manager.stop();
  assert.deepEqual(order, ['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
});
