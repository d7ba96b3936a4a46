/**
 * The node autoscaler of a simulated cluster: it adds nodes from the pool that holds pending pods
 * with the least waste (GPU pods on the smallest GPU node that fits them), and removes nodes
 * that stay under-used once their pods fit elsewhere. The cluster clock runs 50x real time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedCluster, type SimulatedCluster } from '../src/sim/index.ts';
import { kubectlFor } from '../src/testing/kubectl.ts';
import { waitFor } from '../src/testing/wait.ts';

describe('the node autoscaler', () => {
  let cluster: SimulatedCluster;
  let ok: (args: string[], input?: string) => Promise<string>;
  const nodesOf = async (pool: string) => JSON.parse(await ok(['get', 'nodes', '-l', `nephele.dev/node-pool=${pool}`, '-o', 'json'])).items as Array<{ metadata: { name: string } }>;
  const podNode = async (name: string) => JSON.parse(await ok(['get', 'pod', name, '-o', 'json'])).spec.nodeName as string | undefined;

  before(async () => {
    cluster = await startSimulatedCluster({
      name: 'scaling',
      speed: 50,
      nodePools: [
        { name: 'general', instanceType: 'm5.large', count: 1, min: 1, max: 4 },
        { name: 't4', instanceType: 'g4dn.xlarge', count: 0, min: 0, max: 2 },
        { name: 'a10g', instanceType: 'g5.12xlarge', count: 0, min: 0, max: 2 },
      ],
      autoscaler: { scaleDownUnneededMs: 60_000 },
    });
    ok = kubectlFor(cluster.kubeconfigPath);
  });
  after(async () => {
    await cluster?.stop();
  });

  it('adds general nodes for pods that do not fit, and no GPU nodes for them', async () => {
    // m5.large has 1920m allocatable: one of these pods per node.
    await ok(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'busy' },
      spec: {
        replicas: 3, selector: { matchLabels: { app: 'busy' } },
        template: { metadata: { labels: { app: 'busy' } }, spec: { containers: [{ name: 'busy', image: 'busy:1', resources: { requests: { cpu: '1200m', memory: '1Gi' } } }] } },
      },
    }));
    assert.match(await ok(['rollout', 'status', 'deployment/busy', '--timeout=60s']), /successfully rolled out/);
    assert.equal((await nodesOf('general')).length, 3);
    assert.equal((await nodesOf('t4')).length, 0);
    assert.equal((await nodesOf('a10g')).length, 0);
    const status = JSON.parse(await ok(['get', 'configmap', '-n', 'kube-system', 'cluster-autoscaler-status', '-o', 'json']));
    assert.match(status.data.recent, /scale-up: pool general \+\d node\(s\) of m5\.large/);
    assert.match(await ok(['get', 'events', '--field-selector', 'reason=TriggeredScaleUp']), /pod triggered scale-up/);
  });

  it('bin-packs GPU pods: one GPU on a T4 node, four linked GPUs on an A10G node', async () => {
    const gpuPod = (name: string, gpus: number) => JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name },
      spec: { containers: [{ name: 'train', image: 'train:1', resources: { limits: { 'nvidia.com/gpu': String(gpus) }, requests: { cpu: '1', memory: '4Gi' } } }] },
    });
    await ok(['apply', '-f', '-'], gpuPod('small-train', 1));
    const small = await waitFor('small-train bound', () => podNode('small-train'), { timeoutMs: 30_000 });
    assert.match(small, /^scaling-t4-\d+$/);
    await ok(['apply', '-f', '-'], gpuPod('big-train', 4));
    const big = await waitFor('big-train bound', () => podNode('big-train'), { timeoutMs: 30_000 });
    assert.match(big, /^scaling-a10g-\d+$/);
    assert.equal((await nodesOf('a10g')).length, 1);
  });

  it('removes nodes that stay under-used once their pods fit elsewhere, down to the pool minimum', async () => {
    await ok(['delete', 'pod', 'small-train', 'big-train']);
    await ok(['scale', 'deployment/busy', '--replicas=1']);
    await waitFor('the GPU pools empty and general back to its minimum', async () =>
      (await nodesOf('t4')).length === 0 && (await nodesOf('a10g')).length === 0 && (await nodesOf('general')).length === 1,
    { timeoutMs: 45_000, intervalMs: 250 });
    assert.match(await ok(['rollout', 'status', 'deployment/busy', '--timeout=30s']), /successfully rolled out/);
    const status = JSON.parse(await ok(['get', 'configmap', '-n', 'kube-system', 'cluster-autoscaler-status', '-o', 'json']));
    assert.match(status.data.recent, /scale-down: removed scaling-/);
  });
});
