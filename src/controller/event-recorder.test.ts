import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectClient, ResourceRef } from '../client/client.ts';
import { InProcessClient } from '../client/index.ts';
import { ManualClock } from '../machinery/clock.ts';
import { startTestHub, type TestHub } from '../testing/hub.ts';
import { EventRecorder, eventResource } from './event-recorder.ts';


const configMaps: ResourceRef = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };

let hub: TestHub;
let client: ObjectClient;

before(async () => {
  hub = await startTestHub();
  client = new InProcessClient(hub.registry, hub.catalog);
});

after(async () => {
  await hub.close();
});

test('repeats of one event fold into count and lastTimestamp; a different message is a new Event', async () => {
  const clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));
  const logs: string[] = [];
  const recorder = new EventRecorder({ client, component: 'test-controller', host: 'node-1', clock, log: (_l, m, f) => logs.push(`${m} ${JSON.stringify(f)}`) });
  const cm = await client.create(configMaps, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'default' } });

  await recorder.warning(cm, 'SyncFailed', 'cluster east unreachable');
  clock.advance(2000);
  await recorder.warning(cm, 'SyncFailed', 'cluster east unreachable');
  clock.advance(3000);
  await recorder.warning(cm, 'SyncFailed', 'cluster east unreachable');
  await recorder.normal(cm, 'Synced', 'synced to 3 clusters');
  assert.deepEqual(logs, []);

  const { items } = await client.list(eventResource, 'default');
  const mine = items.filter((e) => (e.involvedObject as { uid?: string }).uid === cm.metadata.uid);
  assert.equal(mine.length, 2);
  const failed = mine.find((e) => e.reason === 'SyncFailed')!;
  assert.equal(failed.type, 'Warning');
  assert.equal(failed.message, 'cluster east unreachable');
  assert.equal(failed.count, 3);
  assert.equal(failed.firstTimestamp, '2026-03-01T10:00:00Z');
  assert.equal(failed.lastTimestamp, '2026-03-01T10:00:05Z');
  assert.deepEqual(failed.source, { component: 'test-controller', host: 'node-1' });
  assert.deepEqual(failed.involvedObject, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'cfg', uid: cm.metadata.uid, resourceVersion: cm.metadata.resourceVersion });
  assert.match(failed.metadata.name!, /^cfg\./);
  const synced = mine.find((e) => e.reason === 'Synced')!;
  assert.equal(synced.type, 'Normal');
  assert.equal(synced.count, 1);
});

test('concurrent repeats still fold into one Event', async () => {
  const recorder = new EventRecorder({ client, component: 'test-controller', clock: new ManualClock(), log: () => {} });
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'busy', uid: 'uid-busy' };
  await Promise.all(Array.from({ length: 5 }, () => recorder.normal(ref, 'Tick', 'again')));
  const { items } = await client.list(eventResource, 'default');
  const mine = items.filter((e) => (e.involvedObject as { uid?: string }).uid === 'uid-busy');
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.count, 5);
});

test('a repeat after the window, or after the Event was deleted, writes a new Event', async () => {
  const clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));
  const recorder = new EventRecorder({ client, component: 'test-controller', clock, windowMs: 60_000, log: () => {} });
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'quiet', uid: 'uid-quiet' };
  const mine = async () => (await client.list(eventResource, 'default')).items.filter((e) => (e.involvedObject as { uid?: string }).uid === 'uid-quiet');
  await recorder.normal(ref, 'Tick', 'again');
  clock.advance(61_000);
  await recorder.normal(ref, 'Tick', 'again');
  assert.deepEqual((await mine()).map((e) => e.count), [1, 1]);
  for (const e of await mine()) await client.delete(eventResource, 'default', e.metadata.name!);
  clock.advance(1000);
  await recorder.normal(ref, 'Tick', 'again');
  assert.deepEqual((await mine()).map((e) => e.count), [1]);
});

test('events about cluster-scoped objects go to the default namespace; failures are logged, not thrown', async () => {
  const logs: string[] = [];
  const recorder = new EventRecorder({ client, component: 'test-controller', log: (_l, m) => logs.push(m) });
  await recorder.normal({ apiVersion: 'v1', kind: 'Namespace', name: 'default', uid: 'uid-ns' }, 'Seen', 'namespace seen');
  const { items } = await client.list(eventResource, 'default');
  assert.ok(items.some((e) => (e.involvedObject as { uid?: string }).uid === 'uid-ns'));
  await recorder.normal({ kind: 'ConfigMap', namespace: 'no-such-namespace', name: 'x' }, 'Seen', 'x');
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /could not write event/);
});
