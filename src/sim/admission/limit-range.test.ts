import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { InProcessClient } from '../../client/index.ts';
import { startSimulatedCluster, type SimulatedCluster } from '../cluster.ts';
import { record } from '../pods.ts';
import { LimitRangeDefaulting, LimitRangeValidation, limitItems, limitRangerAnnotation } from './limit-range.ts';
import { runKubectl } from '../../testing/kubectl.ts';

const limitRange = `
apiVersion: v1
kind: LimitRange
metadata: { name: cpu-mem, namespace: lr }
spec:
  limits:
    - type: Container
      default: { cpu: 500m, memory: 256Mi }
      defaultRequest: { cpu: 100m }
      min: { cpu: 100m }
      max: { cpu: "1" }
      maxLimitRequestRatio: { cpu: "5" }
    - type: Pod
      max: { memory: 1Gi }
`;

const run = (name: string, resources?: Record<string, unknown>, containers?: unknown[]) => [
  'run', name, '-n', 'lr', '--image=nginx:1.27', '--restart=Never',
  `--overrides=${JSON.stringify({ spec: { containers: containers ?? [{ name, image: 'nginx:1.27', ...(resources ? { resources } : {}) }] } })}`,
];

describe('LimitRange admission', () => {
  let cluster: SimulatedCluster;
  let k: (args: string[], input?: string) => ReturnType<typeof runKubectl>;

  before(async () => {
    cluster = await startSimulatedCluster({ name: 'limits', controllers: false });
    const client = new InProcessClient(cluster.registry, cluster.catalog);
    cluster.admission.addMutating(new LimitRangeDefaulting(client));
    cluster.admission.addValidating(new LimitRangeValidation(client));
    k = (args, input) => runKubectl(cluster.kubeconfigPath, args, input);
    assert.equal((await k(['create', 'namespace', 'lr'])).code, 0);
    const applied = await k(['apply', '-f', '-'], limitRange);
    assert.equal(applied.code, 0, applied.stderr);
  });
  after(async () => { await cluster.stop(); });

  it('fills in default limits and requests, as kubectl get -o yaml shows', async () => {
    assert.equal((await k(run('plain'))).code, 0);
    const got = await k(['get', 'pod', 'plain', '-n', 'lr', '-o', 'yaml']);
    const pod = parse(got.stdout) as { metadata: { annotations: Record<string, string> }; spec: { containers: Array<{ resources: unknown }> } };
    assert.deepEqual(pod.spec.containers[0]!.resources, {
      limits: { cpu: '500m', memory: '256Mi' },
      // memory has no defaultRequest: it defaults to the default limit.
      requests: { cpu: '100m', memory: '256Mi' },
    });
    assert.equal(pod.metadata.annotations[limitRangerAnnotation], 'LimitRanger plugin set: cpu, memory request for container plain; cpu, memory limit for container plain');
  });

  it('takes a container\'s own limit as its request before any defaultRequest', async () => {
    assert.equal((await k(run('own', { limits: { cpu: '200m' } }))).code, 0);
    const pod = parse((await k(['get', 'pod', 'own', '-n', 'lr', '-o', 'yaml'])).stdout) as { spec: { containers: Array<{ resources: Record<string, unknown> }> } };
    assert.deepEqual(record(pod.spec.containers[0]!.resources.requests), { cpu: '200m', memory: '256Mi' });
  });

  it('refuses a request under the minimum', async () => {
    const refused = await k(run('small', { requests: { cpu: '50m' }, limits: { cpu: '100m' } }));
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Error from server \(Forbidden\): pods "small" is forbidden: minimum cpu usage per Container is 100m, but request is 50m/);
  });

  it('refuses a limit over the maximum and a limit-to-request ratio over the bound', async () => {
    const big = await k(run('big', { requests: { cpu: '800m' }, limits: { cpu: '2' } }));
    assert.match(big.stderr, /pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2/);
    const ratio = await k(run('spiky', { requests: { cpu: '100m' }, limits: { cpu: '1' } }));
    assert.match(ratio.stderr, /pods "spiky" is forbidden: cpu max limit to request ratio per Container is 5, but provided ratio is 10\.000000/);
  });

  it('checks Pod limits against the sum of the containers', async () => {
    const containers = ['a', 'b'].map((name) => ({ name, image: 'nginx:1.27', resources: { limits: { cpu: '200m', memory: '600Mi' } } }));
    const refused = await k(run('pair', undefined, containers));
    assert.match(refused.stderr, /pods "pair" is forbidden: maximum memory usage per Pod is 1Gi, but limit is 1200Mi/);
  });
});

describe('LimitRange items', () => {
  it('default to max, and default requests to defaults then min, for Container items', () => {
    const [item] = limitItems({ apiVersion: 'v1', kind: 'LimitRange', metadata: {}, spec: { limits: [{ type: 'Container', max: { cpu: '2', memory: '1Gi' }, default: { memory: '512Mi' }, min: { cpu: '50m' } }] } });
    assert.deepEqual(item!.default, { memory: '512Mi', cpu: '2' });
    assert.deepEqual(item!.defaultRequest, { memory: '512Mi', cpu: '2' });
  });
});
