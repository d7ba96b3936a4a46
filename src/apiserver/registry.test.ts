/**
 * The registry's Kubernetes metadata rules, on a memory store with a manual clock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../storage/index.ts';
import { ManualClock } from '../machinery/clock.ts';
import { StatusError } from '../machinery/status-error.ts';
import { builtinResourceTypes } from '../api/kinds/builtin-kinds.ts';
import { AdmissionChain } from './admission.ts';
import { ObjectRegistry } from './registry.ts';
import { WatchCache } from './watch-cache.ts';

const user = { username: 'tester', groups: [] };

async function setup() {
  const clock = new ManualClock();
  const admission = new AdmissionChain();
  const registry = new ObjectRegistry(createMemoryStore(), admission, clock);
  const types = Object.fromEntries(builtinResourceTypes().map((t) => [t.plural, t]));
  await registry.create(types.namespaces!, undefined, { metadata: { name: 'default' } }, { user });
  return { registry, types: types as Record<string, NonNullable<(typeof types)[string]>>, clock, admission };
}

const deployment = (name: string) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } } },
});

async function rejects(promise: Promise<unknown>, reason: string, pattern?: RegExp): Promise<StatusError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof StatusError, `expected a StatusError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected ${reason}`);
}

describe('ObjectRegistry', () => {
  it('fills system metadata on create and generates names', async () => {
    const { registry, types, clock } = await setup();
    const obj = await registry.create(types.configmaps!, 'default', { metadata: { generateName: 'cfg-', uid: 'mine', resourceVersion: '99' } }, { user });
    assert.match(obj.metadata.name!, /^cfg-[a-z0-9]{5}$/);
    assert.notEqual(obj.metadata.uid, 'mine', 'uid is the server\'s');
    assert.equal(obj.metadata.creationTimestamp, clock.nowIso());
    assert.equal(obj.metadata.generation, 1);
    assert.notEqual(obj.metadata.resourceVersion, '99');
  });

  it('refuses objects in a namespace that does not exist', async () => {
    const { registry, types } = await setup();
    await rejects(registry.create(types.configmaps!, 'nowhere', { metadata: { name: 'a' } }, { user }), 'NotFound', /namespaces "nowhere" not found/);
  });

  it('bumps generation on spec changes only', async () => {
    const { registry, types } = await setup();
    const created = await registry.create(types.deployments!, 'default', deployment('web'), { user });
    const labelled = await registry.patch(types.deployments!, 'default', 'web', 'merge', { metadata: { labels: { a: 'b' } } }, { user });
    assert.equal(labelled.metadata.generation, created.metadata.generation);
    const scaled = await registry.patch(types.deployments!, 'default', 'web', 'merge', { spec: { replicas: 3 } }, { user });
    assert.equal(scaled.metadata.generation, 2);
  });

  it('keeps status out of main-resource writes and spec out of status writes', async () => {
    const { registry, types } = await setup();
    await registry.create(types.deployments!, 'default', { ...deployment('s'), status: { replicas: 9 } } as never, { user });
    let live = await registry.get(types.deployments!, 'default', 's');
    assert.equal(live.status, undefined, 'status is dropped on create');
    live = await registry.update(types.deployments!, 'default', 's', { ...live, status: { readyReplicas: 1 } }, { user, subresource: 'status' });
    assert.deepEqual(live.status, { readyReplicas: 1 });
    const both = structuredClone(live) as typeof live & { spec: { replicas: number } };
    both.spec.replicas = 4;
    both.status = { readyReplicas: 99 };
    live = await registry.update(types.deployments!, 'default', 's', both, { user });
    assert.deepEqual(live.status, { readyReplicas: 1 }, 'a main-resource update leaves status alone');
    assert.equal((live.spec as { replicas: number }).replicas, 4);
    const statusOnly = structuredClone(live) as typeof live & { spec: { replicas: number } };
    statusOnly.spec.replicas = 10;
    statusOnly.status = { readyReplicas: 2 };
    live = await registry.update(types.deployments!, 'default', 's', statusOnly, { user, subresource: 'status' });
    assert.equal((live.spec as { replicas: number }).replicas, 4, 'a status update leaves spec alone');
  });

  it('answers 409 for a stale resourceVersion and 400 for a malformed one', async () => {
    const { registry, types } = await setup();
    const first = await registry.create(types.configmaps!, 'default', { metadata: { name: 'c' }, data: { a: '1' } }, { user });
    await registry.update(types.configmaps!, 'default', 'c', { ...first, data: { a: '2' } }, { user });
    await rejects(registry.update(types.configmaps!, 'default', 'c', { ...first, data: { a: '3' } }, { user }), 'Conflict');
    await rejects(registry.update(types.configmaps!, 'default', 'c', { ...first, metadata: { ...first.metadata, resourceVersion: 'x1' } }, { user }), 'BadRequest', /invalid resource version/);
  });

  it('holds deletion for finalizers and finishes it when they are removed', async () => {
    const { registry, types, clock } = await setup();
    await registry.create(types.configmaps!, 'default', { metadata: { name: 'f', finalizers: ['example.com/hold'] } }, { user });
    const outcome = await registry.delete(types.configmaps!, 'default', 'f', { user });
    assert.equal(outcome.deleted, false);
    assert.equal(outcome.object.metadata.deletionTimestamp, clock.nowIso());
    await rejects(registry.patch(types.configmaps!, 'default', 'f', 'merge', { metadata: { finalizers: ['example.com/hold', 'example.com/more'] } }, { user }), 'Invalid', /no new finalizers/);
    await registry.patch(types.configmaps!, 'default', 'f', 'merge', { metadata: { finalizers: null } }, { user });
    assert.equal(await registry.tryGet(types.configmaps!, 'default', 'f'), undefined);
  });

  it('checks delete preconditions', async () => {
    const { registry, types } = await setup();
    await registry.create(types.configmaps!, 'default', { metadata: { name: 'p' } }, { user });
    await rejects(registry.delete(types.configmaps!, 'default', 'p', { user, preconditions: { uid: 'other' } }), 'Conflict', /Precondition failed: UID/);
    assert.ok(await registry.tryGet(types.configmaps!, 'default', 'p'));
  });

  it('writes nothing on a dry run', async () => {
    const { registry, types } = await setup();
    const revision = await registry.store.currentRevision();
    const dry = await registry.create(types.configmaps!, 'default', { metadata: { name: 'dry' } }, { user, dryRun: true });
    assert.equal(dry.metadata.name, 'dry');
    assert.equal(await registry.store.currentRevision(), revision);
    assert.equal(await registry.tryGet(types.configmaps!, 'default', 'dry'), undefined);
  });

  it('runs mutating admission before validation and validating admission after', async () => {
    const { registry, types, admission } = await setup();
    const seen: string[] = [];
    admission.addMutating({ name: 'label', admit: (req) => { seen.push('mutate'); req.object!.metadata.labels = { ...req.object!.metadata.labels, stamped: 'yes' }; } });
    admission.addValidating({ name: 'deny-forbidden', validate: (req) => {
      seen.push('validate');
      if (req.object?.metadata.name === 'forbidden') throw new StatusError('Forbidden', 'names like that are not allowed here');
    } });
    const obj = await registry.create(types.configmaps!, 'default', { metadata: { name: 'fine' } }, { user });
    assert.equal(obj.metadata.labels?.stamped, 'yes');
    await rejects(registry.create(types.configmaps!, 'default', { metadata: { name: 'forbidden' } }, { user }), 'Forbidden');
    assert.deepEqual(seen, ['mutate', 'validate', 'mutate', 'validate']);
    assert.equal(await registry.tryGet(types.configmaps!, 'default', 'forbidden'), undefined, 'a rejected write leaves nothing behind');
  });

  it('retries patches that lose a race to another process on the same store', async () => {
    const { registry, types } = await setup();
    // A second registry on the same store stands in for another hub replica.
    const other = new ObjectRegistry(registry.store, new AdmissionChain(), registry.clock);
    await registry.create(types.configmaps!, 'default', { metadata: { name: 'shared' }, data: {} }, { user });
    const writes = Array.from({ length: 20 }, (_, i) => (i % 2 ? registry : other).patch(types.configmaps!, 'default', 'shared', 'merge', { data: { [`k${i}`]: String(i) } }, { user }));
    await Promise.all(writes);
    const final = await registry.get(types.configmaps!, 'default', 'shared');
    assert.equal(Object.keys(final.data as object).length, 20, 'every patch landed');
  });

  it('takes the current object of an update from the watch cache, and a version the cache holds but the store has moved past still gets 409', async () => {
    const store = createMemoryStore();
    const cache = new WatchCache(store);
    await cache.start();
    const registry = new ObjectRegistry(store, new AdmissionChain(), new ManualClock(), cache);
    const types = Object.fromEntries(builtinResourceTypes().map((t) => [t.plural, t]));
    const configmaps = types.configmaps!;
    await registry.create(types.namespaces!, undefined, { metadata: { name: 'default' } }, { user });
    const created = await registry.create(configmaps, 'default', { metadata: { name: 'c' }, data: { n: '1' } }, { user });
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Served from the cache: the store's own read would see the same object.
    const reads: string[] = [];
    const get = store.get.bind(store);
    store.get = async (key) => {
      reads.push(key);
      return get(key);
    };
    const updated = await registry.update(configmaps, 'default', 'c', { ...created, data: { n: '2' } }, { user });
    assert.deepEqual(updated.data, { n: '2' });
    assert.notEqual(updated.metadata.resourceVersion, created.metadata.resourceVersion);
    assert.deepEqual(reads, [], 'no store read for an update of the version the cache holds');
    // The cache stops following the store, so it holds an older version as the newest; the
    // store moves on, and an update of that older version must still lose.
    await new Promise((resolve) => setTimeout(resolve, 10));
    cache.stop();
    const moved = await registry.update(configmaps, 'default', 'c', { ...updated, data: { n: '3' } }, { user });
    await rejects(registry.update(configmaps, 'default', 'c', { ...updated, data: { n: 'lost' } }, { user }), 'Conflict');
    store.get = get;
    assert.deepEqual((await registry.get(configmaps, 'default', 'c')).data, { n: '3' });
    assert.equal((await registry.get(configmaps, 'default', 'c')).metadata.resourceVersion, moved.metadata.resourceVersion);
    await store.close();
  });
});
