/**
 * A tree of hubs: a parent hub whose two members are child hubs (joined in push mode with their
 * kubeconfigs), each child with two simulated members of its own. The parent divides a
 * Deployment between the children; each child divides its share over its members with its own
 * policy; the pods end on the right leaves, the children's capacity is summarised upward, the
 * ready count comes back up both levels, and re-running scheduling at every level changes
 * nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';
import { kubectlFor } from '../src/testing/kubectl.ts';
import { waitFor } from '../src/testing/wait.ts';
import { clusterController, fleetController, type FleetController } from '../src/fleet/index.ts';
import { distributionControllers } from '../src/fleet/distribution/index.ts';
import { webDeploymentYaml, webPolicyYaml } from '../src/testing/manifests.ts';

const controllers = (): FleetController[] => [clusterController({ heartbeatMs: 200, gracePeriodMs: 2000 }), fleetController(), ...distributionControllers({ resyncMs: 300 })];

const simulated = (name: string) => `apiVersion: fleet.nephele.dev/v1alpha1
kind: Cluster
metadata: { name: ${name} }
spec: { mode: Simulated, provider: aws, region: us-east-1, simulation: { nodes: 2, instanceTypes: [m5.xlarge], startLatencySeconds: 0 } }
`;

const childPolicy = `apiVersion: policy.nephele.dev/v1alpha1
kind: ClusterDistributionPolicy
metadata: { name: spread-apps }
spec:
  resourceSelectors: [{ apiVersion: apps/v1, kind: Deployment, labelSelector: { matchLabels: { tier: app } } }]
  placement:
    replicaScheduling: { replicaSchedulingType: Divided, replicaDivisionPreference: Weighted }
`;

describe('a tree of hubs', () => {
  const homes: string[] = [];
  const hubs: TestHub[] = [];
  let parent: TestHub;
  const home = () => {
    const h = mkdtempSync(join(tmpdir(), 'nephele-tree-'));
    homes.push(h);
    return h;
  };
  const leafPods = async (child: TestHub, leaf: string): Promise<number> => {
    const out = await kubectlFor(join(child.home, 'clusters', leaf, 'kubeconfig'))(['get', 'pods', '-n', 'shop', '-l', 'app=web', '--field-selector', 'status.phase=Running', '-o', 'name']);
    return out.trim().split('\n').filter(Boolean).length;
  };

  before(async () => {
    for (const name of ['child-a', 'child-b']) {
      const child = await startTestHub({ home: home(), fleetControllers: controllers(), kubeconfigName: name });
      hubs.push(child);
      const ok = kubectlFor(child.kubeconfigPath);
      await ok(['apply', '-f', '-'], `${simulated(`${name}-1`)}---\n${simulated(`${name}-2`)}---\n${childPolicy}`);
    }
    parent = await startTestHub({ home: home(), fleetControllers: controllers() });
    hubs.push(parent);
    const ok = kubectlFor(parent.kubeconfigPath);
    for (const [i, name] of ['child-a', 'child-b'].entries()) {
      const kubeconfig = readFileSync(hubs[i]!.kubeconfigPath, 'utf8');
      await ok(['create', 'secret', 'generic', `${name}-kubeconfig`, '-n', 'nephele-system', `--from-literal=kubeconfig=${kubeconfig}`]);
      await ok(['apply', '-f', '-'], `apiVersion: fleet.nephele.dev/v1alpha1
kind: Cluster
metadata: { name: ${name} }
spec: { mode: Push, kubeconfigSecretRef: { namespace: nephele-system, name: ${name}-kubeconfig } }
`);
    }
  });
  after(async () => {
    for (const hub of hubs.reverse()) await hub.close(true);
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  });

  it('sees each child hub as a member whose capacity is its members\' summed', async () => {
    const ok = kubectlFor(parent.kubeconfigPath);
    const child = await waitFor('child-a Ready with its members\' nodes', async () => {
      const c = JSON.parse(await ok(['get', 'cluster', 'child-a', '-o', 'json']));
      return c.status?.hub === true && c.status?.nodeCount === 4 ? c : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(child.status.capacity.cpu, '16');
    assert.ok(child.status.resourceModel.find((e: { name: string; maxReplicas: number }) => e.name === 'small').maxReplicas > 0);
  });

  it('places a Deployment on the right leaves through the children, with the ready count coming back up', async () => {
    const ok = kubectlFor(parent.kubeconfigPath);
    await ok(['create', 'namespace', 'shop']);
    await ok(['apply', '-f', '-'], `${webDeploymentYaml({ replicas: 8, labels: 'tier: app' })}---
${webPolicyYaml(`    replicaScheduling:
      replicaSchedulingType: Divided
      replicaDivisionPreference: Weighted
      weightPreference:
        staticWeightList:
          - { targetCluster: { clusterNames: [child-a] }, weight: 3 }
          - { targetCluster: { clusterNames: [child-b] }, weight: 1 }
`)}`);
    const [a, b] = hubs as [TestHub, TestHub];
    await waitFor('6 pods under child-a and 2 under child-b', async () =>
      (await leafPods(a, 'child-a-1')) + (await leafPods(a, 'child-a-2')) === 6 && (await leafPods(b, 'child-b-1')) + (await leafPods(b, 'child-b-2')) === 2,
    { timeoutMs: 40_000 });
    // Each child divided its share over both of its members.
    assert.equal(await leafPods(a, 'child-a-1'), 3);
    assert.equal(await leafPods(b, 'child-b-1'), 1);
    await waitFor('the parent template showing 8 ready', async () => JSON.parse(await ok(['get', 'deployment', '-n', 'shop', 'web', '-o', 'json'])).status?.readyReplicas === 8, { timeoutMs: 30_000 });
  });

  it('changes nothing when scheduling runs again at every level', async () => {
    const snapshot = async () => Promise.all(hubs.map(async (hub) => {
      const out = JSON.parse(await kubectlFor(hub.kubeconfigPath)(['get', 'resourcebindings,works', '-A', '-o', 'json']));
      return out.items.map((i: { kind: string; metadata: { name: string; generation: number }; spec: unknown }) => [i.kind, i.metadata.name, i.metadata.generation, JSON.stringify(i.spec)]);
    }));
    const before = await snapshot();
    // Several resyncs (300 ms) at every level.
    await sleep(2000);
    assert.deepEqual(await snapshot(), before);
  });
});
