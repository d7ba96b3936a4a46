/**
 * Node lifecycle in a simulated cluster, on a clock at 100x: a node whose kubelet goes down stops
 * renewing its Lease, turns Ready=Unknown with the unreachable taints after the grace period,
 * and its pods are evicted once their 300 s toleration runs out and come back on other nodes;
 * when the kubelet returns, the node is Ready again and the taints go.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedCluster, type SimulatedCluster } from '../src/sim/index.ts';
import { kubectlFor } from '../src/testing/kubectl.ts';
import { waitFor } from '../src/testing/wait.ts';

interface NodeJson { spec: { taints?: Array<{ key: string; effect: string }> }; status: { conditions: Array<{ type: string; status: string }> } }

describe('node lifecycle', () => {
  let cluster: SimulatedCluster;
  let ok: (args: string[], input?: string) => Promise<string>;
  const node = async (name: string) => JSON.parse(await ok(['get', 'node', name, '-o', 'json'])) as NodeJson;
  const ready = (n: NodeJson) => n.status.conditions.find((c) => c.type === 'Ready')?.status;

  before(async () => {
    cluster = await startSimulatedCluster({ name: 'life', speed: 100, nodePools: [{ name: 'p', instanceType: 'm5.xlarge', count: 3 }] });
    ok = kubectlFor(cluster.kubeconfigPath);
  });
  after(async () => {
    await cluster?.stop();
  });

  it('renews a Lease per node in kube-node-lease', async () => {
    const leases = JSON.parse(await ok(['get', 'leases', '-n', 'kube-node-lease', '-o', 'json'])).items as Array<{ metadata: { name: string }; spec: { holderIdentity: string; renewTime: string } }>;
    assert.deepEqual(leases.map((l) => l.metadata.name).sort(), ['life-p-0', 'life-p-1', 'life-p-2']);
    const first = leases[0]!.spec.renewTime;
    await waitFor('a renewal', async () => JSON.parse(await ok(['get', 'lease', '-n', 'kube-node-lease', leases[0]!.metadata.name, '-o', 'json'])).spec.renewTime !== first);
  });

  it('marks a silent node Unknown and tainted, evicts its pods after their toleration, and takes it back when it returns', async () => {
    await ok(['create', 'deployment', 'app', '--image=app:1', '--replicas=3']);
    await ok(['rollout', 'status', 'deployment/app', '--timeout=60s']);
    const pods = JSON.parse(await ok(['get', 'pods', '-l', 'app=app', '-o', 'json'])).items as Array<{ metadata: { name: string }; spec: { nodeName: string; tolerations: Array<{ key: string; tolerationSeconds?: number }> } }>;
    assert.ok(pods[0]!.spec.tolerations.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.tolerationSeconds === 300), 'DefaultTolerationSeconds added the toleration');
    const victim = pods[0]!.spec.nodeName;
    const onVictim = pods.filter((p) => p.spec.nodeName === victim).map((p) => p.metadata.name);

    await ok(['annotate', 'node', victim, 'sim.nephele.dev/down=true']);
    const silent = await waitFor('the node Unknown and tainted', async () => {
      const n = await node(victim);
      return ready(n) === 'Unknown' && (n.spec.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute') ? n : undefined;
    }, { timeoutMs: 20_000 });
    assert.ok((silent.spec.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoSchedule'));
    assert.match(await ok(['get', 'node', victim]), /NotReady/);

    // 300 cluster seconds of toleration is 3 s here.
    await waitFor('the pods moved off the silent node', async () => {
      const now = JSON.parse(await ok(['get', 'pods', '-l', 'app=app', '-o', 'json'])).items as Array<{ metadata: { name: string }; spec: { nodeName: string }; status: { phase: string } }>;
      return now.length === 3 && now.every((p) => p.spec.nodeName !== victim && p.status.phase === 'Running') && !now.some((p) => onVictim.includes(p.metadata.name));
    }, { timeoutMs: 30_000 });
    assert.match(await ok(['get', 'events', '--field-selector', 'reason=TaintManagerEviction']), /Marking for deletion Pod default\/app-/);

    await ok(['annotate', 'node', victim, 'sim.nephele.dev/down-']);
    await waitFor('the node Ready without the taints', async () => {
      const n = await node(victim);
      return ready(n) === 'True' && !(n.spec.taints ?? []).some((t) => t.key.startsWith('node.kubernetes.io/'));
    }, { timeoutMs: 20_000 });
  });
});
