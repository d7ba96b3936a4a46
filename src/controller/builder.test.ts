import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { InProcessClient, SharedInformerFactory, type ObjectClient, type ResourceRef } from '../client/index.ts';
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import { makeConfigMap } from '../testing/config-map.ts';
import { startTestHub, type TestHub } from '../testing/hub.ts';
import { waitFor } from '../testing/wait.ts';
import { newControllerBuilder, type BuiltController } from './builder.ts';
import type { ControllerLog } from './controller.ts';
import { Manager } from './manager.ts';
import type { ReconcileRequest, Reconciler } from './reconciler.ts';

const configMaps: ResourceRef = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
const secrets: ResourceRef = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
const ns = 'default';

let hub: TestHub;
let client: ObjectClient;
let built: BuiltController;
const calls: string[] = [];
const logs: string[] = [];
const log: ControllerLog = (level, message, fields) => logs.push(`${level} ${message} ${JSON.stringify(fields)}`);

function isNotFound(err: unknown): boolean {
  return err instanceof StatusError && err.reason === 'NotFound';
}

async function getOrUndefined(ref: ResourceRef, name: string): Promise<KubeObject | undefined> {
  try {
    return await client.get(ref, ns, name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

function base64Data(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
}

/** Keeps a Secret `<cm>-copy`, controlled by the ConfigMap, holding the ConfigMap's data. */
function secretCopier(calls: string[]): Reconciler {
  return {
    async reconcile(request: ReconcileRequest) {
      calls.push(`${request.namespace}/${request.name}`);
      const cm = await getOrUndefined(configMaps, request.name) as (KubeObject & { data?: Record<string, string> }) | undefined;
      // `owns` enqueues any controlling ConfigMap, labelled or not: check the label here too.
      if (!cm || cm.metadata.labels?.app !== 'demo') return;
      const data = base64Data(cm.data);
      const name = `${request.name}-copy`;
      const existing = await getOrUndefined(secrets, name) as (KubeObject & { data?: Record<string, string> }) | undefined;
      if (!existing) {
        await client.create(secrets, ns, {
          apiVersion: 'v1', kind: 'Secret',
          metadata: { name, namespace: ns, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: request.name, uid: cm.metadata.uid!, controller: true }] },
          data,
        } as KubeObject);
      } else if (JSON.stringify(existing.data ?? {}) !== JSON.stringify(data)) {
        await client.update(secrets, ns, { ...existing, data } as KubeObject);
      }
    },
  };
}

async function secretData(name: string): Promise<Record<string, string> | undefined> {
  const secret = await getOrUndefined(secrets, name) as (KubeObject & { data?: Record<string, string> }) | undefined;
  return secret ? Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()])) : undefined;
}

const wait = { timeoutMs: 5_000 };

before(async () => {
  hub = await startTestHub();
  client = new InProcessClient(hub.registry, hub.catalog);
  built = newControllerBuilder({ name: 'secret-copier', client, log })
    .for(configMaps, { namespace: ns, labelSelector: 'app=demo' })
    .owns(secrets, { namespace: ns })
    .complete(secretCopier(calls));
  await built.start();
});

after(async () => {
  await built?.stop();
  await hub.close();
});

test('creating a labelled ConfigMap leads to its Secret, controlled by the ConfigMap', async () => {
  const cm = await client.create(configMaps, ns, makeConfigMap().name('web').labels({ app: 'demo' }).data({ color: 'blue' }).obj() as KubeObject);
  const data = await waitFor('secret web-copy', () => secretData('web-copy'), wait);
  assert.deepEqual(data, { color: 'blue' });
  const secret = await client.get(secrets, ns, 'web-copy');
  assert.deepEqual(secret.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'web', uid: cm.metadata.uid, controller: true }]);
  assert.ok(calls.includes('default/web'));
});

test('updating the ConfigMap data updates the Secret', async () => {
  const cm = await client.get(configMaps, ns, 'web');
  await client.update(configMaps, ns, { ...cm, data: { color: 'green', size: 'L' } } as KubeObject);
  await waitFor('secret web-copy to follow the update', async () => (await secretData('web-copy'))?.color === 'green', wait);
  assert.deepEqual(await secretData('web-copy'), { color: 'green', size: 'L' });
});

test('deleting the Secret by hand makes the controller recreate it (owns)', async () => {
  const before = await client.get(secrets, ns, 'web-copy');
  await client.delete(secrets, ns, 'web-copy');
  const again = await waitFor('secret web-copy to be recreated', async () => {
    const s = await getOrUndefined(secrets, 'web-copy');
    return s && s.metadata.uid !== before.metadata.uid ? s : undefined;
  }, wait);
  assert.equal(again.metadata.ownerReferences?.[0]?.name, 'web');
  assert.deepEqual(await secretData('web-copy'), { color: 'green', size: 'L' });
});

test('a ConfigMap without the label is ignored', async () => {
  await client.create(configMaps, ns, makeConfigMap().name('plain').data({ a: '1' }).obj() as KubeObject);
  // A labelled ConfigMap created afterwards is a marker: once its Secret exists, the unlabelled one has been seen too.
  await client.create(configMaps, ns, makeConfigMap().name('marker').labels({ app: 'demo' }).data({ b: '2' }).obj() as KubeObject);
  await waitFor('secret marker-copy', () => secretData('marker-copy'), wait);
  assert.ok(!calls.includes('default/plain'), `calls: ${calls.join(', ')}`);
  assert.equal(await getOrUndefined(secrets, 'plain-copy'), undefined);
});

test('a Secret no ConfigMap controls enqueues nothing', async () => {
  const count = calls.length;
  // Not controlled by a ConfigMap: the owns watch maps it to no request.
  await client.create(secrets, ns, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'stray', namespace: ns }, data: {} } as KubeObject);
  await client.create(configMaps, ns, makeConfigMap().name('marker2').labels({ app: 'demo' }).obj() as KubeObject);
  await waitFor('secret marker2-copy', () => getOrUndefined(secrets, 'marker2-copy'), wait);
  await waitFor('marker2 to settle', () => calls.length >= count + 2, wait);
  const newCalls = calls.slice(count);
  assert.ok(newCalls.every((c) => c === 'default/marker2'), `calls: ${newCalls.join(', ')}`);
});

test('stop() stops reconciling: a change after stop is not reconciled', async () => {
  await built.stop();
  assert.equal(built.controller.running, false);
  const count = calls.length;
  const cm = await client.get(configMaps, ns, 'web');
  await client.update(configMaps, ns, { ...cm, data: { color: 'red' } } as KubeObject);
  await client.create(configMaps, ns, makeConfigMap().name('late').labels({ app: 'demo' }).obj() as KubeObject);
  await sleep(300);
  assert.equal(calls.length, count);
  assert.equal((await secretData('web-copy'))?.color, 'green');
  assert.equal(await getOrUndefined(secrets, 'late-copy'), undefined);
});

test('started again, it reconciles what changed while it was stopped', async () => {
  await built.start();
  await waitFor('secret web-copy to catch up', async () => (await secretData('web-copy'))?.color === 'red', wait);
  await waitFor('secret late-copy', () => getOrUndefined(secrets, 'late-copy'), wait);
});

test('with a manager, the controller runs from manager.start to manager.stop', async () => {
  const managed: string[] = [];
  const manager = new Manager({ log });
  const controller = newControllerBuilder({ name: 'managed-copier', client, manager, log })
    .for(configMaps, { namespace: ns, labelSelector: 'app=managed' })
    .complete({ async reconcile(request) { managed.push(request.name); } });
  await client.create(configMaps, ns, makeConfigMap().name('m1').labels({ app: 'managed' }).obj() as KubeObject);
  await sleep(50);
  assert.equal(managed.length, 0);
  await manager.start();
  await waitFor('m1 reconciled', () => managed.includes('m1'), wait);
  await manager.stop();
  assert.equal(controller.controller.running, false);
});

test('with a shared informer factory, controllers share one cache, and stopping one leaves it running', async () => {
  const factory = new SharedInformerFactory(client);
  const seenA: string[] = [];
  const seenB: string[] = [];
  const a = newControllerBuilder({ name: 'shared-a', client, informers: factory, log })
    .for(configMaps, { namespace: ns, labelSelector: 'app=shared' })
    .complete({ async reconcile(request) { seenA.push(request.name); } });
  const b = newControllerBuilder({ name: 'shared-b', client, informers: factory, log })
    .for(configMaps, { namespace: ns, labelSelector: 'app=shared' })
    .owns(secrets)
    .complete({ async reconcile(request) { seenB.push(request.name); } });
  assert.equal(a.informers[0], b.informers[0]);
  assert.equal(factory.informers.length, 2);
  await a.start();
  await b.start();
  await client.create(configMaps, ns, makeConfigMap().name('s1').labels({ app: 'shared' }).obj() as KubeObject);
  await waitFor('both reconcile s1', () => seenA.includes('s1') && seenB.includes('s1'), wait);
  await a.stop();
  await client.create(configMaps, ns, makeConfigMap().name('s2').labels({ app: 'shared' }).obj() as KubeObject);
  await waitFor('b still reconciles through the shared informer', () => seenB.includes('s2'), wait);
  assert.ok(!seenA.includes('s2'));
  assert.ok(b.informers[0]!.get(ns, 's2'));
  await b.stop();
  await factory.stop();
});
