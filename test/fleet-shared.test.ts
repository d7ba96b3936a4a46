/**
 * Several hubs sharing a member: hub "owner" runs the simulated cluster `shared` and places
 * workloads on it; hub "observer" registers the same cluster read-only (`nephele join --read-only`
 * with its kubeconfig) next to a cluster of its own. The observer sees the member's status,
 * including what the owner allocated there, never places on it (the binding says why), and never
 * writes to it: its member client refuses writes before they leave the hub.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';
import { kubectlFor } from '../src/testing/kubectl.ts';
import { waitFor } from '../src/testing/wait.ts';
import { clusterController, fleetController, type FleetController } from '../src/fleet/index.ts';
import { distributionControllers } from '../src/fleet/distribution/index.ts';
import { runCli } from '../src/testing/cli.ts';
import { webDeploymentYaml, webPolicyYaml } from '../src/testing/manifests.ts';

const controllers = (): FleetController[] => [clusterController({ heartbeatMs: 200, gracePeriodMs: 2000 }), fleetController(), ...distributionControllers({ resyncMs: 300 })];

const simulated = (name: string) => `apiVersion: fleet.nephele.dev/v1alpha1
kind: Cluster
metadata: { name: ${name} }
spec: { mode: Simulated, provider: aws, region: us-east-1, simulation: { nodes: 2, instanceTypes: [m5.xlarge], startLatencySeconds: 0 } }
`;

/** A Deployment and a policy that spreads it over every cluster the hub may place on. */
const workload = (replicas: number) => `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
${webDeploymentYaml({ replicas, cpu: '500m', memory: '256Mi' })}---
${webPolicyYaml('    replicaScheduling: { replicaSchedulingType: Divided, replicaDivisionPreference: Weighted }\n')}`;

describe('hubs sharing a member read-only', () => {
  const homes: string[] = [];
  let owner: TestHub;
  let observer: TestHub;
  const home = () => {
    const h = mkdtempSync(join(tmpdir(), 'nephele-shared-'));
    homes.push(h);
    return h;
  };
  const sharedKubeconfig = () => join(owner.home, 'clusters', 'shared', 'kubeconfig');
  const runningPods = async (kubeconfig: string): Promise<number> => {
    const out = await kubectlFor(kubeconfig)(['get', 'pods', '-n', 'shop', '-l', 'app=web', '--field-selector', 'status.phase=Running', '-o', 'name']);
    return out.trim().split('\n').filter(Boolean).length;
  };

  before(async () => {
    owner = await startTestHub({ home: home(), fleetControllers: controllers(), kubeconfigName: 'owner' });
    observer = await startTestHub({ home: home(), fleetControllers: controllers(), kubeconfigName: 'observer' });
    await kubectlFor(owner.kubeconfigPath)(['apply', '-f', '-'], simulated('shared'));
    await kubectlFor(observer.kubeconfigPath)(['apply', '-f', '-'], simulated('own'));
    await waitFor('the owner\'s member Ready', async () => {
      const c = JSON.parse(await kubectlFor(owner.kubeconfigPath)(['get', 'cluster', 'shared', '-o', 'json']));
      return c.status?.conditions?.some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True');
    }, { timeoutMs: 30_000 });
  });
  after(async () => {
    await observer?.close(true);
    await owner?.close(true);
    for (const h of homes) rmSync(h, { recursive: true, force: true });
  });

  it('joins the member read-only with `nephele join --read-only`', async () => {
    const out = await runCli(['join', 'shared', '--read-only', '--kubeconfig', sharedKubeconfig(), '--hub-kubeconfig', observer.kubeconfigPath, '--provider', 'aws', '--region', 'us-east-1', '--timeout', '30s']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /cluster shared joined: Ready, 2 node\(s\)/);
    const table = await kubectlFor(observer.kubeconfigPath)(['get', 'clusters', '-o', 'wide']);
    assert.match(table, /^shared\s+True\s+Push\s+ReadOnly\s/m);
  });

  it('sees what the owning hub placed on the member, and places only on its own cluster', async () => {
    await kubectlFor(owner.kubeconfigPath)(['apply', '-f', '-'], workload(4));
    await waitFor('4 pods of the owner running on the shared member', async () => (await runningPods(sharedKubeconfig())) === 4, { timeoutMs: 30_000 });
    // The observer's view of the member counts the owner's pods: 4 × 500m.
    await waitFor('the observer seeing 2 CPUs allocated on the shared member', async () => {
      const c = JSON.parse(await kubectlFor(observer.kubeconfigPath)(['get', 'cluster', 'shared', '-o', 'json']));
      return c.status?.allocated?.cpu === '2';
    }, { timeoutMs: 30_000 });

    await kubectlFor(observer.kubeconfigPath)(['apply', '-f', '-'], workload(3));
    await waitFor('3 pods of the observer running on its own cluster', async () => (await runningPods(join(observer.home, 'clusters', 'own', 'kubeconfig'))) === 3, { timeoutMs: 30_000 });
    const binding = JSON.parse(await kubectlFor(observer.kubeconfigPath)(['get', 'resourcebinding', '-n', 'shop', 'web-deployment', '-o', 'json']));
    assert.deepEqual(binding.spec.clusters, [{ name: 'own', replicas: 3 }]);
    const shared = binding.status.explanation.find((e: { cluster: string }) => e.cluster === 'shared');
    assert.equal(shared.result, 'Filtered');
    assert.equal(shared.plugin, 'ClusterAccess');
    assert.match(shared.reason, /registered ReadOnly on this hub/);
  });

  it('never writes to the shared member', async () => {
    // Still only the owner's four pods there, and only the owner's hub manages the Deployment.
    assert.equal(await runningPods(sharedKubeconfig()), 4);
    const deployment = JSON.parse(await kubectlFor(sharedKubeconfig())(['get', 'deployment', '-n', 'shop', 'web', '-o', 'json', '--show-managed-fields']));
    assert.equal(deployment.spec.replicas, 4);
    const managers = new Set((deployment.metadata.managedFields as Array<{ manager: string }>).map((f) => f.manager));
    assert.ok(managers.has('nephele-hub'), `managers: ${[...managers].join(', ')}`);
    // The observer has no Work for the shared member at all.
    const works = JSON.parse(await kubectlFor(observer.kubeconfigPath)(['get', 'works', '-n', 'nephele-cluster-shared', '-o', 'json']));
    assert.equal(works.items.length, 0);
  });

  it('answers a Simulated cluster marked ReadOnly with a condition that says why', async () => {
    await kubectlFor(observer.kubeconfigPath)(['apply', '-f', '-'], `${simulated('odd').replace('spec: { mode: Simulated,', 'spec: { mode: Simulated, access: ReadOnly,')}`);
    const ready = await waitFor('a Ready condition on odd', async () => {
      const c = JSON.parse(await kubectlFor(observer.kubeconfigPath)(['get', 'cluster', 'odd', '-o', 'json']));
      return c.status?.conditions?.find((x: { type: string }) => x.type === 'Ready');
    }, { timeoutMs: 15_000 });
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'InvalidAccess');
    assert.match(ready.message, /Push or Pull/);
  });
});
