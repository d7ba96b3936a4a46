/**
 * End-to-end: the real kubectl binary against a running hub. Every case is something a platform
 * engineer does daily; each asserts on what kubectl prints or on the stored result.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { startTestHub, tempFile, type TestHub } from '../src/testing/hub.ts';

const deployment = (name: string, replicas = 2, image = 'nginx:1.27') => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: { app: ${name} }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers:
        - name: web
          image: ${image}
          ports: [{ containerPort: 80 }]
          env: [{ name: MODE, value: prod }]
`;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('kubectl against the hub', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub({ store: 'memory' });
  });
  after(async () => {
    await hub?.close();
  });

  const ok = async (args: string[], input?: string) => {
    const r = await hub.kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  it('lists API resources and versions', async () => {
    const resources = await ok(['api-resources']);
    for (const expected of ['deployments', 'namespaces', 'configmaps', 'secrets', 'customresourcedefinitions', 'leases', 'clusters', 'fleets', 'jobs']) {
      assert.match(resources, new RegExp(`^${expected}\\s`, 'm'), `api-resources lacks ${expected}`);
    }
    assert.match(resources, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/m);
    const versions = await ok(['api-versions']);
    for (const gv of ['v1', 'apps/v1', 'batch/v1', 'coordination.k8s.io/v1', 'apiextensions.k8s.io/v1', 'fleet.nephele.dev/v1alpha1']) {
      assert.match(versions, new RegExp(`^${gv.replace('.', '\\.')}$`, 'm'));
    }
  });

  it('explains kinds and fields from the published OpenAPI', async () => {
    const out = await ok(['explain', 'deployment.spec.replicas']);
    assert.match(out, /KIND:\s+Deployment/);
    assert.match(out, /replicas\s+<integer>/);
    assert.match(out, /Number of desired pods/);
    const cluster = await ok(['explain', 'clusters.spec']);
    assert.match(cluster, /region/);
  });

  it('creates, gets, labels, annotates, patches, replaces and deletes', async () => {
    const file = tempFile('web.yaml', deployment('web'));
    assert.match(await ok(['create', '-f', file]), /deployment.apps\/web created/);
    const created = JSON.parse(await ok(['get', 'deployment', 'web', '-o', 'json']));
    assert.equal(created.spec.replicas, 2);
    assert.equal(created.metadata.generation, 1);
    assert.match(created.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.equal(created.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent', 'defaults were applied');
    const table = await ok(['get', 'deployments']);
    assert.match(table, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/m);
    assert.match(table, /^web\s+0\/2\s+/m);
    assert.match(await ok(['get', 'deploy', 'web', '-o', 'yaml']), /name: web/);

    await ok(['label', 'deployment', 'web', 'tier=frontend']);
    await ok(['annotate', 'deployment', 'web', 'owner=platform']);
    assert.match(await ok(['get', 'deploy', '-l', 'tier=frontend', '-o', 'name']), /deployment.apps\/web/);
    assert.equal((await ok(['get', 'deploy', '-l', 'tier=backend', '-o', 'name'])).trim(), '');

    // Strategic merge: containers merge by name, so the env list keeps its entry and gains one.
    await ok(['patch', 'deployment', 'web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"EXTRA","value":"1"}]}]}}}}']);
    let live = JSON.parse(await ok(['get', 'deploy', 'web', '-o', 'json']));
    assert.deepEqual(live.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name).sort(), ['EXTRA', 'MODE']);
    assert.equal(live.spec.template.spec.containers[0].image, 'nginx:1.27');
    assert.equal(live.metadata.generation, 2, 'a spec change bumps generation');

    await ok(['patch', 'deployment', 'web', '--type=merge', '-p', '{"spec":{"replicas":5}}']);
    await ok(['patch', 'deployment', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.28"}]']);
    live = JSON.parse(await ok(['get', 'deploy', 'web', '-o', 'json']));
    assert.equal(live.spec.replicas, 5);
    assert.equal(live.spec.template.spec.containers[0].image, 'nginx:1.28');
    assert.equal(live.metadata.labels.tier, 'frontend');
    assert.equal(live.metadata.annotations.owner, 'platform');

    const labelOnly = live.metadata.generation;
    await ok(['label', 'deployment', 'web', 'extra=yes']);
    assert.equal(JSON.parse(await ok(['get', 'deploy', 'web', '-o', 'json'])).metadata.generation, labelOnly, 'metadata changes leave generation alone');

    live = JSON.parse(await ok(['get', 'deploy', 'web', '-o', 'json']));
    live.spec.replicas = 1;
    const replaced = tempFile('replace.json', JSON.stringify(live));
    assert.match(await ok(['replace', '-f', replaced]), /replaced/);
    assert.equal(JSON.parse(await ok(['get', 'deploy', 'web', '-o', 'json'])).spec.replicas, 1);
    // Replaying the same (now stale) resourceVersion is a conflict.
    const stale = await hub.kubectl(['replace', '-f', replaced]);
    assert.notEqual(stale.code, 0);
    assert.match(stale.stderr, /the object has been modified/);

    // The scale subresource, as `kubectl scale` and autoscalers use it.
    assert.match(await ok(['scale', 'deployment', 'web', '--replicas=3']), /deployment.apps\/web scaled/);
    assert.equal(JSON.parse(await ok(['get', 'deploy', 'web', '-o', 'json'])).spec.replicas, 3);
    assert.match(await ok(['get', 'deploy', 'web', '-o', 'wide']), /^web\s+0\/3\s+0\s+0\s+\S+\s+web\s+nginx:1\.28\s+app=web/m);

    assert.match(await ok(['delete', 'deployment', 'web']), /deployment.apps "web" deleted/);
    const gone = await hub.kubectl(['get', 'deployment', 'web']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound|not found/);
  });

  it('applies client-side and server-side, with field-manager conflicts and --force-conflicts', async () => {
    const file = tempFile('api.yaml', deployment('api', 3));
    assert.match(await ok(['apply', '-f', file]), /deployment.apps\/api created/);
    assert.match(await ok(['apply', '-f', file]), /deployment.apps\/api unchanged/);
    const ssaFile = tempFile('api-ssa.yaml', deployment('ssa', 3));
    assert.match(await ok(['apply', '--server-side', '-f', ssaFile]), /serverside-applied/);
    let live = JSON.parse(await ok(['get', 'deploy', 'ssa', '-o', 'json', '--show-managed-fields']));
    assert.ok(live.metadata.managedFields.some((m: { manager: string; operation: string }) => m.manager === 'kubectl' && m.operation === 'Apply'));
    // Another manager takes spec.replicas; a re-apply by kubectl with a different value conflicts.
    const taken = await hub.kubectl(['apply', '--server-side', '--field-manager=autoscaler', '-f', '-'], `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: ssa }\nspec: { replicas: 7 }\n`);
    assert.notEqual(taken.code, 0, 'replicas belong to kubectl');
    assert.match(taken.stderr, /conflict with "kubectl"/);
    await ok(['apply', '--server-side', '--field-manager=autoscaler', '--force-conflicts', '-f', '-'], `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: ssa }\nspec: { replicas: 7 }\n`);
    const conflictingFile = tempFile('api-ssa2.yaml', deployment('ssa', 4));
    const conflict = await hub.kubectl(['apply', '--server-side', '-f', conflictingFile]);
    assert.notEqual(conflict.code, 0, 'the second manager owns replicas now');
    assert.match(conflict.stderr, /conflict/i);
    assert.match(conflict.stderr, /autoscaler/);
    assert.match(conflict.stderr, /\.spec\.replicas/);
    await ok(['apply', '--server-side', '--force-conflicts', '-f', conflictingFile]);
    live = JSON.parse(await ok(['get', 'deploy', 'ssa', '-o', 'json']));
    assert.equal(live.spec.replicas, 4);
  });

  it('diffs and dry-runs on the server without writing', async () => {
    const file = tempFile('dry.yaml', deployment('dry', 1));
    assert.match(await ok(['create', '-f', file, '--dry-run=server']), /created \(server dry run\)/);
    assert.notEqual((await hub.kubectl(['get', 'deploy', 'dry'])).code, 0, 'dry run stored nothing');
    await ok(['apply', '-f', file]);
    const changed = tempFile('dry2.yaml', deployment('dry', 6));
    const diff = await hub.kubectl(['diff', '-f', changed]);
    assert.equal(diff.code, 1, `kubectl diff exits 1 when there are differences: ${diff.stderr}`);
    assert.match(diff.stdout, /-\s+replicas: 1/);
    assert.match(diff.stdout, /\+\s+replicas: 6/);
    const same = await hub.kubectl(['diff', '-f', file]);
    assert.equal(same.code, 0, `no differences: ${same.stdout}${same.stderr}`);
  });

  it('watches adds, updates and deletes with get -w', async () => {
    const child = spawn('kubectl', ['--kubeconfig', hub.kubeconfigPath, 'get', 'configmaps', '-w', '--output-watch-events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await sleep(700);
      await ok(['create', 'configmap', 'watched', '--from-literal=v=one']);
      await waitFor('ADDED', async () => (/ADDED\s+watched\s+1\s/.test(out) ? true : undefined));
      await ok(['patch', 'configmap', 'watched', '--type=merge', '-p', '{"data":{"w":"two"}}']);
      await waitFor('MODIFIED', async () => (/MODIFIED\s+watched\s+2\s/.test(out) ? true : undefined));
      await ok(['delete', 'configmap', 'watched']);
      await waitFor('DELETED', async () => (/DELETED\s+watched/.test(out) ? true : undefined));
    } finally {
      child.kill();
    }
  });

  it('registers a CustomResourceDefinition and serves objects of it', async () => {
    const crd = tempFile('crd.yaml', `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: budgets.finops.example.com }
spec:
  group: finops.example.com
  scope: Namespaced
  names: { plural: budgets, singular: budget, kind: Budget, shortNames: [bdg] }
  versions:
    - name: v1
      served: true
      storage: true
      subresources: { status: {} }
      additionalPrinterColumns:
        - { name: Limit, type: integer, jsonPath: .spec.monthlyLimit }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [monthlyLimit]
              properties:
                monthlyLimit: { type: integer, minimum: 0 }
                currency: { type: string, enum: [USD, EUR] }
            status:
              type: object
              x-kubernetes-preserve-unknown-fields: true
`);
    await ok(['apply', '-f', crd]);
    await ok(['wait', '--for=condition=Established', '--timeout=20s', 'crd/budgets.finops.example.com']);
    await waitFor('budgets in discovery', async () => ((await hub.kubectl(['api-resources', '--api-group=finops.example.com'])).stdout.includes('budgets') ? true : undefined));
    await ok(['apply', '-f', '-'], 'apiVersion: finops.example.com/v1\nkind: Budget\nmetadata: { name: team-a }\nspec: { monthlyLimit: 500, currency: EUR }\n');
    const table = await ok(['get', 'bdg']);
    assert.match(table, /^NAME\s+LIMIT\s+AGE/m);
    assert.match(table, /^team-a\s+500\s+/m);
    const bad = await hub.kubectl(['apply', '-f', '-'], 'apiVersion: finops.example.com/v1\nkind: Budget\nmetadata: { name: team-b }\nspec: { monthlyLimit: -3, currency: GBP }\n');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /spec\.monthlyLimit/);
    assert.match(bad.stderr, /spec\.currency/);
    await ok(['patch', 'budget', 'team-a', '--type=merge', '-p', '{"spec":{"monthlyLimit":900}}']);
    assert.equal(JSON.parse(await ok(['get', 'budget', 'team-a', '-o', 'json'])).spec.monthlyLimit, 900);
    await ok(['delete', 'budget', 'team-a']);
  });

  it('cascades deletes through ownerReferences (background, foreground, orphan)', async () => {
    const makeOwnerAndChild = async (owner: string) => {
      const parent = JSON.parse(await ok(['create', 'configmap', owner, '--from-literal=a=b', '-o', 'json']));
      const child = {
        apiVersion: 'v1', kind: 'ConfigMap',
        metadata: { name: `${owner}-child`, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner, uid: parent.metadata.uid, blockOwnerDeletion: true }] },
        data: { x: 'y' },
      };
      await ok(['create', '-f', '-'], JSON.stringify(child));
    };
    const exists = async (name: string) => (await hub.kubectl(['get', 'configmap', name])).code === 0;

    await makeOwnerAndChild('bg');
    await ok(['delete', 'configmap', 'bg']);
    await waitFor('background cascade', async () => (!(await exists('bg-child')) ? true : undefined));

    await makeOwnerAndChild('fg');
    await ok(['delete', 'configmap', 'fg', '--cascade=foreground']);
    await waitFor('foreground cascade', async () => (!(await exists('fg')) && !(await exists('fg-child')) ? true : undefined));

    await makeOwnerAndChild('or');
    await ok(['delete', 'configmap', 'or', '--cascade=orphan']);
    await waitFor('owner gone', async () => (!(await exists('or')) ? true : undefined));
    const orphan = JSON.parse(await ok(['get', 'configmap', 'or-child', '-o', 'json']));
    assert.equal(orphan.metadata.ownerReferences, undefined, 'the orphan lost its owner reference and stays');
  });

  it('holds a delete until finalizers are removed', async () => {
    await ok(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n  finalizers: [example.com/hold]\ndata: { a: b }\n');
    await ok(['delete', 'configmap', 'held', '--wait=false']);
    const marked = JSON.parse(await ok(['get', 'configmap', 'held', '-o', 'json']));
    assert.ok(marked.metadata.deletionTimestamp, 'deletionTimestamp is set');
    await ok(['patch', 'configmap', 'held', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    await waitFor('finalized delete', async () => ((await hub.kubectl(['get', 'configmap', 'held'])).code !== 0 ? true : undefined));
  });

  it('creates namespaces and config imperatively and deletes by label', async () => {
    assert.match(await ok(['create', 'namespace', 'team-x']), /namespace\/team-x created/);
    for (const name of ['one', 'two', 'three']) await ok(['-n', 'team-x', 'create', 'configmap', name, `--from-literal=k=${name}`]);
    await ok(['-n', 'team-x', 'label', 'configmap', 'one', 'two', 'batch=old']);
    assert.match(await ok(['-n', 'team-x', 'delete', 'configmap', '-l', 'batch=old']), /configmap "one" deleted[\s\S]*configmap "two" deleted/);
    assert.equal((await ok(['-n', 'team-x', 'get', 'configmaps', '-o', 'name'])).trim(), 'configmap/three');
    // kubectl's typed clients send these as protobuf; the hub reads that encoding.
    await ok(['-n', 'team-x', 'create', 'deployment', 'api', '--image=nginx:1.27', '--port=8080', '--replicas=2']);
    const made = JSON.parse(await ok(['-n', 'team-x', 'get', 'deployment', 'api', '-o', 'json']));
    assert.equal(made.spec.replicas, 2);
    assert.deepEqual(made.spec.selector.matchLabels, { app: 'api' });
    assert.equal(made.spec.template.spec.containers[0].image, 'nginx:1.27');
    assert.equal(made.spec.template.spec.containers[0].ports[0].containerPort, 8080);
    await ok(['-n', 'team-x', 'create', 'service', 'clusterip', 'api', '--tcp=80:8080']);
    const svc = JSON.parse(await ok(['-n', 'team-x', 'get', 'service', 'api', '-o', 'json']));
    assert.deepEqual([svc.spec.ports[0].port, svc.spec.ports[0].targetPort, svc.spec.selector.app], [80, 8080, 'api']);
    await ok(['-n', 'team-x', 'create', 'job', 'once', '--image=busybox:1.36', '--', 'echo', 'hello']);
    const job = JSON.parse(await ok(['-n', 'team-x', 'get', 'job', 'once', '-o', 'json']));
    assert.deepEqual(job.spec.template.spec.containers[0].command, ['echo', 'hello']);
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    // Deleting the namespace empties it first.
    await ok(['delete', 'namespace', 'team-x', '--timeout=30s']);
    assert.notEqual((await hub.kubectl(['get', 'namespace', 'team-x'])).code, 0);
    assert.equal(await hub.store.get('/registry/core/configmaps/team-x/three'), undefined);
  });

  it('keeps Secret data encrypted at rest', async () => {
    await ok(['create', 'secret', 'generic', 'db', '--from-literal=password=hunter2']);
    const stored = await hub.store.get('/registry/core/secrets/default/db');
    assert.ok(stored);
    assert.doesNotMatch(JSON.stringify(stored), /aHVudGVyMg|hunter2/, 'neither the value nor its base64 is in the store');
    const read = JSON.parse(await ok(['get', 'secret', 'db', '-o', 'json']));
    assert.equal(Buffer.from(read.data.password, 'base64').toString(), 'hunter2');
  });

  it('rejects schema violations with the field path', async () => {
    const bad = await hub.kubectl(['apply', '-f', '-'], 'apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: broken }\nspec: { replicas: many, selector: {}, template: {} }\n');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /replicas/);
    const unknown = await hub.kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: typo }\ndata: { a: b }\nbogusField: 1\n');
    assert.notEqual(unknown.code, 0, 'kubectl asks for strict field validation by default');
    assert.match(unknown.stderr, /bogusField/);
  });
});
