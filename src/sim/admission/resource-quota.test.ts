import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { InProcessClient, SharedInformerFactory } from '../../client/index.ts';
import { EventRecorder, realScheduler, type Runnable } from '../../controller/index.ts';
import type { KubeObject } from '../../machinery/object.ts';
import { StatusError } from '../../machinery/status-error.ts';
import { waitFor } from '../../testing/wait.ts';
import { startSimulatedCluster, type SimulatedCluster } from '../cluster.ts';
import { record } from '../pods.ts';
import { podsRef, resourceQuotasRef } from '../resources.ts';
import { chargeOf, formatUsage, resourceQuotaController, ResourceQuotaAdmission } from './resource-quota.ts';
import { runKubectl } from '../../testing/kubectl.ts';

const runWithCpu = (name: string, cpu: string | undefined, extra: string[] = []) => [
  'run', name, '-n', 'q', '--image=nginx:1.27', '--restart=Never',
  `--overrides=${JSON.stringify({ spec: { containers: [{ name, image: 'nginx:1.27', ...(cpu ? { resources: { requests: { cpu, memory: '64Mi' } } } : {}) }] } })}`,
  ...extra,
];

describe('ResourceQuota admission', () => {
  let cluster: SimulatedCluster;
  let client: InProcessClient;
  let controller: Runnable;
  let k: (args: string[], input?: string) => ReturnType<typeof runKubectl>;

  before(async () => {
    cluster = await startSimulatedCluster({ name: 'quota', controllers: false });
    client = new InProcessClient(cluster.registry, cluster.catalog);
    cluster.admission.addValidating(new ResourceQuotaAdmission(client));
    controller = resourceQuotaController({
      cluster: 'quota', client, informers: new SharedInformerFactory(client), scheduler: realScheduler, metrics: new Registry(),
      recorder: (component) => new EventRecorder({ client, component }), log: () => {},
    });
    await controller.start();
    k = (args, input) => runKubectl(cluster.kubeconfigPath, args, input);
    assert.equal((await k(['create', 'namespace', 'q'])).code, 0);
  });
  after(async () => {
    await controller.stop();
    await cluster.stop();
  });

  it('refuses a pod that would pass requests.cpu, with the upstream message', async () => {
    const created = await k(['create', 'quota', 'compute', '-n', 'q', '--hard=requests.cpu=1,requests.memory=1Gi,pods=5']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await k(runWithCpu('a', '500m'))).code, 0);
    assert.equal((await k(runWithCpu('b', '500m'))).code, 0);
    const refused = await k(runWithCpu('c', '500m'));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Error from server \(Forbidden\): pods "c" is forbidden: exceeded quota: compute, requested: requests\.cpu=500m, used: requests\.cpu=1, limited: requests\.cpu=1/);
  });

  it('refuses a pod that states no request for a quota-limited resource', async () => {
    const refused = await k(runWithCpu('d', undefined));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /pods "d" is forbidden: failed quota: compute: must specify requests\.cpu for: d; requests\.memory for: d/);
  });

  it('does not count finished pods', async () => {
    const a = await client.get(podsRef, 'q', 'a');
    await client.update(podsRef, 'q', { ...a, status: { ...record(a.status), phase: 'Succeeded' } }, { subresource: 'status' });
    const ran = await k(runWithCpu('c', '500m'));
    assert.equal(ran.code, 0, ran.stderr);
  });

  it('keeps status.used current, as kubectl shows it', async () => {
    const quota = await waitFor('status.used', async () => {
      const q = await client.get(resourceQuotasRef, 'q', 'compute');
      const used = record(record(q.status).used);
      return used['requests.cpu'] === '1' && used.pods === '2' && q;
    });
    assert.deepEqual(record(quota.status).hard, { 'requests.cpu': '1', 'requests.memory': '1Gi', pods: '5' });
    assert.equal(record(record(quota.status).used)['requests.memory'], '128Mi');
    const described = await k(['get', 'quota', 'compute', '-n', 'q']);
    assert.match(described.stdout, /pods: 2\/5, requests\.cpu: 1\/1, requests\.memory: 128Mi\/1Gi/);
  });

  it('counts objects: count/configmaps and count/deployments.apps', async () => {
    assert.equal((await k(['create', 'quota', 'objects', '-n', 'q', '--hard=count/configmaps=1,count/deployments.apps=1'])).code, 0);
    assert.equal((await k(['create', 'configmap', 'one', '-n', 'q'])).code, 0);
    const cm = await k(['create', 'configmap', 'two', '-n', 'q']);
    assert.match(cm.stderr, /configmaps "two" is forbidden: exceeded quota: objects, requested: count\/configmaps=1, used: count\/configmaps=1, limited: count\/configmaps=1/);
    assert.equal((await k(['create', 'deployment', 'web', '-n', 'q', '--image=nginx:1.27'])).code, 0);
    const deploy = await k(['create', 'deployment', 'api', '-n', 'q', '--image=nginx:1.27']);
    assert.match(deploy.stderr, /deployments\.apps "api" is forbidden: exceeded quota: objects, requested: count\/deployments\.apps=1, used: count\/deployments\.apps=1, limited: count\/deployments\.apps=1/);
  });

  it('lets only one of two racing creates take the last slot', async () => {
    await client.create({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false }, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'race' } });
    await client.create(resourceQuotasRef, 'race', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'one', namespace: 'race' }, spec: { hard: { pods: '1' } } });
    const pod = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'race' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
    const results = await Promise.allSettled(['r1', 'r2', 'r3', 'r4'].map((n) => client.create(podsRef, 'race', pod(n))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof StatusError && r.reason.reason === 'Forbidden', String(r.reason));
    }
  });
});

describe('quota charges', () => {
  const pod: KubeObject = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
    spec: {
      initContainers: [{ name: 'init', resources: { requests: { cpu: '2' } } }],
      containers: [
        { name: 'a', resources: { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '1Gi', 'nvidia.com/gpu': '1' } } },
        { name: 'b', resources: { requests: { cpu: '250m', memory: '256Mi' } } },
      ],
    },
  };
  it('sums containers, takes the largest init container when bigger, and defaults requests to limits', () => {
    const charge = chargeOf({ group: '', plural: 'pods' }, pod, ['cpu', 'limits.cpu', 'requests.memory', 'requests.nvidia.com/gpu', 'pods', 'count/pods']);
    assert.deepEqual(charge, { cpu: 2, 'limits.cpu': 0.5, 'requests.memory': 2 ** 30 + 256 * 2 ** 20, 'requests.nvidia.com/gpu': 1, pods: 1, 'count/pods': 1 });
    assert.equal(formatUsage('requests.memory', charge['requests.memory']!), '1280Mi');
    assert.equal(formatUsage('limits.cpu', 0.5), '500m');
  });
});
