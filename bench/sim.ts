/**
 * `npm run bench -- sim`: one simulated cluster brought from nothing to all pods Running. It
 * registers the nodes (m5.xlarge, in one pool), creates Deployments whose replicas add up to the
 * pod count, and waits until every pod is Running; it reports the wall time of each phase and the
 * heap the cluster holds per node and per pod (measured after a full GC, which needs
 * --expose-gc; bench/run.ts re-runs itself with it). Everything runs in this one process: the
 * API server, the store, the scheduler, the controllers and the kubelet model.
 */
import { performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { benchArgs, emitReport, exposeGc, machineInfo, numberArg, round, target, type BenchReport, type BenchResult } from './report.ts';
import { startSimulatedCluster } from '../src/sim/index.ts';
import { podsRef, deploymentsRef, namespacesRef } from '../src/sim/resources.ts';
import { Informer, type ObjectClient } from '../src/client/index.ts';

export interface SimBenchOptions {
  nodes: number;
  pods: number;
  /** Pods per Deployment. */
  perDeployment: number;
  /** Cluster seconds per real second. */
  speed: number;
}

export const defaultSimBenchOptions: SimBenchOptions = { nodes: 5000, pods: 20_000, perDeployment: 500, speed: 1 };

function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

export async function runSimBench(options: SimBenchOptions, progress: (line: string) => void): Promise<BenchReport> {
  const notes: string[] = [];
  if (!(globalThis as { gc?: unknown }).gc) notes.push('run without --expose-gc: heap figures include garbage');
  const baseline = heapMiB();
  const started = performance.now();
  const cluster = await startSimulatedCluster({
    name: 'bench',
    speed: options.speed,
    startLatencyMs: 2000,
    nodePools: [{ name: 'pool', instanceType: 'm5.xlarge', count: options.nodes }],
  });
  const nodesUp = performance.now();
  progress(`${options.nodes} nodes registered in ${((nodesUp - started) / 1000).toFixed(1)} s`);
  const afterNodes = heapMiB();
  // With SIM_BENCH_HEAP_SNAPSHOT=path, a snapshot with the nodes only goes to path.nodes, so the two can be compared.
  if (process.env.SIM_BENCH_HEAP_SNAPSHOT) writeHeapSnapshot(`${process.env.SIM_BENCH_HEAP_SNAPSHOT}.nodes`);
  try {
    await cluster.client.create(namespacesRef, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'load' } });
    const deployments = Math.ceil(options.pods / options.perDeployment);
    for (let d = 0; d < deployments; d++) {
      const replicas = Math.min(options.perDeployment, options.pods - d * options.perDeployment);
      await cluster.client.create(deploymentsRef, 'load', {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `load-${d}` },
        spec: {
          replicas,
          selector: { matchLabels: { app: `load-${d}` } },
          template: {
            metadata: { labels: { app: `load-${d}` } },
            spec: { containers: [{ name: 'app', image: 'app:1', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
          },
        },
      });
    }
    const allRunning = await waitAllRunning(cluster.client, options.pods, started, nodesUp, progress, notes);
    const running = await countRunning(cluster.client);
    const afterPods = heapMiB();
    // SIM_BENCH_HEAP_SNAPSHOT=path writes a heap snapshot of the cluster with every pod Running.
    if (process.env.SIM_BENCH_HEAP_SNAPSHOT) writeHeapSnapshot(process.env.SIM_BENCH_HEAP_SNAPSHOT);
    const total = (allRunning - started) / 1000;
    const results: BenchResult[] = [
      { name: 'nodes registered', value: round((nodesUp - started) / 1000), unit: 's' },
      { name: 'pods created to all Running', value: round((allRunning - nodesUp) / 1000), unit: 's' },
      { name: 'nothing to all pods Running', value: round(total), unit: 's', anchor: target(total, '<=', 60, 's') },
      { name: 'pods Running', value: running, unit: 'pods' },
      { name: 'pods/s to Running', value: round(running / ((allRunning - nodesUp) / 1000)), unit: 'pods/s' },
      { name: 'heap per node', value: round(((afterNodes - baseline) * 1024) / options.nodes), unit: 'KiB' },
      { name: 'heap per pod', value: round(((afterPods - afterNodes) * 1024) / options.pods), unit: 'KiB', anchor: target(((afterPods - afterNodes) * 1024) / options.pods, '<=', 2, 'KiB') },
      { name: 'heap in all', value: round(afterPods - baseline), unit: 'MiB' },
    ];
    return { bench: 'sim', date: new Date().toISOString(), machine: machineInfo(), config: { ...options }, results, notes };
  } finally {
    await cluster.stop();
  }
}

/**
 * Waits until `pods` pods are Running (and returns when, as `performance.now()`), as the API reports them through a watch (a list every poll
 * would cost the process more than the pods do at 20,000 pods). The watch's cache lives only
 * in here, so it is garbage once this returns and the heap measured after it is the cluster's.
 */
async function waitAllRunning(client: ObjectClient, pods: number, started: number, nodesUp: number, progress: (line: string) => void, notes: string[]): Promise<number> {
  const runningPods = new Informer(client, podsRef, { namespace: 'load', fieldSelector: 'status.phase=Running' });
  runningPods.start();
  try {
    await runningPods.synced;
    let lastReport = 0;
    for (;;) {
      const running = runningPods.size;
      const now = performance.now();
      if (now - lastReport > 5000) {
        progress(`${running}/${pods} pods Running after ${((now - nodesUp) / 1000).toFixed(0)} s`);
        lastReport = now;
      }
      if (running >= pods) return now;
      if (now - started > 15 * 60_000) {
        notes.push(`gave up after 15 minutes with ${running} of ${pods} pods Running`);
        return now;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await runningPods.stop();
  }
}

/** Pods Running in the load namespace, as the API lists them; a function of its own so the list is garbage when it returns. */
async function countRunning(client: ObjectClient): Promise<number> {
  const { items } = await client.list(podsRef, 'load', { fieldSelector: 'status.phase=Running' });
  return items.length;
}

const usage = 'usage: npm run -s bench -- sim [--json] [--record] [--nodes N] [--pods N] [--per-deployment N] [--speed X]';

/** `npm run bench -- sim`: a table, or with --json one JSON document on stdout; progress on stderr. */
export async function main(argv: string[]): Promise<void> {
  const values = benchArgs(argv, {
    nodes: { type: 'string' },
    pods: { type: 'string' },
    'per-deployment': { type: 'string' },
    speed: { type: 'string' },
  }, usage);
  if (!values) return;
  const d = defaultSimBenchOptions;
  const options: SimBenchOptions = {
    nodes: numberArg('nodes', values.nodes, d.nodes, { min: 1, usage }),
    pods: numberArg('pods', values.pods, d.pods, { min: 1, usage }),
    perDeployment: numberArg('per-deployment', values['per-deployment'], d.perDeployment, { min: 1, usage }),
    speed: numberArg('speed', values.speed, d.speed, { min: 0.001, usage }),
  };
  // The heap figures need a full collection before each reading.
  exposeGc();
  const report = await runSimBench(options, (line) => console.error(`[bench sim] ${line}`));
  await emitReport(report, { json: values.json, record: values.record });
}

if (import.meta.main) await main(process.argv.slice(2));
