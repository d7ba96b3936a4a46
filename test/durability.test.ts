/**
 * End-to-end: the hub as a separate `nephele up` process on the SQLite store, killed and
 * restarted. What this proves:
 *
 * - an acknowledged write is durable: under concurrent write load, SIGKILL loses no ConfigMap
 *   the hub answered 201 for; after a restart on the same home every one is listed with its data
 *   and the resourceVersion it was acknowledged with, nothing appears that no client tried to
 *   write, and revisions carry on above every acknowledged one (no revision is handed out twice);
 * - SIGTERM is a clean, prompt shutdown: exit code 0 well inside the hub's own 10 s force-exit,
 *   with a watch stream and keep-alive connections open, and the data is there on the next start;
 * - a second `up` that cannot start (its port is taken; its home's store is in use) says so in
 *   one line on stderr and exits non-zero, without disturbing the hub that is running.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, hubClient, spawnHubProcess, adminToken, type HubClient, type HubProcess } from '../src/testing/hub-process.ts';
import { makeConfigMap } from '../src/testing/config-map.ts';

const nepheleBin = resolve(fileURLToPath(import.meta.url), '../../bin/nephele.js');
const writers = 8;
const loadMs = 2_000;

interface Acknowledged {
  name: string;
  resourceVersion: string;
  data: Record<string, string>;
}

function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'nephele-durability-'));
}

/**
 * One writer: creates ConfigMaps one after another on its own connection until a request fails
 * (the hub was killed). Every 201 is recorded; a request that got no answer is "in doubt".
 */
async function writeUntilFailure(client: HubClient, writer: number, acked: Acknowledged[], inDoubt: Set<string>, unexpected: string[]): Promise<void> {
  for (let seq = 0; ; seq++) {
    const name = `w${writer}-${seq}`;
    const data = { writer: String(writer), seq: String(seq), payload: `${name}:`.padEnd(256, 'x') };
    inDoubt.add(name);
    let res;
    try {
      res = await client.call('POST', '/api/v1/namespaces/durability/configmaps', makeConfigMap().name(name).data(data).json());
    } catch {
      return; // the connection broke: this write's outcome is unknown, so it stays in doubt
    }
    inDoubt.delete(name);
    if (res.status !== 201) {
      unexpected.push(`${name}: ${res.status} ${res.body.slice(0, 200)}`);
      return;
    }
    acked.push({ name, resourceVersion: res.json().metadata.resourceVersion, data });
  }
}

/** Opens a watch and resolves once the hub has answered its headers; `ended` settles when the stream ends. */
function openWatch(home: string, url: string): Promise<{ ended: Promise<void> }> {
  const agent = new Agent({ ca: readFileSync(join(home, 'pki', 'ca.crt'), 'utf8') });
  return new Promise((resolveOpen, reject) => {
    const req = request(`${url}/api/v1/namespaces/default/configmaps?watch=true`, { agent, headers: { authorization: `Bearer ${adminToken(home)}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`watch answered ${res.statusCode}`));
      res.resume();
      const ended = new Promise<void>((done) => {
        res.once('end', done);
        res.once('close', done);
        res.once('error', () => done());
      }).finally(() => agent.destroy());
      resolveOpen({ ended });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hub durability and process lifecycle (SQLite, `nephele up`)', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch {
        // best effort
      }
    }
  });
  /** Spawns a hub and makes sure it does not outlive the test. */
  const spawnHub = (home: string, port: number): HubProcess => {
    const hub = spawnHubProcess({ home, port, store: 'sqlite' });
    cleanups.push(() => hub.kill('SIGKILL'));
    return hub;
  };

  it('keeps every acknowledged write through kill -9 under concurrent write load', async () => {
    const home = tempHome();
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const port = await freePort();
    const first = spawnHub(home, port);
    await first.ready();
    const admin = hubClient(home, first.url);
    cleanups.push(() => admin.close());
    const ns = await admin.call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'durability' } });
    assert.equal(ns.status, 201, ns.body);

    const acked: Acknowledged[] = [];
    const inDoubt = new Set<string>();
    const unexpected: string[] = [];
    const clients = Array.from({ length: writers }, () => hubClient(home, first.url));
    cleanups.push(() => clients.forEach((c) => c.close()));
    const load = Promise.all(clients.map((client, i) => writeUntilFailure(client, i, acked, inDoubt, unexpected)));
    await new Promise((done) => setTimeout(done, loadMs)); // the load's duration, not a wait for a condition
    const killed = await first.kill('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');
    await load;
    assert.deepEqual(unexpected, [], 'the hub answered a create with something other than 201');
    assert.ok(acked.length >= 100, `only ${acked.length} writes were acknowledged in ${loadMs} ms: too few to mean anything`);

    const second = spawnHub(home, port);
    await second.ready();
    const after = hubClient(home, second.url);
    cleanups.push(() => after.close());
    const list = await after.call('GET', '/api/v1/namespaces/durability/configmaps');
    assert.equal(list.status, 200, list.body);
    const stored = new Map<string, { resourceVersion: string; data: Record<string, string> }>(
      (list.json().items as { metadata: { name: string; resourceVersion: string }; data: Record<string, string> }[])
        .map((item) => [item.metadata.name, { resourceVersion: item.metadata.resourceVersion, data: item.data }]),
    );
    const lost = acked.filter((a) => !stored.has(a.name)).map((a) => a.name);
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged writes are gone after kill -9`);
    for (const a of acked) {
      assert.deepEqual(stored.get(a.name), { resourceVersion: a.resourceVersion, data: a.data }, `${a.name} came back different`);
    }
    const ackedNames = new Set(acked.map((a) => a.name));
    const phantoms = [...stored.keys()].filter((n) => !ackedNames.has(n) && !inDoubt.has(n));
    assert.deepEqual(phantoms, [], 'objects nobody was writing appeared');

    const maxAcked = Math.max(...acked.map((a) => Number(a.resourceVersion)));
    const next = await after.call('POST', '/api/v1/namespaces/durability/configmaps', makeConfigMap().name('after-crash').json());
    assert.equal(next.status, 201, next.body);
    assert.ok(Number(next.json().metadata.resourceVersion) > maxAcked, `revision ${next.json().metadata.resourceVersion} after the crash is not above ${maxAcked}`);

    const stopped = await second.kill('SIGTERM');
    assert.deepEqual(stopped, { code: 0, signal: null });
    // The audit log is written by the same process: it must have survived the crash whole too.
    const verify = spawnSync(process.execPath, [nepheleBin, 'audit', 'verify', '--home', home], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(verify.status, 0, `audit verify after kill -9: ${verify.stdout}${verify.stderr}`);
  });

  it('shuts down cleanly and promptly on SIGTERM with a watch and idle connections open', async () => {
    const home = tempHome();
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const port = await freePort();
    const hub = spawnHub(home, port);
    await hub.ready();
    const client = hubClient(home, hub.url, { maxSockets: 4 });
    cleanups.push(() => client.close());
    const created = await client.call('POST', '/api/v1/namespaces/default/configmaps', makeConfigMap().name('before-sigterm').data({ kept: 'yes' }).json());
    assert.equal(created.status, 201, created.body);
    const watch = await openWatch(home, hub.url);

    const started = performance.now();
    const exit = await hub.kill('SIGTERM', 15_000);
    const tookMs = performance.now() - started;
    assert.deepEqual(exit, { code: 0, signal: null }, `stderr: ${hub.output().stderr}`);
    assert.ok(tookMs < 5_000, `SIGTERM took ${Math.round(tookMs)} ms`);
    assert.match(hub.output().stdout, /SIGTERM: stopping the hub/);
    assert.doesNotMatch(hub.output().stderr, /error/i);
    await watch.ended;

    const again = spawnHub(home, port);
    await again.ready();
    const after = hubClient(home, again.url);
    cleanups.push(() => after.close());
    const kept = await after.call('GET', '/api/v1/namespaces/default/configmaps/before-sigterm');
    assert.equal(kept.status, 200, kept.body);
    assert.deepEqual(kept.json().data, { kept: 'yes' });
    assert.equal(kept.json().metadata.resourceVersion, created.json().metadata.resourceVersion);
  });

  it('refuses a second `up` on a busy port, or on a home whose store is in use, with one clear line', async () => {
    const home = tempHome();
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    const port = await freePort();
    const running = spawnHub(home, port);
    await running.ready();

    const otherHome = tempHome();
    cleanups.push(() => rmSync(otherHome, { recursive: true, force: true }));
    const busyPort = spawnHub(otherHome, port);
    const portExit = await busyPort.waitForExit(15_000);
    assert.equal(portExit.signal, null);
    assert.notEqual(portExit.code, 0);
    const portLines = busyPort.output().stderr.trim().split('\n');
    assert.equal(portLines.length, 1, `expected one line, got: ${busyPort.output().stderr}`);
    assert.match(portLines[0]!, new RegExp(`^nephele: cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
    assert.equal(busyPort.output().stdout, '');

    const otherPort = await freePort();
    const sameHome = spawnHub(home, otherPort);
    const homeExit = await sameHome.waitForExit(15_000);
    assert.notEqual(homeExit.code, 0);
    const homeLines = sameHome.output().stderr.trim().split('\n');
    assert.equal(homeLines.length, 1, `expected one line, got: ${sameHome.output().stderr}`);
    assert.match(homeLines[0]!, /^nephele: .*in use by another process/);

    // The hub that was there first is untouched and still serves.
    await running.ready(2_000);
    const client = hubClient(home, running.url);
    cleanups.push(() => client.close());
    const res = await client.call('POST', '/api/v1/namespaces/default/configmaps', makeConfigMap().name('still-serving').json());
    assert.equal(res.status, 201, res.body);
  });
});
