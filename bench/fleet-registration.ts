/**
 * Registration benchmark, part (a): how long from creating a simulated Cluster on the hub to its
 * Ready condition, for many clusters of many nodes each. The hub runs in this process with its
 * cluster controller; each Cluster makes the controller start a simulated member (its own API
 * machinery, nodes, and by default its controllers) and report its status. A few creators work
 * in a closed loop (create, wait for Ready, create the next), so each latency is one cluster's
 * own path rather than a queue behind a thousand others.
 *
 *     node bench/fleet-registration.ts [--clusters N] [--nodes M] [--concurrency C] [--no-member-controllers] [--json]
 *
 * Anchors: target p99 <= 100 ms; the paper reports about 1 s and Karmada 6.9 s for registering one
 * member cluster (different machines and a real network: read them as orders of magnitude).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub } from '../src/hub/hub.ts';
import { InProcessClient, Informer, controllerUser } from '../src/client/index.ts';
import { clusterController, fleetRefs } from '../src/fleet/index.ts';
import type { KubeObject } from '../src/machinery/object.ts';
import { benchArgs, emitReport, exposeGc, formatReport, machineInfo, numberArg, percentile, round, target, type BenchReport, type BenchResult } from './report.ts';

export interface RegistrationBenchOptions {
  /** Simulated Clusters to create. The target is 1,000. */
  clusters: number;
  /** Nodes per cluster. The target is 100. */
  nodes: number;
  /** Creators working at once (each waits for its cluster's Ready before the next). */
  concurrency: number;
  /** Instance type of the simulated nodes. */
  instanceType: string;
  /** Whether simulated members run their controllers (scheduler, kubelet, ...). */
  memberControllers: boolean;
  /** Clusters registered first and not measured (module loading, JIT). */
  warmup: number;
}

export const defaultRegistrationBenchOptions: RegistrationBenchOptions = { clusters: 100, nodes: 100, concurrency: 4, instanceType: 'm5.xlarge', memberControllers: true, warmup: 3 };

/**
 * Heap in use. `collect` first runs a full collection (with --expose-gc) for a figure without
 * garbage; only outside the measured loop, since a forced collection slows the next registration.
 */
function heapMiB(collect: boolean): number {
  if (collect) (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function isReady(obj: KubeObject): boolean {
  const conditions = (obj.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Runs the benchmark and returns its report; `progress` gets a line now and then. */
export async function runRegistrationBench(options: Partial<RegistrationBenchOptions> = {}, progress: (line: string) => void = () => undefined): Promise<BenchReport> {
  const o = { ...defaultRegistrationBenchOptions, ...options };
  const home = mkdtempSync(join(tmpdir(), 'nephele-bench-registration-'));
  const notes: string[] = [];
  if (!(globalThis as { gc?: unknown }).gc) notes.push('run without --expose-gc: heap figures include garbage');
  const hub = await startHub({
    home, port: 0, store: 'memory',
    // Heartbeats every 10 s as in production; the first one, at connection, is what turns a Cluster Ready.
    fleetControllers: [clusterController({ workers: Math.max(16, o.concurrency), ...(o.memberControllers ? {} : { simulated: { controllers: false } }) })],
  });
  const client = new InProcessClient(hub.registry, hub.catalog, controllerUser);
  const createdAt = new Map<string, number>();
  const latencies: number[] = [];
  const waiting = new Map<string, () => void>();
  const informer = new Informer(client, fleetRefs.clusters);
  const check = (obj: KubeObject): void => {
    const name = obj.metadata.name!;
    const done = waiting.get(name);
    if (done && isReady(obj)) {
      if (!name.startsWith('warmup-')) latencies.push(performance.now() - createdAt.get(name)!);
      waiting.delete(name);
      done();
    }
  };
  informer.onAdd(check);
  informer.onUpdate(check);
  informer.start();
  await informer.synced;
  let next = 0;
  const timedOut: string[] = [];
  let heapBefore = 0;
  let started = 0;
  const creator = (prefix: string, count: number) => async (): Promise<void> => {
    while (next < count) {
      const name = `${prefix}-${String(++next).padStart(5, '0')}`;
      const ready = new Promise<void>((resolve) => waiting.set(name, resolve));
      createdAt.set(name, performance.now());
      await client.create(fleetRefs.clusters, undefined, {
        apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Cluster', metadata: { name },
        spec: { mode: 'Simulated', simulation: { nodes: o.nodes, instanceTypes: [o.instanceType], seed: next } },
      });
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60_000).unref());
      if (await Promise.race([ready, timeout]) === 'timeout') {
        timedOut.push(name);
        waiting.delete(name);
      }
      if (next % 50 === 0) progress(`${latencies.length}/${o.clusters} clusters Ready, heap ${Math.round(heapMiB(false))} MiB (garbage included)`);
    }
  };
  await creator('warmup', o.warmup)();
  next = 0;
  heapBefore = heapMiB(true);
  started = performance.now();
  await Promise.all(Array.from({ length: o.concurrency }, creator('bench', o.clusters)));
  const elapsed = (performance.now() - started) / 1000;
  const heapAfter = heapMiB(true);
  if (timedOut.length) notes.push(`${timedOut.length} cluster(s) not Ready within 60 s: ${timedOut.slice(0, 5).join(', ')}${timedOut.length > 5 ? ', ...' : ''}`);
  progress('stopping the hub and its simulated members');
  await informer.stop();
  await hub.stop();
  rmSync(home, { recursive: true, force: true });
  const sorted = [...latencies].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  notes.push('reference points: the paper registers a member in about 1 s, Karmada in 6.9 s (other machines, real networks)');
  const results: BenchResult[] = [
    { name: 'Cluster created to Ready, p50', value: round(p50), unit: 'ms' },
    { name: 'Cluster created to Ready, p99', value: round(p99), unit: 'ms', anchor: target(p99, '<=', 100, 'ms') },
    { name: 'Cluster created to Ready, max', value: round(sorted[sorted.length - 1] ?? Number.NaN), unit: 'ms' },
    { name: 'clusters Ready', value: latencies.length, unit: 'clusters' },
    { name: 'registrations per second', value: round(latencies.length / elapsed), unit: '1/s' },
    { name: 'heap per registered cluster', value: round((heapAfter - heapBefore) / Math.max(1, latencies.length)), unit: 'MiB' },
  ];
  return { bench: 'fleet-registration', date: new Date().toISOString(), machine: machineInfo(), config: { ...o }, results, notes };
}

const usage = 'usage: node bench/fleet-registration.ts [--clusters N] [--nodes M] [--concurrency C] [--instance-type T] [--no-member-controllers] [--json] [--record]';

export async function main(argv: string[]): Promise<void> {
  const values = benchArgs(argv, {
    clusters: { type: 'string' },
    nodes: { type: 'string' },
    concurrency: { type: 'string' },
    'instance-type': { type: 'string' },
    'no-member-controllers': { type: 'boolean', default: false },
  }, usage);
  if (!values) return;
  const whole = (name: string, raw: string | undefined, fallback: number, min: number): number => numberArg(name, raw, fallback, { min, integer: true, usage });
  const d = defaultRegistrationBenchOptions;
  exposeGc();
  const report = await runRegistrationBench({
    clusters: whole('clusters', values.clusters, d.clusters, 1),
    nodes: whole('nodes', values.nodes, d.nodes, 0),
    concurrency: whole('concurrency', values.concurrency, d.concurrency, 1),
    instanceType: values['instance-type'] ?? d.instanceType,
    memberControllers: !values['no-member-controllers'],
  }, (line) => console.error(`[bench fleet-registration] ${line}`));
  await emitReport(report, { json: values.json, record: values.record });
}

if (import.meta.main) await main(process.argv.slice(2));
