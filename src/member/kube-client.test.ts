/**
 * KubeMemberClient's discovery against a server that has no aggregated discovery (as before
 * Kubernetes 1.26): the simulated cluster's own handler, re-served on a second port that hides
 * the aggregated media type from it, so the client must walk the legacy per-group lists and still
 * find what aggregated discovery finds.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { startSimulatedCluster, type SimulatedCluster } from '../sim/index.ts';
import { KubeMemberClient } from './kube-client.ts';
import { findResource } from './member-client.ts';

describe('KubeMemberClient discovery', () => {
  let cluster: SimulatedCluster;
  let legacy: Server;
  let legacyUrl: string;
  const accepts: string[] = [];
  before(async () => {
    cluster = await startSimulatedCluster({ name: 'legacy', controllers: false });
    const pki = join(cluster.home, 'pki');
    legacy = createServer({ cert: readFileSync(join(pki, 'server.crt')), key: readFileSync(join(pki, 'server.key')) }, (req, res) => {
      accepts.push(String(req.headers.accept));
      req.headers.accept = 'application/json';
      void cluster.handler.handle(req, res);
    });
    await new Promise<void>((resolve) => legacy.listen(0, '127.0.0.1', resolve));
    legacyUrl = `https://127.0.0.1:${(legacy.address() as { port: number }).port}`;
  });
  after(async () => {
    legacy?.closeAllConnections();
    await new Promise<void>((resolve) => legacy ? legacy.close(() => resolve()) : resolve());
    await cluster?.stop();
  });

  it('walks the legacy group lists when aggregated discovery is not served, and finds the same resources', async () => {
    const kubeconfig = readFileSync(cluster.kubeconfigPath, 'utf8');
    const direct = KubeMemberClient.fromKubeconfigYaml('legacy', kubeconfig);
    const viaLegacy = KubeMemberClient.fromKubeconfigYaml('legacy', kubeconfig.replace(cluster.url, legacyUrl));
    try {
      const aggregated = await direct.discover();
      const walked = await viaLegacy.discover();
      assert.ok(accepts.some((a) => a.includes('apidiscovery.k8s.io')), 'the client asked for aggregated discovery first');
      assert.ok(accepts.filter((a) => !a.includes('apidiscovery.k8s.io')).length > 2, 'then fetched the group-version lists one by one');
      assert.deepEqual(walked, aggregated);
      assert.deepEqual(findResource(walked, 'apps/v1', 'Deployment'), { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true });
      assert.ok(walked.every((r) => !r.plural.includes('/')), 'subresources (pods/status, deployments/scale) are left out');
    } finally {
      await direct.close();
      await viaLegacy.close();
    }
  });
});
