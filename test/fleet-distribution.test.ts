/**
 * Fleet distribution end to end, with kubectl only: a Deployment on the hub and a
 * DistributionPolicy weighting two simulated members 90/10 become 9 and 1 running pods on them;
 * the template shows 10 ready; an OverridePolicy changes the image in one member only; a
 * member that stops answering loses its replicas to the other after the toleration, and gets
 * them back when it returns; deleting the template removes the pods everywhere.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';
import { kubectlFor } from '../src/testing/kubectl.ts';
import { waitFor } from '../src/testing/wait.ts';
import { clusterController, fleetController } from '../src/fleet/index.ts';
import { distributionControllers } from '../src/fleet/distribution/index.ts';
import { webDeploymentYaml, webPolicyYaml } from '../src/testing/manifests.ts';

const clusterYaml = (name: string, region: string, nodes: number) => `
apiVersion: fleet.nephele.dev/v1alpha1
kind: Cluster
metadata: { name: ${name}, labels: { env: test } }
spec:
  mode: Simulated
  provider: aws
  region: ${region}
  simulation: { nodes: ${nodes}, instanceTypes: [m5.xlarge], seed: 1, startLatencySeconds: 0 }
`;

interface PodList { items: Array<{ metadata: { name: string }; spec: { containers: Array<{ image: string }> }; status: { phase: string } }> }

describe('fleet distribution', () => {
  let hub: TestHub;
  let home: string;
  let ok: (args: string[], input?: string) => Promise<string>;
  const member = (name: string) => kubectlFor(join(home, 'clusters', name, 'kubeconfig'));
  const running = async (name: string): Promise<PodList['items']> => {
    const list = JSON.parse(await member(name)(['get', 'pods', '-n', 'shop', '-l', 'app=web', '-o', 'json'])) as PodList;
    return list.items.filter((p) => p.status.phase === 'Running');
  };

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'nephele-distribution-'));
    hub = await startTestHub({
      home,
      fleetControllers: [clusterController({ heartbeatMs: 200, gracePeriodMs: 1000 }), fleetController(), ...distributionControllers({ resyncMs: 1000, defaultTolerationSeconds: 2 })],
    });
    ok = kubectlFor(hub.kubeconfigPath);
    await ok(['apply', '-f', '-'], clusterYaml('east', 'us-east-1', 4) + '---' + clusterYaml('west', 'us-west-2', 4));
    await waitFor('both members Ready', async () => {
      const out = await ok(['get', 'clusters']);
      return /^east\s+True/m.test(out) && /^west\s+True/m.test(out);
    }, { timeoutMs: 30_000 });
  });
  after(async () => {
    await hub?.close(true);
    rmSync(home, { recursive: true, force: true });
  });

  it('divides a Deployment 90/10 by a static-weight policy, and sums the members\' status into the template', async () => {
    await ok(['create', 'namespace', 'shop']);
    await ok(['apply', '-f', '-'], `${webDeploymentYaml({ replicas: 10 })}---
${webPolicyYaml(`    clusterAffinity: { clusterNames: [east, west] }
    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
          - { targetCluster: { clusterNames: [east] }, weight: 90 }
          - { targetCluster: { clusterNames: [west] }, weight: 10 }
`)}`);
    let seen = '';
    await waitFor('9 pods on east and 1 on west', async () => {
      seen = await ok(['get', 'resourcebindings,works', '-A', '-o', 'yaml']).catch((e: Error) => e.message);
      return (await running('east')).length === 9 && (await running('west')).length === 1;
    }, { timeoutMs: 30_000, describe: () => seen });
    const binding = JSON.parse(await ok(['get', 'resourcebinding', '-n', 'shop', 'web-deployment', '-o', 'json']));
    assert.deepEqual(binding.spec.clusters, [{ name: 'east', replicas: 9 }, { name: 'west', replicas: 1 }]);
    assert.ok(binding.status.explanation.some((e: { cluster: string; result: string }) => e.cluster === 'east' && e.result === 'Selected'));
    await waitFor('the template showing 10 ready', async () => JSON.parse(await ok(['get', 'deployment', '-n', 'shop', 'web', '-o', 'json'])).status?.readyReplicas === 10, { timeoutMs: 20_000 });
    assert.match(await ok(['get', 'deployment', '-n', 'shop', 'web']), /^web\s+10\/10\s/m);
  });

  it('overrides the image in one member only', async () => {
    await ok(['apply', '-f', '-'], `
apiVersion: policy.nephele.dev/v1alpha1
kind: OverridePolicy
metadata: { name: west-mirror, namespace: shop }
spec:
  resourceSelectors: [{ apiVersion: apps/v1, kind: Deployment, name: web }]
  overrideRules:
    - targetCluster: { clusterNames: [west] }
      overriders:
        imageOverrider: [{ component: Registry, operator: replace, value: mirror.us-west-2.example }]
`);
    await waitFor('the west member rolled to the mirror', async () => {
      const pods = await running('west');
      return pods.length === 1 && pods[0]!.spec.containers[0]!.image === 'mirror.us-west-2.example/nginx:1.27';
    }, { timeoutMs: 30_000 });
    const east = await running('east');
    assert.ok(east.every((p) => p.spec.containers[0]!.image === 'nginx:1.27'));
  });

  it('moves a silent member\'s replicas after the toleration, and back when it returns', async () => {
    await ok(['annotate', 'cluster', 'west', 'sim.nephele.dev/down=true']);
    // The issue's bound: recreated within the grace period (1 s here) plus the toleration (2 s) plus 10 s.
    await waitFor('all 10 replicas on east', async () => (await running('east')).length === 10, { timeoutMs: 13_000 });
    const binding = JSON.parse(await ok(['get', 'resourcebinding', '-n', 'shop', 'web-deployment', '-o', 'json']));
    assert.deepEqual(binding.spec.clusters, [{ name: 'east', replicas: 10 }]);
    assert.match(await ok(['get', 'events', '-n', 'shop', '--field-selector', 'reason=Scheduled']), /placed on east=10/);
    await ok(['annotate', 'cluster', 'west', 'sim.nephele.dev/down-']);
    // Moving back is graceful: east gives up its extra replica only once west's is ready.
    let lowest = Infinity;
    await waitFor('back to 9 and 1', async () => {
      const [east, west] = [(await running('east')).length, (await running('west')).length];
      lowest = Math.min(lowest, east + west);
      return east === 9 && west === 1;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    assert.ok(lowest >= 10, `the running total fell to ${lowest} while moving back`);
  });

  it('removes the pods from every member when the template is deleted', async () => {
    await ok(['delete', 'deployment', '-n', 'shop', 'web']);
    await waitFor('no web pods on any member', async () => {
      const [east, west] = await Promise.all(['east', 'west'].map(async (m) => JSON.parse(await member(m)(['get', 'pods', '-n', 'shop', '-l', 'app=web', '-o', 'json'])).items.length));
      return east === 0 && west === 0;
    }, { timeoutMs: 30_000 });
    assert.match(await ok(['get', 'works', '-A']).catch((e: Error) => e.message), /No resources found|^$/);
  });
});
