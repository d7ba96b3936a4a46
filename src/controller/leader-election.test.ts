import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectClient } from '../client/client.ts';
import { InProcessClient } from '../client/index.ts';
import { StatusError } from '../machinery/status-error.ts';
import { startTestHub, type TestHub } from '../testing/hub.ts';
import { LeaderElector, leaseResource, toMicroTime, type LeaderElectorOptions, type LeaseSpec } from './leader-election.ts';
import { ManualScheduler } from './scheduler.ts';
import { Manager } from './manager.ts';


let hub: TestHub;
let client: ObjectClient;
let leaseCount = 0;

before(async () => {
  hub = await startTestHub();
  client = new InProcessClient(hub.registry, hub.catalog);
});

after(async () => {
  await hub.close();
});

function candidates(scheduler: ManualScheduler, extra: Partial<LeaderElectorOptions> = {}) {
  const name = `lease-${++leaseCount}`;
  const transitions: string[] = [];
  const make = (identity: string, c: ObjectClient = client) =>
    new LeaderElector({
      client: c, namespace: 'default', name, identity, scheduler, log: () => {},
      onStartedLeading: () => void transitions.push(`${identity} started`),
      onStoppedLeading: () => void transitions.push(`${identity} stopped`),
      ...extra,
    });
  const lease = async () => (await client.get(leaseResource, 'default', name)).spec as LeaseSpec;
  return { name, make, transitions, lease };
}

/** Lets callbacks queued by the electors run. */
const flush = () => new Promise((resolve) => setImmediate(resolve));

test('MicroTime has microseconds', () => {
  assert.equal(toMicroTime(Date.parse('2026-01-01T00:00:00.123Z')), '2026-01-01T00:00:00.123000Z');
});

test('of two candidates starting at once, exactly one leads, and keeps leading while it renews', async () => {
  const scheduler = new ManualScheduler();
  const { make, lease } = candidates(scheduler);
  const a = make('a');
  const b = make('b');
  await Promise.all([a.start(), b.start()]);
  assert.equal([a, b].filter((e) => e.isLeader).length, 1);
  const leader = a.isLeader ? a : b;
  const first = await lease();
  assert.equal(first.holderIdentity, leader.identity);
  assert.equal(first.leaseDurationSeconds, 15);
  assert.equal(first.leaseTransitions, 0);
  assert.match(first.renewTime!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  await scheduler.advance(60_000);
  assert.equal([a, b].filter((e) => e.isLeader).length, 1);
  assert.ok(leader.isLeader);
  const later = await lease();
  assert.equal(later.renewTime, toMicroTime(scheduler.now()), 'renewed every 2 s, last at 60 s');
  assert.equal(later.acquireTime, first.acquireTime);
  await a.abandon();
  await b.abandon();
});

test('a leader that stops releases the lease and the other takes over at its next attempt', async () => {
  const scheduler = new ManualScheduler();
  const { make, lease, transitions } = candidates(scheduler);
  const a = make('a');
  const b = make('b');
  await a.start();
  await b.start();
  await flush();
  assert.ok(a.isLeader);
  assert.ok(!b.isLeader);
  await a.stop();
  assert.ok(!a.isLeader);
  assert.equal((await lease()).holderIdentity, undefined);
  await scheduler.advance(2000);
  await flush();
  assert.ok(b.isLeader);
  const spec = await lease();
  assert.equal(spec.holderIdentity, 'b');
  assert.equal(spec.leaseTransitions, 1);
  assert.deepEqual(transitions, ['a started', 'a stopped', 'b started']);
  await b.stop();
});

test('a leader that dies without releasing is replaced only once its lease has expired', async () => {
  const scheduler = new ManualScheduler();
  const { make, lease } = candidates(scheduler);
  const a = make('a');
  const b = make('b');
  await a.start();
  await b.start();
  await scheduler.advance(4000);
  assert.ok(a.isLeader);
  const lastRenew = Date.parse((await lease()).renewTime!);
  await a.abandon();
  // The lease runs 15 s from the last renewal; b tries every 2 s.
  await scheduler.advance(lastRenew + 15_000 - scheduler.now());
  assert.ok(!b.isLeader, 'not while the lease is still valid');
  assert.equal((await lease()).holderIdentity, 'a');
  await scheduler.advance(2000);
  assert.ok(b.isLeader);
  assert.equal((await lease()).holderIdentity, 'b');
  await b.stop();
});

test('a leader that cannot renew steps down after the renew deadline, before anyone else can lead', async () => {
  const scheduler = new ManualScheduler();
  const { make } = candidates(scheduler);
  let broken = false;
  const update: ObjectClient['update'] = (ref, ns, obj) => (broken ? Promise.reject(new StatusError('ServiceUnavailable', 'store down')) : client.update(ref, ns, obj));
  // The real client, except that its updates fail once `broken` is set.
  const flaky = new Proxy(client, {
    get: (target, prop) => (prop === 'update' ? update : (Reflect.get(target, prop) as (...args: unknown[]) => unknown).bind(target)),
  });
  const a = make('a', flaky);
  const b = make('b');
  await a.start();
  await b.start();
  assert.ok(a.isLeader);
  broken = true;
  let aStoppedAt: number | undefined;
  let bStartedAt: number | undefined;
  const start = scheduler.now();
  for (let t = 0; t < 30_000; t += 500) {
    await scheduler.advance(500);
    if (!a.isLeader && aStoppedAt === undefined) aStoppedAt = scheduler.now() - start;
    if (b.isLeader && bStartedAt === undefined) bStartedAt = scheduler.now() - start;
    assert.ok(!(a.isLeader && b.isLeader), 'never two leaders');
  }
  assert.ok(aStoppedAt !== undefined && aStoppedAt >= 10_000 && aStoppedAt <= 12_000, `a stepped down at ${aStoppedAt}`);
  assert.ok(bStartedAt !== undefined && bStartedAt > 15_000, `b took over at ${bStartedAt}`);
  await a.abandon();
  await b.stop();
});

test('on the real clock with short durations, stop hands over within a retry period', async () => {
  const { make } = candidates(new ManualScheduler(), { scheduler: undefined, leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 50 });
  const a = make('a');
  const b = make('b');
  await a.start();
  await b.start();
  assert.ok(a.isLeader && !b.isLeader);
  await a.stop();
  const deadline = Date.now() + 2000;
  while (!b.isLeader && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(b.isLeader);
  await b.stop();
});

test('managers with leader election run their controllers only on the leader', async () => {
  const scheduler = new ManualScheduler();
  const name = `lease-${++leaseCount}`;
  const running = new Set<string>();
  const managerFor = (identity: string) => {
    const manager = new Manager({ leaderElection: { client, namespace: 'default', name, identity, scheduler }, log: () => {} });
    void manager.add({ start: () => void running.add(`${identity} controller`), stop: () => void running.delete(`${identity} controller`) });
    void manager.add({ start: () => void running.add(`${identity} cache`), stop: () => void running.delete(`${identity} cache`) }, { needLeaderElection: false });
    return manager;
  };
  const one = managerFor('one');
  const two = managerFor('two');
  await one.start();
  await two.start();
  await flush();
  assert.deepEqual([...running].sort(), ['one cache', 'one controller', 'two cache']);
  assert.ok(one.isLeader && !two.isLeader);
  await one.stop();
  await scheduler.advance(2000);
  await flush();
  assert.deepEqual([...running].sort(), ['two cache', 'two controller']);
  await two.stop();
  assert.deepEqual([...running], []);
});
