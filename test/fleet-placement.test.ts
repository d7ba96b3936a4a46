/**
 * Placement end to end on simulated members of different sizes, read from the ResourceBindings
 * the hub writes: Duplicated, dynamic weights by available replicas, Aggregated, the cost and
 * latency objectives, data residency, and GPU constraints (4 A100s per replica).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, type TestHub } from '../src/testing/hub.ts';
import { kubectlFor } from '../src/testing/kubectl.ts';
import { waitFor } from '../src/testing/wait.ts';
import { clusterController, fleetController } from '../src/fleet/index.ts';
import { distributionControllers } from '../src/fleet/distribution/index.ts';

const cluster = (name: string, provider: string, region: string, nodes: number, type: string, extra = '') => `apiVersion: fleet.nephele.dev/v1alpha1
kind: Cluster
metadata: { name: ${name}, labels: { pool: ${name.startsWith('eu') ? 'eu' : 'us'} } }
spec:
  mode: Simulated
  provider: ${provider}
  region: ${region}
  simulation: { nodes: ${nodes}, instanceTypes: [${type}] }
${extra}`;

interface Target { name: string; replicas?: number }

describe('fleet placement on simulated members', () => {
  let hub: TestHub;
  let home: string;
  let ok: (args: string[], input?: string) => Promise<string>;
  let n = 0;

  /** Applies a Deployment with `replicas` and a policy with `placement`; resolves with the binding's clusters. */
  const place = async (replicas: number, placement: string, container = 'resources: { requests: { cpu: 500m, memory: 512Mi } }'): Promise<{ clusters: Target[]; explanation: Array<{ cluster: string; result: string; reason?: string }> }> => {
    const name = `app-${n++}`;
    await ok(['apply', '-f', '-'], `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: default }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { containers: [{ name: app, image: app:1, ${container} }] }
---
apiVersion: policy.nephele.dev/v1alpha1
kind: DistributionPolicy
metadata: { name: ${name}, namespace: default }
spec:
  resourceSelectors: [{ apiVersion: apps/v1, kind: Deployment, name: ${name} }]
  placement:
${placement.split('\n').map((l) => `    ${l}`).join('\n')}
`);
    return waitFor(`the binding of ${name}`, async () => {
      const r = await ok(['get', 'resourcebinding', '-n', 'default', `${name}-deployment`, '-o', 'json']).catch(() => undefined);
      const b = r ? JSON.parse(r) : undefined;
      return b?.status?.conditions?.some((c: { type: string }) => c.type === 'Scheduled') ? { clusters: b.spec.clusters ?? [], explanation: b.status.explanation ?? [] } : undefined;
    }, { timeoutMs: 20_000 });
  };
  const split = (clusters: Target[]) => Object.fromEntries(clusters.map((c) => [c.name, c.replicas]));

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'nephele-placement-'));
    hub = await startTestHub({ home, fleetControllers: [clusterController({ heartbeatMs: 200 }), fleetController(), ...distributionControllers({ resyncMs: 500 })] });
    ok = kubectlFor(hub.kubeconfigPath);
    await ok(['apply', '-f', '-'], [
      cluster('us-small', 'aws', 'us-east-1', 2, 'm5.large', '  latency: { us: 8, eu: 85 }'),
      cluster('us-big', 'aws', 'us-east-1', 6, 'm5.xlarge', '  latency: { us: 10, eu: 80 }'),
      cluster('us-gpu', 'aws', 'us-east-1', 1, 'p4d.24xlarge', '  latency: { us: 12, eu: 90 }\n  taints: [{ key: gpu, effect: NoSchedule }]'),
      cluster('eu-cheap', 'gcp', 'europe-west1', 4, 'n2-standard-4', '  latency: { us: 95, eu: 9 }\n  pricing: { cpuCoreHourUSD: 0.02 }'),
      cluster('eu-pricey', 'gcp', 'europe-west1', 4, 'n2-standard-4', '  latency: { us: 90, eu: 11 }\n  pricing: { cpuCoreHourUSD: 0.05 }'),
    ].join('\n---\n'));
    await waitFor('five members Ready with resource models', async () => {
      const items = JSON.parse(await ok(['get', 'clusters', '-o', 'json'])).items as Array<{ status?: { conditions?: Array<{ type: string; status: string }>; resourceModel?: unknown[] } }>;
      return items.length === 5 && items.every((c) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') && (c.status.resourceModel?.length ?? 0) > 0);
    }, { timeoutMs: 40_000 });
  });
  after(async () => {
    await hub?.close(true);
    rmSync(home, { recursive: true, force: true });
  });

  it('Duplicated gives every selected cluster all the replicas', async () => {
    const b = await place(3, 'clusterAffinity: { labelSelector: { matchLabels: { pool: us } }, exclude: [us-gpu] }\nreplicaScheduling: { replicaSchedulingType: Duplicated }');
    assert.deepEqual(split(b.clusters), { 'us-big': 3, 'us-small': 3 });
    assert.ok(b.explanation.some((e) => e.cluster === 'us-gpu' && e.result === 'Filtered'));
  });

  it('dynamic weights follow the replicas each cluster can still take', async () => {
    const b = await place(12, 'clusterAffinity: { clusterNames: [us-small, us-big] }\nreplicaScheduling: { replicaSchedulingType: Divided, replicaDivisionPreference: Weighted, weightPreference: { dynamicWeight: AvailableReplicas } }');
    const s = split(b.clusters);
    assert.equal((s['us-small'] ?? 0) + (s['us-big'] ?? 0), 12);
    // Six m5.xlarge hold about six times what two m5.large do.
    assert.ok((s['us-big'] ?? 0) >= 3 * (s['us-small'] ?? 0), JSON.stringify(s));
  });

  it('Aggregated packs the replicas onto as few clusters as hold them', async () => {
    const b = await place(4, 'clusterAffinity: { clusterNames: [us-small, us-big] }\nreplicaScheduling: { replicaSchedulingType: Divided, replicaDivisionPreference: Aggregated }');
    assert.equal(b.clusters.length, 1);
    assert.equal(b.clusters[0]!.replicas, 4);
  });

  it('a cost-weighted policy puts more replicas on the cheaper of two identical clusters', async () => {
    const b = await place(10, 'clusterAffinity: { labelSelector: { matchLabels: { pool: eu } } }\nreplicaScheduling: { replicaSchedulingType: Divided, replicaDivisionPreference: Weighted }\nobjectives: { cost: 1 }');
    const s = split(b.clusters);
    assert.ok((s['eu-cheap'] ?? 0) > (s['eu-pricey'] ?? 0), JSON.stringify(s));
    assert.equal((s['eu-cheap'] ?? 0) + (s['eu-pricey'] ?? 0), 10);
  });

  it('a latency-weighted policy favours the cluster nearest the users', async () => {
    const b = await place(10, 'clusterAffinity: { clusterNames: [us-big, eu-cheap] }\nreplicaScheduling: { replicaSchedulingType: Divided, replicaDivisionPreference: Weighted }\nobjectives: { latency: 1, userRegions: { eu: 1 } }');
    const s = split(b.clusters);
    assert.ok((s['eu-cheap'] ?? 0) > (s['us-big'] ?? 0), JSON.stringify(s));
  });

  it('data residency excludes clusters outside the allowed regions even when they are cheaper', async () => {
    const b = await place(6, 'clusterAffinity: { clusterNames: [eu-cheap, us-big] }\nreplicaScheduling: { replicaSchedulingType: Divided, replicaDivisionPreference: Weighted }\nobjectives: { cost: 1 }\nresidency: { regions: [us-east-1] }');
    assert.deepEqual(split(b.clusters), { 'us-big': 6 });
    const excluded = b.explanation.find((e) => e.cluster === 'eu-cheap');
    assert.equal(excluded?.result, 'Filtered');
    assert.match(excluded?.reason ?? '', /region|residency/i);
  });

  it('a GPU workload needing 4 A100s per replica lands only where they are free', async () => {
    const b = await place(2, 'clusterTolerations: [{ key: gpu, operator: Exists }]\nreplicaScheduling: { replicaSchedulingType: Divided, replicaDivisionPreference: Weighted }\nresourceConstraints: { gpu: { model: A100-40GB, count: 4 } }',
      'resources: { limits: { nvidia.com/gpu: "4" }, requests: { cpu: "8", memory: 32Gi } }');
    assert.deepEqual(split(b.clusters), { 'us-gpu': 2 });
    // Once both replicas run, the node's 8 A100s are taken: one more replica fits nowhere.
    await waitFor('us-gpu reporting its 8 A100s allocated', async () => JSON.parse(await ok(['get', 'cluster', 'us-gpu', '-o', 'json'])).status?.gpus?.['A100-40GB']?.allocated === 8, { timeoutMs: 20_000 });
    const more = await place(1, 'clusterTolerations: [{ key: gpu, operator: Exists }]\nreplicaScheduling: { replicaSchedulingType: Divided, replicaDivisionPreference: Weighted }\nresourceConstraints: { gpu: { model: A100-40GB, count: 4 } }',
      'resources: { limits: { nvidia.com/gpu: "4" }, requests: { cpu: "8", memory: 32Gi } }');
    assert.deepEqual(more.clusters, []);
    assert.match(more.explanation.find((e) => e.cluster === 'us-gpu')?.reason ?? '', /GPU|A100/);
  });
});
