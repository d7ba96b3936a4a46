/**
 * Distribution benchmark, part (c): from applying a Deployment on the hub to all its pods Running
 * on the members, as the hub sees it (the template's aggregated readyReplicas reaching its
 * replicas). The hub runs in this process with its fleet controllers and simulated members
 * (start latency zero, so the time is Nephele's own: scheduling, Works, server-side apply on the
 * members, the members' scheduler and kubelet model, status back). A few creators work in a
 * closed loop (apply, wait, apply the next).
 *
 *     node bench/fleet-distribution.ts [--deployments N] [--clusters C] [--nodes M] [--replicas R] [--concurrency K] [--json]
 *
 * Anchor: target p99 <= 500 ms; Karmada's published p99 for resource distribution is 1.3 s (a
 * different test: read it as an order of magnitude).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { startHub } from '../src/hub/hub.ts';
import { InProcessClient, Informer, controllerUser } from '../src/client/index.ts';
import { clusterController, fleetController, fleetRefs } from '../src/fleet/index.ts';
import { distributionControllers } from '../src/fleet/distribution/index.ts';
import type { KubeObject } from '../src/machinery/object.ts';
import { emitReport, machineInfo, numberArg, percentile, round, target, type BenchReport, type BenchResult } from './report.ts';

export interface DistributionBenchOptions {
  deployments: number;
  clusters: number;
  nodes: number;
  replicas: number;
  concurrency: number;
  warmup: number;
}

export const defaultDistributionBenchOptions: DistributionBenchOptions = { deployments: 1000, clusters: 4, nodes: 50, replicas: 4, concurrency: 4, warmup: 10 };

const deploymentsRef = { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true };
const namespacesRef = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };

export async function runDistributionBench(options: Partial<DistributionBenchOptions> = {}, progress: (line: string) => void = () => undefined): Promise<BenchReport> {
  const o = { ...defaultDistributionBenchOptions, ...options };
  const home = mkdtempSync(join(tmpdir(), 'nephele-bench-distribution-'));
  const hub = await startHub({
    home, port: 0, store: 'memory',
    fleetControllers: [clusterController({ heartbeatMs: 1000 }), fleetController(), ...distributionControllers()],
  });
  const client = new InProcessClient(hub.registry, hub.catalog, controllerUser);
  const notes: string[] = [
    'one process: hub, fleet controllers and every simulated member share the CPU',
    'measured to the hub template\'s aggregated readyReplicas, i.e. including the status path back from the members',
  ];
  try {
    for (let i = 0; i < o.clusters; i++) {
      await client.create(fleetRefs.clusters, undefined, {
        apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Cluster',
        metadata: { name: `member-${i}`, labels: { bench: 'true' } },
        spec: { mode: 'Simulated', provider: 'aws', region: 'us-east-1', simulation: { nodes: o.nodes, instanceTypes: ['m5.xlarge'], seed: i + 1, startLatencySeconds: 0 } },
      });
    }
    const clusters = new Informer(client, fleetRefs.clusters);
    clusters.start();
    await waitUntil(() => clusters.list().filter((c) => isReady(c)).length === o.clusters, 60_000, 'members Ready');
    await clusters.stop();
    progress(`${o.clusters} members of ${o.nodes} nodes Ready`);
    await client.create(namespacesRef, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'load' } });
    await client.create(fleetRefs.clusterDistributionPolicies, undefined, {
      apiVersion: 'policy.nephele.dev/v1alpha1', kind: 'ClusterDistributionPolicy', metadata: { name: 'bench' },
      spec: {
        resourceSelectors: [{ apiVersion: 'apps/v1', kind: 'Deployment', labelSelector: { matchLabels: { bench: 'true' } } }],
        placement: { clusterAffinity: { labelSelector: { matchLabels: { bench: 'true' } } }, replicaScheduling: { replicaSchedulingType: 'Divided', replicaDivisionPreference: 'Weighted', weightPreference: { dynamicWeight: 'AvailableReplicas' } } },
      },
    });
    const templates = new Informer(client, deploymentsRef, { namespace: 'load' });
    const waiting = new Map<string, () => void>();
    const check = (d: KubeObject) => {
      const ready = Number((d.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0);
      if (ready >= o.replicas) waiting.get(d.metadata.name!)?.();
    };
    templates.onAdd(check);
    templates.onUpdate(check);
    templates.start();
    await templates.synced;
    const latencies: number[] = [];
    let next = 0;
    let timedOut = 0;
    const total = o.warmup + o.deployments;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const name = `app-${i}`;
        const done = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 30_000);
          waiting.set(name, () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        const t0 = performance.now();
        await client.create(deploymentsRef, 'load', {
          apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { bench: 'true' } },
          spec: { replicas: o.replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'app:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } } },
        });
        const ok = await done;
        waiting.delete(name);
        if (!ok) timedOut++;
        else if (i >= o.warmup) latencies.push(performance.now() - t0);
        if (i > 0 && i % 100 === 0) progress(`${i}/${total} deployments distributed`);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    const elapsed = (performance.now() - started) / 1000;
    await templates.stop();
    if (timedOut) notes.push(`${timedOut} deployment(s) did not reach ready within 30 s and are left out of the percentiles`);
    const sorted = [...latencies].sort((a, b) => a - b);
    const p99 = percentile(sorted, 99);
    const results: BenchResult[] = [
      { name: 'template applied to all pods Running, p50', value: round(percentile(sorted, 50)), unit: 'ms' },
      { name: 'template applied to all pods Running, p99', value: round(p99), unit: 'ms', anchor: target(p99, '<=', 500, 'ms') },
      { name: 'template applied to all pods Running, max', value: round(sorted.at(-1) ?? Number.NaN), unit: 'ms' },
      { name: 'deployments distributed', value: latencies.length, unit: 'deployments' },
      { name: 'deployments per second', value: round(total / elapsed), unit: '1/s' },
    ];
    return { bench: 'fleet-distribution', date: new Date().toISOString(), machine: machineInfo(), config: { ...o }, results, notes };
  } finally {
    await hub.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

function isReady(obj: KubeObject): boolean {
  const conditions = (obj.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

async function waitUntil(probe: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const usage = 'usage: node bench/fleet-distribution.ts [--deployments N] [--clusters C] [--nodes M] [--replicas R] [--concurrency K] [--json]';

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: {
    json: { type: 'boolean', default: false }, deployments: { type: 'string' }, clusters: { type: 'string' }, nodes: { type: 'string' }, replicas: { type: 'string' }, concurrency: { type: 'string' },
  } });
  const n = (name: string, raw: string | undefined, fallback: number) => numberArg(name, raw, fallback, { min: 1, integer: true, usage });
  const d = defaultDistributionBenchOptions;
  const report = await runDistributionBench({
    deployments: n('deployments', values.deployments, d.deployments), clusters: n('clusters', values.clusters, d.clusters), nodes: n('nodes', values.nodes, d.nodes),
    replicas: n('replicas', values.replicas, d.replicas), concurrency: n('concurrency', values.concurrency, d.concurrency),
  }, (l) => console.error(`[bench fleet-distribution] ${l}`));
  await emitReport(report, { json: values.json });
}

if (import.meta.main) await main(process.argv.slice(2));
