import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureServingCertificates } from '../../hub/security/index.ts';
import { startSimulatedCluster, type SimulatedCluster } from '../../sim/cluster.ts';

const homes: string[] = [];
const clusters: SimulatedCluster[] = [];

after(async () => {
  for (const cluster of clusters) await cluster.stop();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

function makeHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'nephele-sim-member-'));
  homes.push(home);
  return home;
}

/** The status code of GET /readyz, trusting only `caPem` and sending `token`. */
function readyz(cluster: SimulatedCluster, caPem: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${cluster.url}/readyz`, { ca: caPem, agent: false, headers: { authorization: `Bearer ${cluster.token}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('simulated members started in process', () => {
  it('share one CA between fresh homes, and each serves TLS its kubeconfig trusts', async () => {
    const a = await startSimulatedCluster({ name: 'share-a', home: makeHome(), controllers: false });
    clusters.push(a);
    const b = await startSimulatedCluster({ name: 'share-b', home: makeHome(), controllers: false });
    clusters.push(b);
    const caA = readFileSync(join(a.home, 'pki', 'ca.crt'), 'utf8');
    assert.equal(readFileSync(join(b.home, 'pki', 'ca.crt'), 'utf8'), caA);
    assert.notEqual(a.token, b.token, 'tokens stay per member');
    for (const cluster of [a, b]) {
      const kubeconfig = readFileSync(cluster.kubeconfigPath, 'utf8');
      const caData = /certificate-authority-data: (\S+)/.exec(kubeconfig)?.[1];
      assert.ok(caData, 'the kubeconfig carries the CA');
      assert.equal(await readyz(cluster, Buffer.from(caData, 'base64').toString('utf8')), 200);
    }
  });

  it('keep the CA a home already has', async () => {
    const home = makeHome();
    const own = await ensureServingCertificates(home, ['127.0.0.1']);
    const cluster = await startSimulatedCluster({ name: 'own-ca', home, controllers: false });
    clusters.push(cluster);
    assert.equal(readFileSync(join(home, 'pki', 'ca.crt'), 'utf8'), own.caPem);
    assert.equal(await readyz(cluster, own.caPem), 200);
  });
});
