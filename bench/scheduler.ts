/**
 * `npm run bench -- scheduler`: the in-cluster scheduler library on the shapes of kube-scheduler's
 * scheduler_perf workloads (SchedulingBasic, PreemptionAsync, SchedulingPodAntiAffinity,
 * TopologySpreading), each on 5,000 nodes. Pods are fed through the Scheduler's informer methods
 * and bound by an in-memory Binder that echoes each bind back as a pod update, as an informer
 * would: the pods/s are the library's, with no API server in the loop. Each workload runs `--runs`
 * times (3), each run on a fresh scheduler; the median pods/s is reported beside kube-scheduler's
 * published threshold for it as a target anchor, with the slowest and fastest runs beside it, since
 * on a shared machine one run can be half as fast as the next.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import type { KubeObject } from '../src/machinery/object.ts';
import { makeNode, makePod, Scheduler, type Binder } from '../src/scheduler/index.ts';
import { benchArgs, emitReport, machineInfo, round, target, type BenchReport, type BenchResult } from './report.ts';

interface Workload {
  name: string;
  /** kube-scheduler's scheduler_perf threshold for the workload, pods/s. */
  threshold: number;
  nodes: number;
  nodeTemplate: (i: number) => KubeObject;
  initPods: number;
  initTemplate: (i: number) => KubeObject;
  measurePods: number;
  measureTemplate: (i: number) => KubeObject;
}

const zones = ['zone-a', 'zone-b', 'zone-c'];
const defaultNode = (i: number) => makeNode().name(`node-${i}`).labels({ 'topology.kubernetes.io/zone': zones[i % zones.length]! }).capacity({ cpu: '4', memory: '32Gi', pods: '110' }).obj();
const defaultPod = (prefix: string) => (i: number) => makePod().name(`${prefix}-${i}`).requests({ cpu: '100m', memory: '500Mi' }).obj();

function workloads(scale: number): Workload[] {
  const s = (n: number) => Math.max(1, Math.round(n * scale));
  return [
    {
      name: 'SchedulingBasic', threshold: 680, nodes: s(5000), nodeTemplate: defaultNode,
      initPods: s(1000), initTemplate: defaultPod('init'),
      measurePods: s(10000), measureTemplate: defaultPod('measured'),
    },
    {
      name: 'PreemptionAsync', threshold: 570, nodes: s(5000), nodeTemplate: defaultNode,
      initPods: s(20000), initTemplate: (i) => makePod().name(`low-${i}`).priority(1).requests({ cpu: '900m', memory: '500Mi' }).obj(),
      measurePods: s(5000), measureTemplate: (i) => makePod().name(`high-${i}`).priority(10).requests({ cpu: '3000m', memory: '500Mi' }).obj(),
    },
    {
      name: 'SchedulingPodAntiAffinity', threshold: 60, nodes: s(5000), nodeTemplate: defaultNode,
      initPods: s(1000), initTemplate: (i) => makePod().name(`init-${i}`).labels({ color: 'green' }).requests({ cpu: '100m', memory: '500Mi' }).podAffinity('podAntiAffinity', { color: 'green' }, 'kubernetes.io/hostname').obj(),
      measurePods: s(1000), measureTemplate: (i) => makePod().name(`measured-${i}`).labels({ color: 'green' }).requests({ cpu: '100m', memory: '500Mi' }).podAffinity('podAntiAffinity', { color: 'green' }, 'kubernetes.io/hostname').obj(),
    },
    {
      name: 'TopologySpreading', threshold: 460, nodes: s(5000), nodeTemplate: defaultNode,
      initPods: s(5000), initTemplate: defaultPod('init'),
      measurePods: s(5000), measureTemplate: (i) => makePod().name(`measured-${i}`).labels({ color: 'blue' }).requests({ cpu: '100m', memory: '500Mi' }).spread(5, 'topology.kubernetes.io/zone', { color: 'blue' }).obj(),
    },
  ];
}

/** A Binder over maps in memory that echoes binds and deletions back to the scheduler, as its informers would. */
class MemoryBinder implements Binder {
  scheduler!: Scheduler;
  bound = 0;
  deleted = 0;
  #target = Infinity;
  #done: (() => void) | undefined;

  async bind(pod: KubeObject, nodeName: string): Promise<void> {
    const updated = { ...pod, spec: { ...(pod.spec as Record<string, unknown>), nodeName } };
    this.scheduler.updatePod(pod, updated);
    if (++this.bound >= this.#target) this.#done?.();
  }

  async deletePod(victim: KubeObject): Promise<void> {
    this.deleted++;
    this.scheduler.deletePod(victim);
  }

  /** Resolves when `count` binds in all have happened. */
  until(count: number): Promise<void> {
    if (this.bound >= count) return Promise.resolve();
    this.#target = count;
    return new Promise((resolve) => (this.#done = resolve));
  }
}

/** Profiles what `fn` runs with the V8 inspector and writes it to `dir/NAME.cpuprofile` (open in Chrome DevTools). */
async function profiled<T>(dir: string | undefined, name: string, fn: () => Promise<T>): Promise<T> {
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    session.disconnect();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
  }
}

async function runWorkload(w: Workload, log: (line: string) => void, cpuProfDir?: string): Promise<{ podsPerSecond: number; seconds: number; cpuSeconds: number; preempted: number; outcomes: Record<string, number> }> {
  const binder = new MemoryBinder();
  const outcomes: Record<string, number> = {};
  const scheduler = new Scheduler({ binder, onOutcome: (o) => (outcomes[o.result] = (outcomes[o.result] ?? 0) + 1) });
  binder.scheduler = scheduler;
  for (let i = 0; i < w.nodes; i++) scheduler.addNode(w.nodeTemplate(i));
  scheduler.run();
  const initStart = performance.now();
  for (let i = 0; i < w.initPods; i++) scheduler.addPod(w.initTemplate(i));
  await binder.until(w.initPods);
  await scheduler.idle();
  log(`${w.name}: ${w.initPods} initial pods placed in ${((performance.now() - initStart) / 1000).toFixed(1)} s`);
  const measured = w.measureTemplate;
  const pods = Array.from({ length: w.measurePods }, (_, i) => measured(i));
  const deletedBefore = binder.deleted;
  for (const k of Object.keys(outcomes)) delete outcomes[k];
  const { seconds, cpuSeconds } = await profiled(cpuProfDir, w.name, async () => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (const p of pods) scheduler.addPod(p);
    await binder.until(w.initPods + w.measurePods);
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  });
  await scheduler.stop();
  const podsPerSecond = w.measurePods / seconds;
  log(`${w.name}: ${w.measurePods} measured pods in ${seconds.toFixed(2)} s (${cpuSeconds.toFixed(2)} s of CPU) = ${podsPerSecond.toFixed(0)} pods/s; attempts: ${JSON.stringify(outcomes)}`);
  return { podsPerSecond, seconds, cpuSeconds, preempted: binder.deleted - deletedBefore, outcomes: { ...outcomes } };
}

const usage = `usage: npm run -s bench -- scheduler [--json] [--record] [--workloads SchedulingBasic,PreemptionAsync,...] [--scale FRACTION] [--runs N] [--cpu-prof DIR]
  --workloads   run only these workloads (comma-separated), e.g. --workloads PreemptionAsync
  --scale       shrink (or grow) every workload's node and pod counts by this factor
  --runs        runs of each workload (3); the median is reported, with the slowest and fastest
  --cpu-prof    write a V8 CPU profile of each workload's first measured phase to DIR/WORKLOAD.cpuprofile`;

/** Runs the benchmark with `argv` (the arguments after the benchmark's name) and prints the report. */
export async function main(argv: string[]): Promise<void> {
  const values = benchArgs(argv, {
    workloads: { type: 'string' },
    scale: { type: 'string' },
    runs: { type: 'string' },
    'cpu-prof': { type: 'string' },
  }, usage);
  if (!values) return;
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 10) {
    console.error(`--scale must be a number above 0 and at most 10, got "${values.scale}"`);
    process.exit(2);
  }
  const runs = values.runs === undefined ? 3 : Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) {
    console.error(`--runs must be a whole number from 1 to 20, got "${values.runs}"`);
    process.exit(2);
  }
  const all = workloads(scale);
  const names = values.workloads ? values.workloads.split(',').map((s) => s.trim()).filter(Boolean) : all.map((w) => w.name);
  for (const n of names) {
    if (!all.some((w) => w.name === n)) {
      console.error(`--workloads: unknown workload "${n}"; available: ${all.map((w) => w.name).join(', ')}`);
      process.exit(2);
    }
  }
  if (values['cpu-prof'] === '') {
    console.error(`--cpu-prof needs a directory to write profiles to\n${usage}`);
    process.exit(2);
  }
  const log = (line: string) => console.error(`[bench scheduler] ${line}`);
  const machine = machineInfo();
  const started = new Date();
  const results: BenchResult[] = [];
  const notes = [
    'pods/s are the scheduler library\'s own: the Binder is in memory and echoes binds back as informer updates; no API server is in the loop',
    'anchors are kube-scheduler\'s scheduler_perf thresholds for the same workload shapes (5,000 nodes)',
  ];
  for (const w of all.filter((x) => names.includes(x.name))) {
    const rates: number[] = [];
    for (let run = 1; run <= runs; run++) {
      const r = await runWorkload(w, log, run === 1 ? values['cpu-prof'] : undefined);
      rates.push(r.podsPerSecond);
      notes.push(`${w.name} run ${run}: ${round(r.podsPerSecond)} pods/s, ${r.seconds.toFixed(2)} s measured, ${r.cpuSeconds.toFixed(2)} s of it on the CPU; attempts by outcome ${JSON.stringify(r.outcomes)}${r.preempted ? `, ${r.preempted} victims deleted` : ''}`);
    }
    rates.sort((a, b) => a - b);
    const median = rates.length % 2 === 1 ? rates[(rates.length - 1) / 2]! : (rates[rates.length / 2 - 1]! + rates[rates.length / 2]!) / 2;
    const label = `${w.name} (${w.nodes} nodes, ${w.initPods} initial, ${w.measurePods} measured pods)`;
    results.push({ name: runs > 1 ? `${label}, median of ${runs}` : label, value: round(median), unit: 'pods/s', anchor: target(median, '>=', w.threshold, 'pods/s') });
    if (runs > 1) {
      results.push({ name: `${w.name} slowest run`, value: round(rates[0]!), unit: 'pods/s' }, { name: `${w.name} fastest run`, value: round(rates.at(-1)!), unit: 'pods/s' });
    }
  }
  const report: BenchReport = {
    bench: 'scheduler',
    date: started.toISOString(),
    machine,
    config: { scale, runs, workloads: names, ...(values['cpu-prof'] ? { cpuProfiles: values['cpu-prof'] } : {}) },
    results,
    notes,
  };
  await emitReport(report, { json: values.json, record: values.record });
}

if (import.meta.main) await main(process.argv.slice(2));
