/**
 * End-to-end: a simulated cluster behaves like a real one to the real kubectl and to
 * @kubernetes/client-node. Nodes come from instance types, the scheduler places pods, the kubelet
 * model runs them, Deployments roll out, deleted nodes' pods come back elsewhere, and a container
 * whose memory passes its limit is OOMKilled and restarted. The cluster clock runs 20x real time.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { startSimulatedCluster, type SimulatedCluster } from '../src/sim/index.ts';
import { kubectlFor, runKubectl } from '../src/testing/kubectl.ts';
import { waitFor } from '../src/testing/wait.ts';

describe('a simulated cluster, through kubectl', () => {
  let cluster: SimulatedCluster;
  let ok: (args: string[], input?: string) => Promise<string>;
  const podsOf = async (selector: string) => JSON.parse(await ok(['get', 'pods', '-l', selector, '-o', 'json'])).items as Array<{ metadata: { name: string }; spec: { nodeName?: string }; status: { phase: string; containerStatuses?: Array<{ restartCount: number; lastState?: { terminated?: { reason: string; exitCode: number } } }> } }>;

  before(async () => {
    cluster = await startSimulatedCluster({ name: 'sim-e2e', speed: 20, nodePools: [{ name: 'general', instanceType: 'm5.xlarge', count: 3 }] });
    ok = kubectlFor(cluster.kubeconfigPath);
  });
  after(async () => {
    await cluster?.stop();
  });

  it('lists its nodes Ready, with the capacity of their instance type', async () => {
    const table = await ok(['get', 'nodes']);
    for (let i = 0; i < 3; i++) assert.match(table, new RegExp(`^sim-e2e-general-${i}\\s+Ready\\s`, 'm'));
    const node = JSON.parse(await ok(['get', 'node', 'sim-e2e-general-0', '-o', 'json']));
    assert.equal(node.status.capacity.cpu, '4');
    assert.equal(node.status.capacity.memory, `${16 * 1024 * 1024}Ki`);
    assert.equal(node.metadata.labels['node.kubernetes.io/instance-type'], 'm5.xlarge');
    assert.equal(node.metadata.labels['topology.kubernetes.io/zone'], 'us-east-1a');
    assert.equal(node.metadata.annotations['nephele.dev/hourly-price-usd'], '0.192');
  });

  it('rolls a Deployment out onto nodes the scheduler chose, rolls a new image, and scales', async () => {
    await ok(['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=6']);
    await ok(['set', 'resources', 'deployment/web', '--requests=cpu=500m,memory=256Mi']);
    assert.match(await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']), /successfully rolled out/);
    const pods = await podsOf('app=web');
    assert.equal(pods.length, 6);
    assert.ok(pods.every((p) => p.status.phase === 'Running' && p.spec.nodeName?.startsWith('sim-e2e-general-')));
    // LeastAllocated spreads six pods over all three nodes.
    assert.equal(new Set(pods.map((p) => p.spec.nodeName)).size, 3);
    const events = await ok(['get', 'events', '--field-selector', 'reason=Scheduled', '-o', 'name']);
    assert.ok(events.trim().split('\n').length >= 6, events);

    await ok(['set', 'image', 'deployment/web', 'nginx=nginx:1.28']);
    assert.match(await ok(['rollout', 'status', 'deployment/web', '--timeout=60s']), /successfully rolled out/);
    const images = JSON.parse(await ok(['get', 'pods', '-l', 'app=web', '-o', 'json'])).items.map((p: { spec: { containers: Array<{ image: string }> } }) => p.spec.containers[0]!.image);
    assert.deepEqual(new Set(images), new Set(['nginx:1.28']));
    assert.equal(images.length, 6);
    assert.match(await ok(['rollout', 'history', 'deployment/web']), /^2\s/m);

    await ok(['scale', 'deployment/web', '--replicas=2']);
    await waitFor('two web pods', async () => (await podsOf('app=web')).length === 2, { timeoutMs: 30_000 });
    assert.match(await ok(['rollout', 'status', 'deployment/web', '--timeout=30s']), /successfully rolled out/);
  });

  it('leaves a pod that fits nowhere Pending with kube-scheduler\'s reason', async () => {
    await ok(['run', 'huge', '--image=busybox', '--overrides={"spec":{"containers":[{"name":"huge","image":"busybox","resources":{"requests":{"cpu":"64"}}}]}}']);
    const reason = await waitFor('an Unschedulable condition', async () => {
      const pod = JSON.parse(await ok(['get', 'pod', 'huge', '-o', 'json']));
      const c = (pod.status.conditions ?? []).find((x: { type: string }) => x.type === 'PodScheduled');
      return c?.reason === 'Unschedulable' ? c.message as string : undefined;
    }, { timeoutMs: 20_000 });
    assert.match(reason, /^0\/3 nodes are available: 3 Insufficient cpu/);
    assert.match(await ok(['get', 'pod', 'huge']), /huge\s+0\/1\s+Pending/);
    await ok(['delete', 'pod', 'huge']);
  });

  it('brings the pods of a deleted node back on the other nodes', async () => {
    await ok(['create', 'deployment', 'api', '--image=api:1', '--replicas=3']);
    await ok(['rollout', 'status', 'deployment/api', '--timeout=60s']);
    const victim = (await podsOf('app=api'))[0]!.spec.nodeName!;
    await ok(['delete', 'node', victim]);
    await waitFor('three running api pods off the deleted node', async () => {
      const pods = await podsOf('app=api');
      return pods.length === 3 && pods.every((p) => p.status.phase === 'Running' && p.spec.nodeName !== victim);
    }, { timeoutMs: 30_000 });
    assert.doesNotMatch(await ok(['get', 'nodes']), new RegExp(victim));
  });

  it('OOMKills a container whose memory passes its limit, and restarts it', async () => {
    const manifest = {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: 'leaky', annotations: { 'usage.nephele.dev/profile': 'steady', 'usage.nephele.dev/memory': '512Mi' } },
      spec: { containers: [{ name: 'app', image: 'leaky:1', resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { memory: '128Mi' } } }] },
    };
    await ok(['apply', '-f', '-'], JSON.stringify(manifest));
    const status = await waitFor('an OOMKilled restart', async () => {
      const [pod] = (await podsOf('!app')).filter((p) => p.metadata.name === 'leaky');
      const c = pod?.status.containerStatuses?.[0];
      return c && c.restartCount >= 1 && c.lastState?.terminated?.reason === 'OOMKilled' ? c : undefined;
    }, { timeoutMs: 30_000 });
    assert.equal(status.lastState!.terminated!.exitCode, 137);
    await waitFor('CrashLoopBackOff or a second run in kubectl get', async () => /leaky\s+\d\/1\s+(CrashLoopBackOff|Running|OOMKilled)\s+[1-9]/.test(await ok(['get', 'pod', 'leaky'])));
    // A bare pod would keep kubectl drain (below) from draining its node.
    await ok(['delete', 'pod', 'leaky']);
  });

  it('evicts through pods/eviction and refuses an eviction a PodDisruptionBudget forbids', async () => {
    await ok(['create', 'deployment', 'guarded', '--image=g:1', '--replicas=2']);
    await ok(['rollout', 'status', 'deployment/guarded', '--timeout=60s']);
    await ok(['create', 'pdb', 'guarded', '--selector=app=guarded', '--min-available=2']);
    const [first] = await podsOf('app=guarded');
    const refused = await runKubectl(cluster.kubeconfigPath, ['create', '--raw', `/api/v1/namespaces/default/pods/${first!.metadata.name}/eviction`, '-f', '-'], JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: first!.metadata.name } }));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /TooManyRequests|disruption budget/);
    await ok(['patch', 'pdb', 'guarded', '--type=merge', '-p', '{"spec":{"minAvailable":1}}']);
    await ok(['create', '--raw', `/api/v1/namespaces/default/pods/${first!.metadata.name}/eviction`, '-f', '-'], JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: first!.metadata.name } }));
    await waitFor('the evicted pod gone', async () => !(await podsOf('app=guarded')).some((p) => p.metadata.name === first!.metadata.name));
  });

  it('drains a node with kubectl drain: cordoned, its pods evicted and running elsewhere', async () => {
    await ok(['create', 'deployment', 'drained', '--image=d:1', '--replicas=2']);
    await ok(['rollout', 'status', 'deployment/drained', '--timeout=60s']);
    const node = (await podsOf('app=drained'))[0]!.spec.nodeName!;
    const out = await ok(['drain', node, '--ignore-daemonsets', '--timeout=60s']);
    assert.match(out, new RegExp(`node/${node} (cordoned|already cordoned)`));
    assert.match(out, /evicting pod default\/drained-/);
    assert.match(out, new RegExp(`node/${node} drained`));
    assert.match(await ok(['get', 'node', node]), /SchedulingDisabled/);
    await waitFor('the drained pods running elsewhere', async () => {
      const pods = await podsOf('app=drained');
      return pods.length === 2 && pods.every((p) => p.status.phase === 'Running' && p.spec.nodeName !== node);
    }, { timeoutMs: 30_000 });
    await ok(['uncordon', node]);
  });

  it('lets @kubernetes/client-node watch pods move through their phases', async () => {
    const config = new KubeConfig();
    config.loadFromFile(cluster.kubeconfigPath);
    const seen: string[] = [];
    const watch = await new Watch(config).watch('/api/v1/namespaces/default/pods', { fieldSelector: 'metadata.name=phases' }, (type, pod: { status?: { phase?: string; containerStatuses?: Array<{ state?: Record<string, { reason?: string }> }> } }) => {
      const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      const label = `${type}:${pod.status?.phase}${waiting ? `/${waiting}` : ''}`;
      if (seen.at(-1) !== label) seen.push(label);
    }, () => undefined);
    try {
      await config.makeApiClient(CoreV1Api).createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'phases' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
      await waitFor('the pod Running in the watch', () => seen.some((s) => s.startsWith('MODIFIED:Running')), { timeoutMs: 20_000, describe: () => seen.join(' ') });
      assert.equal(seen[0], 'ADDED:Pending');
      assert.ok(seen.includes('MODIFIED:Pending/ContainerCreating'), seen.join(' '));
      assert.ok(seen.indexOf('MODIFIED:Pending/ContainerCreating') < seen.findIndex((s) => s.startsWith('MODIFIED:Running')));
    } finally {
      watch.abort();
    }
  });
});
