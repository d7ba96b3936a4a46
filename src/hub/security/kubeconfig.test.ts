import { KubeConfig } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { renderKubeconfig, writeKubeconfig } from './kubeconfig.ts';
import { ensureServingCertificates, type ServingCertificates } from './tls.ts';
import { authenticateOrReject, ensureAdminToken, loadTokens } from './tokens.ts';

const homes: string[] = [];
function makeHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'nephele-kubeconfig-'));
  homes.push(home);
  return home;
}
after(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe('renderKubeconfig', () => {
  let certs: ServingCertificates;
  before(async () => {
    certs = await ensureServingCertificates(makeHome(), []);
  });

  it('is accepted by client-node, which reports the server, CA and token', () => {
    const text = renderKubeconfig({ server: 'https://127.0.0.1:6443', caPem: certs.caPem, token: 'tok-123' });
    const kc = new KubeConfig();
    kc.loadFromString(text);
    assert.equal(kc.getCurrentContext(), 'admin@nephele');
    const cluster = kc.getCurrentCluster();
    assert.equal(cluster?.name, 'nephele');
    assert.equal(cluster?.server, 'https://127.0.0.1:6443');
    assert.equal(Buffer.from(cluster!.caData!, 'base64').toString('utf8'), certs.caPem);
    assert.equal(cluster?.skipTLSVerify, false);
    assert.equal(kc.getCurrentUser()?.name, 'admin');
    assert.equal(kc.getCurrentUser()?.token, 'tok-123');
  });

  it('uses the given names', () => {
    const text = renderKubeconfig({ server: 'https://hub:6443', caPem: certs.caPem, token: 't', clusterName: 'fleet', user: 'alice', context: 'work' });
    const doc = parse(text);
    assert.equal(doc['current-context'], 'work');
    assert.deepEqual(doc.contexts, [{ name: 'work', context: { cluster: 'fleet', user: 'alice' } }]);
    assert.deepEqual(doc.users, [{ name: 'alice', user: { token: 't' } }]);
    assert.equal(doc.clusters[0].name, 'fleet');
  });

  it('refuses what kubectl would refuse later', () => {
    assert.throws(() => renderKubeconfig({ server: 'http://127.0.0.1:6443', caPem: certs.caPem, token: 't' }), /must use https/);
    assert.throws(() => renderKubeconfig({ server: '127.0.0.1:6443', caPem: certs.caPem, token: 't' }), /not a URL|must use https/);
    assert.throws(() => renderKubeconfig({ server: 'https://h', caPem: 'nope', token: 't' }), /PEM certificate/);
    assert.throws(() => renderKubeconfig({ server: 'https://h', caPem: certs.caPem, token: '' }), /token/);
  });
});

describe('writeKubeconfig', () => {
  it('writes home/kubeconfig with mode 0600, replacing an earlier one', async () => {
    const home = makeHome();
    const path = await writeKubeconfig(home, 'first\n');
    assert.equal(path, join(home, 'kubeconfig'));
    await writeKubeconfig(home, 'second\n');
    assert.equal(readFileSync(path, 'utf8'), 'second\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });
});

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      if (statSync(join(dir, command)).isFile()) return join(dir, command);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function run(file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// kubectl is Go: this checks that Go's TLS stack accepts the hub's certificates (by name and by
// address), and that it reads the kubeconfig and sends the token the way the hub expects.
describe('kubectl against the hub security plumbing', { skip: findOnPath('kubectl') === undefined && 'kubectl not installed' }, () => {
  const kubectl = findOnPath('kubectl')!;
  let home: string;
  let server: Server;
  let port: number;
  let caPem: string;
  let token: string;

  before(async () => {
    home = makeHome();
    const certs = await ensureServingCertificates(home, []);
    caPem = certs.caPem;
    token = await ensureAdminToken(home);
    const tokens = await loadTokens(home);
    server = createServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
      try {
        const who = authenticateOrReject(tokens, req.headers.authorization);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ major: '1', minor: '32', gitVersion: 'v1.32.0-nephele', user: who.user, path: req.url }));
      } catch {
        res.statusCode = 401;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server?.close();
  });

  for (const host of ['127.0.0.1', 'localhost']) {
    it(`verifies the hub at ${host} and authenticates with the token`, async () => {
      const path = await writeKubeconfig(home, renderKubeconfig({ server: `https://${host}:${port}`, caPem, token }));
      const result = await run(kubectl, ['--kubeconfig', path, 'get', '--raw', '/version']);
      assert.equal(result.code, 0, result.stderr);
      const body = JSON.parse(result.stdout);
      assert.equal(body.user, 'admin');
      assert.equal(body.path, '/version');
    });
  }

  it('is refused at an address the certificate does not name', async (t) => {
    const certs = await ensureServingCertificates(home, []);
    const elsewhere = createServer({ cert: certs.certPem, key: certs.keyPem }, (_req, res) => res.end('{}'));
    try {
      await new Promise<void>((resolve, reject) => {
        elsewhere.once('error', reject);
        elsewhere.listen(0, '127.0.0.2', resolve);
      });
    } catch {
      t.skip('cannot listen on 127.0.0.2');
      return;
    }
    try {
      const otherPort = (elsewhere.address() as AddressInfo).port;
      const path = await writeKubeconfig(home, renderKubeconfig({ server: `https://127.0.0.2:${otherPort}`, caPem, token }));
      const result = await run(kubectl, ['--kubeconfig', path, 'get', '--raw', '/version']);
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /certificate is valid for .*not 127\.0\.0\.2/);
    } finally {
      elsewhere.close();
    }
  });

  it('is refused with a wrong token', async () => {
    const path = await writeKubeconfig(home, renderKubeconfig({ server: `https://127.0.0.1:${port}`, caPem, token: 'wrong' }));
    const result = await run(kubectl, ['--kubeconfig', path, 'get', '--raw', '/version']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Unauthorized/);
  });

  it('is refused when kubectl trusts another CA', async () => {
    const other = await ensureServingCertificates(makeHome(), []);
    const path = await writeKubeconfig(home, renderKubeconfig({ server: `https://127.0.0.1:${port}`, caPem: other.caPem, token }));
    const result = await run(kubectl, ['--kubeconfig', path, 'get', '--raw', '/version']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /certificate/);
  });
});
