/**
 * Member cluster registration end to end, on a real hub with real kubectl and the real CLI:
 * simulated members started from Cluster objects, push members joined with `nephele join`,
 * configuration errors as Ready=False reasons, heartbeat loss with NoExecute taints and recovery,
 * Fleet status, and a pull agent that registers with a bootstrap token and applies Work.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';
import { waitFor } from '../src/testing/wait.ts';
import { startSimulatedCluster, type SimulatedCluster } from '../src/sim/cluster.ts';
import { clusterController, fleetController, executionNamespace, fleetRefs } from '../src/fleet/index.ts';
import { podsRef, deploymentsRef, nodesRef } from '../src/sim/resources.ts';
import type { KubeObject } from '../src/machinery/object.ts';
import { cliPath as cli, runCli } from '../src/testing/cli.ts';


const nephele = (args: string[]) => runCli(args);

interface ClusterView extends KubeObject {
  spec: { taints?: Array<{ key: string; effect: string; timeAdded?: string }> };
  status?: {
    conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
    nodeCount?: number;
    readyNodeCount?: number;
    capacity?: Record<string, string>;
    allocatable?: Record<string, string>;
    gpus?: Record<string, { capacity: number; allocatable: number; allocated: number }>;
    resourceModel?: Array<{ name: string; maxReplicas: number }>;
    pricing?: { cpuCoreHourUSD?: number };
    kubernetesVersion?: string;
    hub?: boolean;
    lastHeartbeatTime?: string;
  };
}

function ready(cluster: ClusterView): { status: string; reason?: string; message?: string } | undefined {
  return cluster.status?.conditions?.find((c) => c.type === 'Ready');
}

describe('member cluster registration', () => {
  let hub: TestHub;
  const dirs: string[] = [];
  const members: SimulatedCluster[] = [];
  const children: ChildProcess[] = [];

  before(async () => {
    const home = mkdtempSync(join(tmpdir(), 'nephele-fleet-hub-'));
    dirs.push(home);
    hub = await startTestHub({ home, fleetControllers: [clusterController({ heartbeatMs: 200, gracePeriodMs: 1000 }), fleetController()] });
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((done) => (c.exitCode !== null ? done(undefined) : c.once('exit', done)))));
    await Promise.all(members.map((m) => m.stop()));
    await hub.close(true);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const cluster = async (name: string): Promise<ClusterView> => (await hub.registry.get(hub.catalog.byResource('fleet.nephele.dev', 'v1alpha1', 'clusters')!, undefined, name)) as ClusterView;
  const clusterWhen = (name: string, what: string, check: (c: ClusterView) => boolean, timeoutMs = 20_000): Promise<ClusterView> => {
    let last: ClusterView | undefined;
    return waitFor(`${name}: ${what}`, async () => {
      last = await cluster(name).catch(() => undefined);
      return last !== undefined && check(last) && last;
    }, { timeoutMs, describe: () => JSON.stringify(last?.status ?? {}) });
  };

  it('starts a simulated member from a Cluster created with kubectl and reports its nodes, GPUs, price and resource model', async () => {
    const created = await hub.kubectl(['apply', '-f', '-'], [
      'apiVersion: fleet.nephele.dev/v1alpha1',
      'kind: Cluster',
      'metadata: { name: sim-gpu, labels: { tier: gpu } }',
      'spec:',
      '  mode: Simulated',
      '  provider: aws',
      '  region: us-east-1',
      '  simulation: { nodes: 3, instanceTypes: [g5.xlarge, m5.xlarge], seed: 7 }',
    ].join('\n'));
    assert.equal(created.code, 0, created.stderr);
    const c = await clusterWhen('sim-gpu', 'Ready with a resource model', (x) => ready(x)?.status === 'True' && x.status?.resourceModel !== undefined);
    assert.equal(ready(c)?.reason, 'ClusterReady');
    assert.equal(c.status?.nodeCount, 3);
    assert.equal(c.status?.readyNodeCount, 3);
    // Two g5.xlarge (4 vCPU, one A10G) and one m5.xlarge (4 vCPU).
    assert.equal(c.status?.capacity?.cpu, '12');
    assert.equal(c.status?.capacity?.['nvidia.com/gpu'], '2');
    assert.deepEqual(c.status?.gpus, { A10G: { capacity: 2, allocatable: 2, allocated: 0 } });
    // (1.006 + 1.006 + 0.192) $/h over 12 vCPU.
    assert.equal(c.status?.pricing?.cpuCoreHourUSD, Math.round((2.204 / 12) * 1e6) / 1e6);
    assert.match(c.status?.kubernetesVersion ?? '', /^v1\.32\./);
    assert.equal(c.status?.hub, false);
    const model = Object.fromEntries((c.status?.resourceModel ?? []).map((e) => [e.name, e.maxReplicas]));
    assert.equal(model['gpu-1'], 2, JSON.stringify(model));
    assert.equal(model.large, 0, 'no 4-vCPU pod fits a 4-vCPU node once the system reserve is taken');
    assert.ok(model.small! > model.medium!, JSON.stringify(model));
    assert.ok(c.metadata.finalizers?.includes('fleet.nephele.dev/cluster-cleanup'));
    assert.ok(hub.members.get('sim-gpu'), 'the member connection is registered');
    const table = await hub.kubectl(['get', 'clusters', 'sim-gpu']);
    assert.match(table.stdout, /sim-gpu\s+True\s+Simulated\s+aws\s+us-east-1\s+3/);
  });

  it('reports Ready=False with the reason when the kubeconfig Secret is missing or holds no kubeconfig', async () => {
    const applied = await hub.kubectl(['apply', '-f', '-'], [
      'apiVersion: fleet.nephele.dev/v1alpha1',
      'kind: Cluster',
      'metadata: { name: broken }',
      'spec: { mode: Push, kubeconfigSecretRef: { namespace: nephele-system, name: broken-kubeconfig } }',
    ].join('\n'));
    assert.equal(applied.code, 0, applied.stderr);
    let c = await clusterWhen('broken', 'SecretNotFound', (x) => ready(x)?.reason === 'SecretNotFound');
    assert.equal(ready(c)?.status, 'False');
    assert.match(ready(c)?.message ?? '', /Secret nephele-system\/broken-kubeconfig .* does not exist/);
    assert.ok(c.spec.taints?.some((t) => t.key === 'cluster.nephele.dev/not-ready' && t.effect === 'NoExecute'));
    const secret = await hub.kubectl(['-n', 'nephele-system', 'create', 'secret', 'generic', 'broken-kubeconfig', '--from-literal=kubeconfig=this is: [not a kubeconfig']);
    assert.equal(secret.code, 0, secret.stderr);
    c = await clusterWhen('broken', 'InvalidKubeconfig', (x) => ready(x)?.reason === 'InvalidKubeconfig');
    assert.equal(ready(c)?.status, 'False');
    assert.match(ready(c)?.message ?? '', /Secret nephele-system\/broken-kubeconfig key "kubeconfig"/);
    await hub.kubectl(['delete', 'cluster', 'broken']);
  });

  it('joins a push member with `nephele join` and keeps its status', async () => {
    const member = await startSimulatedCluster({ name: 'pushed', nodePools: [{ name: 'pool', instanceType: 'm5.large', count: 2 }], controllers: false });
    members.push(member);
    const joined = await nephele(['join', 'pushed', '--kubeconfig', member.kubeconfigPath, '--home', hub.home, '--labels', 'tier=web,site=lab', '--provider', 'onprem', '--region', 'lab-1', '--timeout', '30s']);
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stdout, /cluster pushed joined: Ready, 2 node\(s\), Kubernetes v1\.32/);
    const c = await cluster('pushed');
    assert.equal((c.spec as Record<string, unknown>).mode, 'Push');
    assert.deepEqual((c.spec as Record<string, unknown>).kubeconfigSecretRef, { namespace: 'nephele-system', name: 'cluster-pushed-kubeconfig', key: 'kubeconfig' });
    assert.deepEqual(c.metadata.labels, { tier: 'web', site: 'lab' });
    assert.equal(c.status?.nodeCount, 2);
    assert.equal(c.status?.capacity?.cpu, '4');
    // Status follows the member: a third node shows up in a later heartbeat.
    await member.client.create(nodesRef, undefined, {
      apiVersion: 'v1', kind: 'Node', metadata: { name: 'extra' }, status: { capacity: { cpu: '8', memory: '32Gi', pods: '110' }, allocatable: { cpu: '8', memory: '32Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'False' }] },
    });
    const later = await clusterWhen('pushed', 'three nodes', (x) => x.status?.nodeCount === 3);
    assert.equal(later.status?.readyNodeCount, 2);
    assert.equal(later.status?.capacity?.cpu, '12');
  });

  it('refuses a join whose kubeconfig is unusable, naming the file', async () => {
    const bad = await nephele(['join', 'nowhere', '--kubeconfig', join(hub.home, 'no-such-file'), '--home', hub.home]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--kubeconfig .*no-such-file: ENOENT/);
    const badName = await nephele(['join', 'Bad_Name', '--kubeconfig', hub.kubeconfigPath]);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /not a cluster name/);
  });

  it('marks a member whose heartbeats stop NotReady with NoExecute taints, and clears them when it is back', async () => {
    await clusterWhen('sim-gpu', 'Ready', (x) => ready(x)?.status === 'True');
    const down = await hub.kubectl(['annotate', 'cluster', 'sim-gpu', 'sim.nephele.dev/down=true']);
    assert.equal(down.code, 0, down.stderr);
    const lost = await clusterWhen('sim-gpu', 'unreachable', (x) => ready(x)?.status === 'Unknown');
    assert.equal(ready(lost)?.reason, 'ClusterNotReachable');
    assert.match(ready(lost)?.message ?? '', /has not answered for \d+ s/);
    const taints = lost.spec.taints ?? [];
    for (const key of ['cluster.nephele.dev/not-ready', 'cluster.nephele.dev/unreachable']) {
      const taint = taints.find((t) => t.key === key);
      assert.equal(taint?.effect, 'NoExecute', JSON.stringify(taints));
      assert.ok(taint?.timeAdded, 'a taint carries the time it was added');
    }
    // The member itself kept running: only the hub's view of it was cut.
    assert.ok(hub.members.get('sim-gpu'));
    const fleetDown = await hub.kubectl(['annotate', 'cluster', 'sim-gpu', 'sim.nephele.dev/down-']);
    assert.equal(fleetDown.code, 0, fleetDown.stderr);
    const back = await clusterWhen('sim-gpu', 'Ready again without taints', (x) => ready(x)?.status === 'True' && (x.spec.taints ?? []).length === 0);
    assert.equal(ready(back)?.reason, 'ClusterReady');
  });

  it('keeps Fleet status: members by name and selector, ready count, Ready condition', async () => {
    const applied = await hub.kubectl(['apply', '-f', '-'], [
      'apiVersion: fleet.nephele.dev/v1alpha1',
      'kind: Fleet',
      'metadata: { name: mixed }',
      'spec: { clusters: [pushed, ghost], clusterSelector: { matchLabels: { tier: gpu } } }',
    ].join('\n'));
    assert.equal(applied.code, 0, applied.stderr);
    const fleets = hub.catalog.byResource('fleet.nephele.dev', 'v1alpha1', 'fleets')!;
    const get = async () => (await hub.registry.get(fleets, undefined, 'mixed')) as KubeObject & { status?: { clusters?: string[]; readyClusters?: number; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } };
    let fleet = await waitFor('fleet status', async () => { const f = await get(); return f.status?.readyClusters === 2 && f; });
    assert.deepEqual(fleet.status?.clusters, ['pushed', 'sim-gpu']);
    assert.equal(fleet.status?.conditions?.[0]?.status, 'True');
    await hub.kubectl(['annotate', 'cluster', 'sim-gpu', 'sim.nephele.dev/down=true']);
    fleet = await waitFor('fleet sees sim-gpu down', async () => { const f = await get(); return f.status?.readyClusters === 1 && f; }, { timeoutMs: 20_000 });
    assert.equal(fleet.status?.conditions?.[0]?.reason, 'ClustersNotReady');
    assert.match(fleet.status?.conditions?.[0]?.message ?? '', /1 of 2 clusters not ready: sim-gpu/);
    await hub.kubectl(['annotate', 'cluster', 'sim-gpu', 'sim.nephele.dev/down-']);
    await waitFor('fleet ready again', async () => (await get()).status?.readyClusters === 2, { timeoutMs: 20_000 });
  });

  it('stops a simulated member when its Cluster is deleted, before the Cluster goes', async () => {
    await hub.kubectl(['apply', '-f', '-'], 'apiVersion: fleet.nephele.dev/v1alpha1\nkind: Cluster\nmetadata: { name: short-lived }\nspec: { mode: Simulated, simulation: { nodes: 1 } }\n');
    await clusterWhen('short-lived', 'Ready', (x) => ready(x)?.status === 'True');
    const member = hub.members.get('short-lived');
    assert.ok(member);
    const deleted = await hub.kubectl(['delete', 'cluster', 'short-lived', '--wait=true']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(hub.members.get('short-lived'), undefined);
    assert.equal(await member.healthy(), false, 'the connection to the stopped member is closed');
  });

  it('lets a bootstrap token do what a pull agent needs and nothing else', async () => {
    const created = await nephele(['token', 'create', '--home', hub.home]);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    const user = `system:bootstrap:${token.split('.')[0]}`;
    const asAgent = (args: string[]) => hub.kubectl([`--token=${token}`, ...args]);

    // Discovery and the agent's own resources: allowed.
    const discovered = await asAgent(['api-resources', '--api-group', 'fleet.nephele.dev']);
    assert.equal(discovered.code, 0, discovered.stderr);
    assert.match(discovered.stdout, /^works\s/m);
    const works = await asAgent(['get', 'works', '-n', executionNamespace('anywhere')]);
    assert.equal(works.code, 0, works.stderr);

    // Everything else: 403, worded as kube-apiserver words it.
    const refusals: Array<[string[], RegExp]> = [
      [['get', 'secrets', '-A'], new RegExp(`secrets is forbidden: User "${user}" cannot list resource "secrets" in API group "" at the cluster scope`)],
      [['get', 'clusters'], /clusters\.fleet\.nephele\.dev is forbidden: .* cannot list resource "clusters" in API group "fleet\.nephele\.dev" at the cluster scope/],
      [['get', 'works', '-n', 'default'], /works\.fleet\.nephele\.dev is forbidden: .* cannot list resource "works" in API group "fleet\.nephele\.dev" in the namespace "default"/],
      [['delete', 'namespace', 'default'], /namespaces "default" is forbidden: .* cannot delete resource "namespaces"/],
      [['create', 'configmap', 'x', '-n', 'default', '--from-literal=a=b'], /configmaps is forbidden: .* cannot create resource "configmaps" in API group "" in the namespace "default"/],
      [['get', '--raw', '/metrics'], /forbidden: User ".*" cannot get path "\/metrics"/],
    ];
    for (const [args, message] of refusals) {
      const r = await asAgent(args);
      assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} with a bootstrap token succeeded: ${r.stdout}`);
      assert.match(r.stderr, message, `kubectl ${args.join(' ')}`);
    }
    assert.equal((await asAgent(['get', 'namespace', 'default'])).code, 1, 'a bootstrap token cannot read a namespace either');
    // Every refused write is in the audit log, with who tried it.
    const audited = readFileSync(join(hub.home, 'audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { user: string; verb: string; resource: string; code: number });
    assert.ok(audited.some((r) => r.user === user && r.verb === 'create' && r.resource === 'configmaps' && r.code === 403), 'the refused create is audited');
    assert.ok(audited.some((r) => r.user === user && r.verb === 'delete' && r.resource === 'namespaces' && r.code === 403), 'the refused delete is audited');

    // kubectl auth can-i and whoami tell the token's holder as much.
    const canList = await asAgent(['auth', 'can-i', 'list', 'secrets']);
    assert.equal(canList.code, 1);
    assert.match(canList.stdout, /^no - a bootstrap token may only register a cluster and work on its Works/);
    assert.equal((await asAgent(['auth', 'can-i', 'watch', 'works', '-n', executionNamespace('anywhere')])).stdout.trim(), 'yes');
    assert.match((await asAgent(['auth', 'whoami'])).stdout, new RegExp(`Username\\s+${user}\\s[\\s\\S]*system:bootstrappers`));

    // The admin's token is not limited.
    assert.equal((await hub.kubectl(['get', 'secrets', '-A'])).code, 0);
    assert.equal((await hub.kubectl(['auth', 'can-i', 'delete', 'secrets', '-A'])).stdout.trim(), 'yes');
    assert.match((await hub.kubectl(['auth', 'can-i', '--list'])).stdout, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);

    // A token bound to one cluster: only that cluster, its Works and its execution namespace.
    const bound = await nephele(['token', 'create', '--home', hub.home, '--cluster', 'edge-9']);
    assert.equal(bound.code, 0, bound.stderr);
    const asEdge9 = (args: string[]) => hub.kubectl([`--token=${bound.stdout.trim()}`, ...args]);
    const own = await asEdge9(['create', 'namespace', executionNamespace('edge-9')]);
    assert.equal(own.code, 0, own.stderr);
    assert.equal((await asEdge9(['get', 'works', '-n', executionNamespace('edge-9')])).code, 0);
    const boundRefusals: Array<[string[], RegExp]> = [
      [['create', 'namespace', executionNamespace('edge-8')], /namespaces "nephele-cluster-edge-8" is forbidden: User ".*" is bound to cluster "edge-9" and may only create "nephele-cluster-edge-9"/],
      [['get', 'works', '-n', executionNamespace('edge-8')], /cannot list resource "works" in API group "fleet\.nephele\.dev" in the namespace "nephele-cluster-edge-8": a bootstrap token bound to cluster "edge-9"/],
      [['get', 'cluster', 'edge-8'], /clusters\.fleet\.nephele\.dev "edge-8" is forbidden/],
    ];
    for (const [args, message] of boundRefusals) {
      const r = await asEdge9(args);
      assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} with a token bound to edge-9 succeeded: ${r.stdout}`);
      assert.match(r.stderr, message, `kubectl ${args.join(' ')}`);
    }
    assert.equal((await asEdge9(['auth', 'can-i', 'patch', 'cluster/edge-9', '--subresource=status'])).stdout.trim(), 'yes');
    assert.equal((await asEdge9(['auth', 'can-i', 'patch', 'cluster/edge-8', '--subresource=status'])).stdout.trim().split(' ')[0], 'no');
    const rules = await asEdge9(['auth', 'can-i', '--list', '-n', executionNamespace('edge-9')]);
    assert.equal(rules.code, 0, rules.stderr);
    assert.match(rules.stdout, /^works\.fleet\.nephele\.dev\s+\[\]\s+\[\]\s+\[get list watch update patch\]$/m);
    assert.match(rules.stdout, /^clusters\.fleet\.nephele\.dev\s+\[\]\s+\[edge-9\]/m);
    assert.doesNotMatch((await asEdge9(['auth', 'can-i', '--list', '-n', executionNamespace('edge-8')])).stdout, /works/);
    // Tokens are listed by public id, never by secret, and revoked by it.
    const listed = await nephele(['token', 'list', '--home', hub.home]);
    assert.equal(listed.code, 0, listed.stderr);
    const edge9Id = bound.stdout.trim().split('.')[0]!;
    assert.match(listed.stdout, /^ID\s+USER\s+CLUSTER$/m);
    assert.match(listed.stdout, new RegExp(`^${edge9Id}\\s+system:bootstrap:${edge9Id}\\s+edge-9$`, 'm'));
    assert.match(listed.stdout, new RegExp(`^${token.split('.')[0]}\\s+${user}\\s+<any>$`, 'm'));
    assert.doesNotMatch(listed.stdout, new RegExp(bound.stdout.trim().split('.')[1]!), 'a secret is printed');
    const deleted = await nephele(['token', 'delete', edge9Id, '--home', hub.home]);
    assert.equal(deleted.code, 0, deleted.stderr);
    await waitFor('the deleted token refused', async () => /Unauthorized|must be logged in/.test((await asEdge9(['get', 'works', '-n', executionNamespace('edge-9')])).stderr));
    assert.doesNotMatch((await nephele(['token', 'list', '--home', hub.home])).stdout, new RegExp(`^${edge9Id}`, 'm'));
    const again = await nephele(['token', 'delete', edge9Id, '--home', hub.home]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`no bootstrap token with id "${edge9Id}" in .*tokens\\.json \\(nephele token list shows them\\)`));
    assert.equal((await hub.kubectl(['get', 'secrets', '-A'])).code, 0, 'the admin token is untouched');

    const wrongName = await nephele(['token', 'create', '--home', hub.home, '--cluster', 'Not_A_Name']);
    assert.notEqual(wrongName.code, 0);
    assert.match(wrongName.stderr, /"Not_A_Name" is not a cluster name/);
  });

  it('registers a pull member through an agent with a bootstrap token, applies its Work and prunes it', async () => {
    const edge = await startSimulatedCluster({ name: 'edge-1', nodePools: [{ name: 'pool', instanceType: 'm5.xlarge', count: 2 }], startLatencyMs: 100 });
    members.push(edge);
    const token = await nephele(['token', 'create', '--home', hub.home, '--cluster', 'edge-1']);
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout.trim(), /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const elsewhere = await nephele(['agent', '--hub-kubeconfig', hub.kubeconfigPath, '--kubeconfig', edge.kubeconfigPath, '--name', 'edge-2', '--token', token.stdout.trim()]);
    assert.notEqual(elsewhere.code, 0, 'a token bound to edge-1 registered edge-2');
    assert.match(elsewhere.stderr, /the agent for edge-2 could not register with the hub: clusters\.fleet\.nephele\.dev "edge-2" is forbidden: .* bound to cluster "edge-1"/);
    const agent = spawn(process.execPath, [cli, 'agent', '--hub-kubeconfig', hub.kubeconfigPath, '--kubeconfig', edge.kubeconfigPath, '--name', 'edge-1', '--token', token.stdout.trim(), '--labels', 'site=edge', '--heartbeat', '300ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(agent);
    let output = '';
    agent.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    agent.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    const c = await clusterWhen('edge-1', 'Ready from its agent', (x) => ready(x)?.status === 'True' && x.status?.nodeCount === 2, 30_000).catch((err: Error) => { throw new Error(`${err.message}\nagent output: ${output}`); });
    assert.equal((c.spec as Record<string, unknown>).mode, 'Pull');
    assert.equal(c.metadata.labels?.site, 'edge');
    assert.equal(c.status?.capacity?.cpu, '8');

    const namespace = executionNamespace('edge-1');
    const work = {
      apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Work', metadata: { name: 'web', namespace },
      spec: { workload: { manifests: [
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx', resources: { requests: { cpu: '100m', memory: '64Mi' } } }] } } } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config', namespace: 'shop' }, data: { greeting: 'hello' } },
      ] } },
    };
    const worksType = hub.catalog.byResource(fleetRefs.works.group, fleetRefs.works.version, fleetRefs.works.plural)!;
    await waitFor('the execution namespace', async () => (await hub.kubectl(['get', 'namespace', namespace])).code === 0);
    await hub.registry.create(worksType, namespace, work as KubeObject, { user: { username: 'test', groups: ['system:masters'] } });
    await waitFor('two running pods on the member', async () => {
      const pods = await edge.client.list(podsRef, 'shop');
      return pods.items.filter((p) => (p.status as { phase?: string } | undefined)?.phase === 'Running').length === 2;
    }, { timeoutMs: 30_000, describe: () => output });
    const applied = await waitFor('Work status Applied', async () => {
      const w = await hub.registry.get(worksType, namespace, 'web') as KubeObject & { status?: { conditions?: Array<{ type: string; status: string }>; manifestStatuses?: Array<{ identifier: { kind: string } }> } };
      return w.status?.conditions?.some((x) => x.type === 'Applied' && x.status === 'True') && w;
    });
    assert.deepEqual(applied.status?.manifestStatuses?.map((m) => m.identifier.kind), ['Deployment', 'ConfigMap']);
    assert.ok(applied.metadata.finalizers?.includes('fleet.nephele.dev/agent-cleanup'));
    const deployment = await edge.client.get(deploymentsRef, 'shop', 'web');
    assert.equal(deployment.metadata.labels?.['fleet.nephele.dev/work'], 'web');
    assert.ok(deployment.metadata.managedFields?.some((f) => f.manager === 'nephele-agent'));

    // Dropping a manifest from the Work deletes it from the member; deleting the Work deletes the rest.
    await hub.registry.patch(worksType, namespace, 'web', 'json', [{ op: 'remove', path: '/spec/workload/manifests/1' }], { user: { username: 'test', groups: ['system:masters'] } });
    await waitFor('the ConfigMap pruned', async () => (await edge.client.list({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true }, 'shop')).items.every((m) => m.metadata.name !== 'web-config'));
    await hub.registry.delete(worksType, namespace, 'web', { user: { username: 'test', groups: ['system:masters'] } });
    await waitFor('the Deployment pruned and the Work gone', async () => {
      const left = await edge.client.list(deploymentsRef, 'shop');
      const works = await hub.registry.list(worksType, namespace);
      return left.items.length === 0 && works.items.length === 0;
    });

    // An agent that stops is noticed: after the grace period the Cluster is unreachable and tainted.
    agent.kill('SIGTERM');
    const gone = await clusterWhen('edge-1', 'unreachable once the agent stopped', (x) => ready(x)?.status === 'Unknown', 30_000);
    assert.equal(ready(gone)?.reason, 'ClusterNotReachable');
    assert.ok(gone.spec.taints?.some((t) => t.key === 'cluster.nephele.dev/unreachable'));
  });
});
