import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { EtcdClient } from './etcd-client.ts';
import { decodeRangeResponse, encodeRangeRequest } from './etcd-proto.ts';
import { etcdAvailable, startEtcd, type TestEtcd } from '../testing/index.ts';
import { runStoreConformance } from './conformance.ts';
import { createEtcdStore } from './etcd-store.ts';

// Without etcd the suite is skipped on a workstation, but in CI a missing etcd is a failure:
// before() then throws the message that says how to install it.
const skip = !etcdAvailable() && !process.env.CI
  ? 'etcd is not installed: apt-get install etcd-server (or run .ci/run) to run the etcd store tests'
  : false;

describe('etcd store', { skip }, () => {
  let etcd: TestEtcd | undefined;
  let counter = 0;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  /** A store on the shared etcd under a prefix of its own, so cases never see each other's keys. */
  function makeStore() {
    if (!etcd) throw new Error('etcd did not start');
    return createEtcdStore({ endpoints: [etcd.endpoint], prefix: `/case-${process.pid}-${++counter}` });
  }

  runStoreConformance('etcd', async () => {
    const store = makeStore();
    return { store, cleanup: () => store.close() };
  });

  it('stores the JSON without resourceVersion and stamps mod_revision on read', async () => {
    const prefix = `/raw-${process.pid}`;
    const store = createEtcdStore({ endpoints: [etcd!.endpoint], prefix });
    const client = new EtcdClient({ endpoints: [etcd!.endpoint] });
    try {
      const created = await store.create('/k/a', { metadata: { name: 'a', resourceVersion: '999' } });
      const raw = decodeRangeResponse(await client.call('range', encodeRangeRequest({ key: Buffer.from(`${prefix}/k/a`) }))).kvs[0]!;
      assert.deepEqual(JSON.parse(raw.value.toString()), { metadata: { name: 'a' } });
      assert.equal(created.metadata.resourceVersion, String(raw.modRevision));
      assert.equal((await store.get('/k/a'))?.metadata.resourceVersion, String(raw.modRevision));
    } finally {
      client.close();
      await store.close();
    }
  });

  it('works without a key prefix', async () => {
    const store = createEtcdStore({ endpoints: [etcd!.endpoint] });
    try {
      const before = await store.currentRevision();
      const events: string[] = [];
      const watch = await store.watch('/no-prefix/', {}, { onEvent: (e) => void events.push(`${e.type} ${e.key}`) });
      const created = await store.create('/no-prefix/a', { metadata: { name: 'a' } });
      assert.equal(Number(created.metadata.resourceVersion), before + 1);
      assert.deepEqual((await store.list('/no-prefix/')).items, [created]);
      assert.ok((await store.list('')).items.some((o) => o.metadata.name === 'a'));
      const deadline = Date.now() + 5_000;
      while (events.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      watch.stop();
      assert.deepEqual(events, ['ADDED /no-prefix/a']);
      const replay = await store.watch('', { fromRevision: before }, { onEvent() {} });
      replay.stop();
    } finally {
      await store.close();
    }
  });

  it('ends watches with an error, and fails calls, when etcd goes away', async () => {
    const own = await startEtcd();
    const store = createEtcdStore({ endpoints: [own.endpoint], prefix: '/lost' });
    const errors: Error[] = [];
    try {
      await store.create('/k/a', { metadata: { name: 'a' } });
      await store.watch('/k/', {}, { onEvent() {}, onError: (err) => void errors.push(err) });
      await own.stop();
      const deadline = Date.now() + 5_000;
      while (errors.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /etcd watch stream broke/);
      await assert.rejects(store.get('/k/a'));
    } finally {
      await store.close();
      await own.stop();
    }
  });

  it('lets the process exit after close, even with watches open', async () => {
    const script = `
      import { createEtcdStore } from ${JSON.stringify(new URL('./etcd-store.ts', import.meta.url).href)};
      const store = createEtcdStore({ endpoints: [${JSON.stringify(etcd!.endpoint)}], prefix: '/exit-test' });
      await store.create('/k/a', { metadata: { name: 'a' } });
      await store.watch('/k/', { bookmarkIntervalMs: 50 }, { onEvent() {}, onError() {} });
      await store.list('/k/');
      await store.close();
      console.log('closed');
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 10_000);
      child.on('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    assert.equal(code, 0, `the process exits by itself after close (output: ${output})`);
    assert.match(output, /closed/);
  });
});
