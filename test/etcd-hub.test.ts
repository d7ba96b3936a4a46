/**
 * Hubs on a real etcd: the distributed store that lets users outgrow one machine. Two hub
 * replicas share one etcd; what one writes the other serves, a kind registered through one is
 * served by both, a watch on one sees changes made through the other, and the data outlives
 * every hub process.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateSet } from '../src/hub/security/tls.ts';
import { etcdAvailable, startEtcd, type TestEtcd } from '../src/testing/etcd.ts';
import { freePort, hubClient, spawnHubProcess } from '../src/testing/hub-process.ts';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';
import { waitFor } from '../src/testing/wait.ts';

const skip = !etcdAvailable() && !process.env.CI ? 'etcd is not installed (apt-get install etcd-server, or run .ci/run)' : false;

describe('hub replicas on one etcd', { skip }, () => {
  let etcd: TestEtcd;
  let a: TestHub;
  let b: TestHub;
  before(async () => {
    etcd = await startEtcd();
    const store = `etcd://${etcd.endpoint.replace(/^https?:\/\//, '')}`;
    a = await startTestHub({ store });
    b = await startTestHub({ store });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await etcd?.stop();
  });

  const ok = async (hub: TestHub, args: string[], input?: string) => {
    const r = await hub.kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  it('runs the hub controllers on exactly one replica, the lease holder', async () => {
    await waitFor('a leader', () => (a.controllers.isLeader || b.controllers.isLeader ? true : undefined));
    assert.notEqual(a.controllers.isLeader, b.controllers.isLeader, 'one leads, the other stands by');
    const lease = JSON.parse(await ok(a, ['-n', 'nephele-system', 'get', 'lease', 'nephele-hub-controllers', '-o', 'json']));
    const leader = a.controllers.isLeader ? a : b;
    assert.equal(lease.spec.holderIdentity, leader.controllers.elector?.identity);
  });

  it('serves through one replica what the other wrote', async () => {
    await ok(a, ['create', 'configmap', 'shared', '--from-literal=k=v']);
    const read = JSON.parse(await ok(b, ['get', 'configmap', 'shared', '-o', 'json']));
    assert.equal(read.data.k, 'v');
    await ok(b, ['patch', 'configmap', 'shared', '--type=merge', '-p', '{"data":{"k":"w"}}']);
    assert.equal(JSON.parse(await ok(a, ['get', 'configmap', 'shared', '-o', 'json'])).data.k, 'w');
    const stale = await a.call('PUT', '/api/v1/namespaces/default/configmaps/shared', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...read, data: { k: 'lost' } }),
    });
    assert.equal(stale.status, 409, 'compare-and-swap holds across replicas');
  });

  it('streams to a watch on one replica the changes made through the other', async () => {
    const child = spawn('kubectl', ['--kubeconfig', b.kubeconfigPath, 'get', 'configmaps', '-w', '--output-watch-events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('the watch to start', async () => (out.includes('EVENT') || out.includes('shared') ? true : undefined));
      await ok(a, ['create', 'configmap', 'from-a', '--from-literal=x=1']);
      await waitFor('ADDED on the other replica', async () => (/ADDED\s+from-a/.test(out) ? true : undefined));
      await ok(a, ['delete', 'configmap', 'from-a']);
      await waitFor('DELETED on the other replica', async () => (/DELETED\s+from-a/.test(out) ? true : undefined));
    } finally {
      child.kill();
    }
  });

  it('serves a CRD registered through one replica on both', async () => {
    await ok(a, ['apply', '-f', new URL('../docs/examples/budget-crd.yaml', import.meta.url).pathname]);
    await waitFor('budgets on replica b', async () => ((await b.kubectl(['api-resources', '--api-group=finops.example.com'])).stdout.includes('budgets') ? true : undefined));
    await ok(b, ['apply', '-f', new URL('../docs/examples/budget.yaml', import.meta.url).pathname]);
    assert.match(await ok(a, ['get', 'budgets']), /^team-a\s+500\s+EUR/m);
  });

  it('hands the controllers to the other replica when the leader stops, and keeps the data when every hub is gone', async () => {
    const store = `etcd://${etcd.endpoint.replace(/^https?:\/\//, '')}`;
    const [leader, standby] = a.controllers.isLeader ? [a, b] : [b, a];
    await leader.close();
    await waitFor('the standby to lead', () => (standby.controllers.isLeader ? true : undefined), { timeoutMs: 10_000 });
    await standby.close();
    const c = await startTestHub({ store });
    try {
      assert.equal(JSON.parse(await ok(c, ['get', 'configmap', 'shared', '-o', 'json'])).data.k, 'w');
    } finally {
      await c.close();
    }
  });
});

describe('a hub on etcd over TLS with client certificates', { skip }, () => {
  let etcd: TestEtcd;
  let dir: string;
  const files = { ca: '', cert: '', key: '' };
  before(async () => {
    // One certificate for both ends: etcd serves with it and the hub presents it.
    const pki = await createCertificateSet(['127.0.0.1'], { clientAuth: true });
    etcd = await startEtcd({ tls: { caPem: pki.caPem, certPem: pki.certPem, keyPem: pki.keyPem } });
    dir = mkdtempSync(join(tmpdir(), 'nephele-etcd-tls-'));
    for (const [name, pem] of [['ca', pki.caPem], ['cert', pki.certPem], ['key', pki.keyPem]] as const) {
      files[name] = join(dir, `${name}.pem`);
      writeFileSync(files[name], pem, { mode: 0o600 });
    }
  });
  after(async () => {
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const store = () => `etcds://${etcd.endpoint.replace(/^https:\/\//, '')}`;

  it('nephele up --store etcds:// with --etcd-ca, --etcd-cert and --etcd-key serves from that etcd', async () => {
    const home = join(dir, 'home');
    const hub = spawnHubProcess({ home, port: await freePort(), store: store(), extraArgs: ['--etcd-ca', files.ca, '--etcd-cert', files.cert, '--etcd-key', files.key] });
    try {
      await hub.ready();
      const client = hubClient(home, hub.url);
      try {
        const created = await client.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'over-tls' }, data: { k: 'v' } });
        assert.equal(created.status, 201, created.body);
        const read = await client.call('GET', '/api/v1/namespaces/default/configmaps/over-tls');
        assert.equal(read.status, 200);
        assert.equal(read.json().data.k, 'v');
      } finally {
        client.close();
      }
      assert.equal((await hub.kill('SIGTERM')).code, 0);
    } finally {
      await hub.kill('SIGKILL').catch(() => undefined);
    }
  });

  it('without a client certificate the hub does not start, and says why in one line', async () => {
    const hub = spawnHubProcess({ home: join(dir, 'refused'), port: await freePort(), store: store(), extraArgs: ['--etcd-ca', files.ca] });
    const exit = await hub.waitForExit(20_000);
    assert.equal(exit.code, 1);
    const { stderr } = hub.output();
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /the hub did not start: .*etcd did not accept this client's certificate/);
  });
});
