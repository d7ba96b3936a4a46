/**
 * End-to-end: a simulated member cluster is a Kubernetes API endpoint of its own. The real kubectl
 * and @kubernetes/client-node talk to it through its own kubeconfig; it serves the kinds a cluster
 * has (Nodes, Pods, ...), which the hub does not.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startSimulatedCluster, type SimulatedCluster } from '../src/sim/index.ts';
import { startTestHub, tempFile } from '../src/testing/hub.ts';
import { runKubectl } from '../src/testing/kubectl.ts';

const kubectl = runKubectl;

const node = (name: string, ready: 'True' | 'False') => `
apiVersion: v1
kind: Node
metadata:
  name: ${name}
  labels: { node-role.kubernetes.io/worker: "", kubernetes.io/hostname: ${name} }
status:
  conditions:
    - { type: Ready, status: "${ready}", reason: KubeletReady }
  addresses:
    - { type: InternalIP, address: 10.0.0.7 }
  nodeInfo:
    kubeletVersion: v1.32.0
    osImage: Simulated Linux
    kernelVersion: 6.8.0
    containerRuntimeVersion: containerd://1.7.0
    machineID: m
    systemUUID: s
    bootID: b
    kubeProxyVersion: v1.32.0
    operatingSystem: linux
    architecture: amd64
`;

describe('a simulated member cluster', () => {
  let cluster: SimulatedCluster;
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(cluster.kubeconfigPath, args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  before(async () => {
    // The API alone: these tests write the status a kubelet would, so no controllers run here.
    cluster = await startSimulatedCluster({ name: 'edge-1', controllers: false });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('is an endpoint of its own, with its own home, CA and token', async () => {
    assert.equal(cluster.name, 'edge-1');
    assert.ok(existsSync(join(cluster.home, 'pki', 'ca.crt')));
    assert.match(readFileSync(cluster.kubeconfigPath, 'utf8'), new RegExp(`server: ${cluster.url}`));
    assert.equal((await ok(['config', 'current-context'])).trim(), 'edge-1', 'the kubeconfig is named after the cluster');
    const namespaces = (await ok(['get', 'namespaces', '-o', 'name'])).trim().split('\n').sort();
    assert.deepEqual(namespaces, ['namespace/default', 'namespace/kube-node-lease', 'namespace/kube-public', 'namespace/kube-system']);
  });

  it('serves the kinds a cluster has and not the fleet kinds', async () => {
    const resources = await ok(['api-resources']);
    for (const expected of ['nodes', 'pods', 'replicasets', 'priorityclasses', 'resourcequotas', 'limitranges', 'mutatingwebhookconfigurations', 'validatingwebhookconfigurations', 'deployments', 'customresourcedefinitions']) {
      assert.match(resources, new RegExp(`^${expected}\\s`, 'm'), `api-resources lacks ${expected}`);
    }
    assert.match(resources, /^nodes\s+no\s+v1\s+false\s+Node/m);
    assert.match(resources, /^pods\s+po\s+v1\s+true\s+Pod/m);
    assert.match(resources, /^priorityclasses\s+pc\s+scheduling\.k8s\.io\/v1\s+false\s+PriorityClass/m);
    assert.doesNotMatch(resources, /fleet\.nephele\.dev/);
    assert.doesNotMatch(await ok(['api-versions']), /fleet\.nephele\.dev/);
  });

  it('shows a Node with the status its Ready condition gives', async () => {
    assert.match(await ok(['create', '-f', tempFile('node.yaml', node('worker-1', 'True'))]), /node\/worker-1 created/);
    await ok(['create', '-f', '-'], node('worker-2', 'False'));
    const table = await ok(['get', 'nodes']);
    assert.match(table, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/m);
    assert.match(table, /^worker-1\s+Ready\s+worker\s+\S+\s+v1\.32\.0$/m);
    assert.match(table, /^worker-2\s+NotReady\s+worker\s+/m);
    assert.match(await ok(['get', 'nodes', '-o', 'wide']), /^worker-1\s+Ready\s+worker\s+\S+\s+v1\.32\.0\s+10\.0\.0\.7\s+<none>\s+Simulated Linux\s+6\.8\.0\s+containerd:\/\/1\.7\.0$/m);

    await ok(['cordon', 'worker-1']);
    assert.match(await ok(['get', 'node', 'worker-1']), /^worker-1\s+Ready,SchedulingDisabled\s/m);
    assert.equal((await ok(['get', 'nodes', '--field-selector', 'spec.unschedulable=true', '-o', 'name'])).trim(), 'node/worker-1');
    // Server-side apply of a status condition merges by type (the patch metadata keys conditions by type).
    await ok(['apply', '--server-side', '--subresource=status', '--field-manager=kubelet', '-f', '-'], `apiVersion: v1\nkind: Node\nmetadata: { name: worker-2 }\nstatus:\n  conditions:\n    - { type: Ready, status: "True", reason: KubeletReady }\n`);
    const applied = JSON.parse(await ok(['get', 'node', 'worker-2', '-o', 'json']));
    assert.deepEqual(applied.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`), ['Ready=True']);
    assert.equal(applied.status.nodeInfo.kubeletVersion, 'v1.32.0', 'the rest of status is kept');
  });

  it('shows a Pod with its Ready, Status, Restarts, IP and Node columns', async () => {
    await ok(['create', '-f', '-'], `apiVersion: v1\nkind: Pod\nmetadata: { name: web-0, namespace: default }\nspec:\n  containers:\n    - { name: web, image: nginx:1.27 }\n    - { name: sidecar, image: busybox:1.36 }\n`);
    const created = JSON.parse(await ok(['get', 'pod', 'web-0', '-o', 'json']));
    assert.equal(created.status.phase, 'Pending');
    assert.equal(created.spec.schedulerName, 'default-scheduler');
    assert.match(await ok(['get', 'pods']), /^web-0\s+0\/2\s+Pending\s+0\s+\S+$/m);

    await ok(['patch', 'pod', 'web-0', '--type=merge', '-p', '{"spec":{"nodeName":"worker-1"}}']);
    await ok(['patch', 'pod', 'web-0', '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: {
        phase: 'Running', podIP: '10.244.1.5',
        containerStatuses: [
          { name: 'web', ready: true, restartCount: 2, image: 'nginx:1.27', imageID: '', started: true, state: { running: {} } },
          { name: 'sidecar', ready: false, restartCount: 1, image: 'busybox:1.36', imageID: '', state: { waiting: { reason: 'CrashLoopBackOff' } } },
        ],
      },
    })]);
    const wide = await ok(['get', 'pods', '-o', 'wide']);
    assert.match(wide, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m);
    assert.match(wide, /^web-0\s+1\/2\s+CrashLoopBackOff\s+3\s+\S+\s+10\.244\.1\.5\s+worker-1\s+<none>\s+<none>$/m);
    assert.equal((await ok(['get', 'pods', '--field-selector', 'spec.nodeName=worker-1,status.phase=Running', '-o', 'name'])).trim(), 'pod/web-0');
    assert.equal((await ok(['get', 'pods', '--field-selector', 'spec.schedulerName=other', '-o', 'name'])).trim(), '');
  });

  it('refuses an invalid Pod with the field path', async () => {
    const r = await kubectl(cluster.kubeconfigPath, ['create', '-f', '-'], `apiVersion: v1\nkind: Pod\nmetadata: { name: bad, namespace: default }\nspec: { restartPolicy: Never }\n`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Pod "bad" is invalid/);
    assert.match(r.stderr, /spec\.containers: Required value/);
  });

  it('serves ReplicaSets with scale, PriorityClasses and quotas', async () => {
    await ok(['create', '-f', '-'], `apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: { name: web }\nspec:\n  replicas: 3\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec: { containers: [{ name: web, image: nginx:1.27 }] }\n`);
    assert.match(await ok(['get', 'rs']), /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\n^web\s+3\s+0\s+0\s+/m);
    await ok(['scale', 'rs', 'web', '--replicas=5']);
    assert.match(await ok(['get', 'rs', 'web']), /^web\s+5\s+0\s+0\s+/m);
    // kubectl's typed clients send these two as protobuf.
    await ok(['create', 'priorityclass', 'high', '--value=1000', '--global-default=true', '--description=urgent work']);
    assert.match(await ok(['get', 'pc']), /^NAME\s+VALUE\s+GLOBAL-DEFAULT\s+AGE\n^high\s+1000\s+true\s+/m);
    assert.equal(JSON.parse(await ok(['get', 'pc', 'high', '-o', 'json'])).description, 'urgent work');
    await ok(['create', 'quota', 'small', '--hard=cpu=2,pods=10']);
    assert.deepEqual(JSON.parse(await ok(['get', 'quota', 'small', '-o', 'json'])).spec.hard, { cpu: '2', pods: '10' });
  });

  it('answers @kubernetes/client-node through its kubeconfig', async () => {
    const config = new KubeConfig();
    config.loadFromFile(cluster.kubeconfigPath);
    const nodes = await config.makeApiClient(CoreV1Api).listNode();
    assert.deepEqual(nodes.items.map((n) => n.metadata?.name).sort(), ['worker-1', 'worker-2']);
    assert.equal(nodes.items.find((n) => n.metadata?.name === 'worker-1')?.status?.nodeInfo?.kubeletVersion, 'v1.32.0');
  });
});

describe('the hub', () => {
  it('does not serve the member-cluster kinds', async () => {
    const hub = await startTestHub();
    try {
      for (const resource of ['pods', 'nodes', 'replicasets']) {
        const r = await hub.kubectl(['get', resource]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, new RegExp(`doesn't have a resource type "${resource}"`));
      }
      assert.match((await hub.kubectl(['api-resources'])).stdout, /^clusters\s/m);
      assert.equal(hub.catalog.byResource('', 'v1', 'pods'), undefined);
      const published = Object.keys((await hub.call('GET', '/openapi/v3')).json().paths);
      assert.ok(published.includes('apis/fleet.nephele.dev/v1alpha1'));
      assert.ok(!published.some((p) => p.includes('scheduling.k8s.io') || p.includes('admissionregistration')), published.join(' '));
    } finally {
      await hub.close();
    }
  });
});
