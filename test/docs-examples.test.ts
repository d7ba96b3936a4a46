/**
 * The manifests in docs/examples apply cleanly with kubectl and produce what the docs say:
 * documentation that runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';

const examples = new URL('../docs/examples/', import.meta.url).pathname;

describe('docs/examples', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub();
  });
  after(async () => {
    await hub?.close();
  });

  const ok = async (args: string[]) => {
    const r = await hub.kubectl(args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  it('demo-fleet.yaml creates three clusters and a fleet', async () => {
    await ok(['apply', '-f', `${examples}demo-fleet.yaml`]);
    const clusters = JSON.parse(await ok(['get', 'clusters', '-l', 'nephele.dev/fleet=demo', '-o', 'json']));
    assert.deepEqual(clusters.items.map((c: { metadata: { name: string } }) => c.metadata.name).sort(), ['aws-us-east-1', 'azure-eastus', 'gcp-europe-west1']);
    assert.match(await ok(['get', 'fleet', 'demo']), /^demo\s/m);
  });

  it('web-app.yaml creates a namespace, a deployment and a service', async () => {
    await ok(['apply', '-f', `${examples}web-app.yaml`]);
    const deploy = JSON.parse(await ok(['-n', 'shop', 'get', 'deployment', 'web', '-o', 'json']));
    assert.equal(deploy.spec.replicas, 6);
    assert.equal(JSON.parse(await ok(['-n', 'shop', 'get', 'service', 'web', '-o', 'json'])).spec.ports[0].protocol, 'TCP');
  });

  it('web-placement.yaml divides shop/web 2:1:1 over the demo members, with the mirror in Europe', async () => {
    await ok(['apply', '-f', `${examples}web-placement.yaml`]);
    let binding: { spec?: { clusters?: Array<{ name: string; replicas: number }> } } = {};
    for (let i = 0; i < 300 && !binding.spec?.clusters?.length; i++) {
      const r = await hub.kubectl(['-n', 'shop', 'get', 'resourcebinding', 'web-deployment', '-o', 'json']);
      if (r.code === 0) binding = JSON.parse(r.stdout);
      await new Promise((done) => setTimeout(done, 100));
    }
    const split = Object.fromEntries((binding.spec?.clusters ?? []).map((c) => [c.name, c.replicas]));
    assert.equal(split['aws-us-east-1'], 3, JSON.stringify(split));
    assert.equal((split['gcp-europe-west1'] ?? 0) + (split['azure-eastus'] ?? 0), 3);
    const work = JSON.parse(await ok(['-n', 'nephele-cluster-gcp-europe-west1', 'get', 'work', 'shop.web-deployment', '-o', 'json']));
    assert.equal(work.spec.workload.manifests[0].spec.template.spec.containers[0].image, 'mirror.europe-west1.example/nginx:1.27');
  });

  it('budget-crd.yaml registers a kind and budget.yaml creates one, with schema defaults', async () => {
    await ok(['apply', '-f', `${examples}budget-crd.yaml`]);
    await ok(['wait', '--for=condition=Established', '--timeout=20s', 'crd/budgets.finops.example.com']);
    for (let i = 0; i < 50 && !(await hub.kubectl(['api-resources', '--api-group=finops.example.com'])).stdout.includes('budgets'); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await ok(['apply', '-f', `${examples}budget.yaml`]);
    assert.match(await ok(['get', 'budgets']), /^team-a\s+500\s+EUR/m);
    const defaulted = await hub.kubectl(['create', '-f', '-'], 'apiVersion: finops.example.com/v1\nkind: Budget\nmetadata: { name: team-b }\nspec: { monthlyLimit: 10 }\n');
    assert.equal(defaulted.code, 0, defaulted.stderr);
    assert.equal(JSON.parse(await ok(['get', 'budget', 'team-b', '-o', 'json'])).spec.currency, 'USD', 'the schema default is filled in');
  });
});
