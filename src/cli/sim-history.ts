/**
 * `nephele sim history`: the simulated history of a cluster's metrics as OpenMetrics text, for
 * `promtool tsdb create-blocks-from openmetrics FILE DIR` to backfill a real Prometheus with.
 *
 * The history is what the cluster's metrics endpoints would have served at every step of the last
 * N days: cAdvisor's `container_cpu_usage_seconds_total` and `container_memory_working_set_bytes`,
 * and the kube-state-metrics series right-sizing queries join with (`kube_pod_owner`,
 * `kube_pod_container_resource_requests` and `_limits`, and the nodes' capacity and allocatable).
 * It covers the cluster's running containers. A container that started within the window is taken
 * to have run before too, as an earlier incarnation that restarted when the real one started: its
 * CPU counter resets there, as after a real restart, so the history joins the live endpoint.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { resolve, join } from 'node:path';
import type { Writable } from 'node:stream';
import { InvalidArgumentError, type Command } from 'commander';
import type { KubeObject } from '../machinery/object.ts';
import { HttpClient } from '../client/index.ts';
import { UsageModel } from '../sim/usage.ts';
import { nodesRef, podsRef } from '../sim/resources.ts';
import { clusterHome } from '../sim/fleet.ts';
import {
  containerResourceSamples, formatLabels, nodeResourceSamples, formatValue, podCgroupLabels, podOwnerSamples,
  runningContainers, type Labels, type RunningContainer, type Sample,
} from '../sim/metrics/index.ts';

const dayMs = 86_400_000;

export interface SimHistoryOptions {
  /** The pods to write the history of (their running containers), with owners, requests and limits. */
  pods: readonly KubeObject[];
  /** Nodes, for their capacity and allocatable series. */
  nodes?: readonly KubeObject[];
  /** How many days back from `end`. */
  days: number;
  /** Seconds between samples (default 60). */
  stepSeconds?: number;
  /** The last instant (ms; default now), rounded down to the step. */
  end?: number;
  /** The usage model (default: seed 1, as simulated clusters' default). */
  usage?: UsageModel;
  /** A file to write, or a stream (left open). */
  out: string | Writable;
}

export interface SimHistorySummary {
  series: number;
  samples: number;
  bytes: number;
  /** First and last sample times (ms). */
  from: number;
  to: number;
}

/** Buffers text and writes it in large chunks, waiting when the stream asks to. */
class ChunkWriter {
  readonly #out: Writable;
  #buffer: string[] = [];
  #size = 0;
  bytes = 0;

  constructor(out: Writable) {
    this.#out = out;
  }

  async line(text: string): Promise<void> {
    this.#buffer.push(text);
    this.#size += text.length + 1;
    if (this.#size >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#buffer.length === 0) return;
    const chunk = `${this.#buffer.join('\n')}\n`;
    this.#buffer = [];
    this.#size = 0;
    this.bytes += Buffer.byteLength(chunk);
    if (!this.#out.write(chunk)) await once(this.#out, 'drain');
  }
}

function validate(options: SimHistoryOptions): { step: number; from: number; to: number } {
  const step = (options.stepSeconds ?? 60) * 1000;
  if (!Number.isFinite(options.days) || options.days <= 0) throw new Error(`--days ${options.days}: give a positive number of days`);
  if (!Number.isInteger(step) || step < 1000) throw new Error(`--step ${options.stepSeconds}s: give a whole number of seconds, at least 1s`);
  if (options.days * dayMs / step > 10_000_000) throw new Error(`--days ${options.days} at --step ${step / 1000}s is more than 10 million samples a series; use a longer step`);
  const end = options.end ?? Date.now();
  const to = Math.floor(end / step) * step;
  const from = to - Math.floor((options.days * dayMs) / step) * step;
  return { step, from, to };
}

/**
 * Writes the OpenMetrics history of `pods` and `nodes` from `end - days` to `end` at `stepSeconds`,
 * ending with `# EOF`. Each family's series are written together, each series in time order.
 * Throws (before writing anything) when a pod's usage annotations do not parse.
 */
export async function writeSimHistory(options: SimHistoryOptions): Promise<SimHistorySummary> {
  const { step, from, to } = validate(options);
  const usage = options.usage ?? new UsageModel({ seed: 1 });
  const containers = runningContainers(options.pods);
  for (const c of containers) usage.describeContainer(c.pod, c.name);
  const times: number[] = [];
  for (let t = from; t <= to; t += step) times.push(t);
  const stamps = times.map((t) => ` ${formatValue(t / 1000)}`);

  const ownStream = typeof options.out === 'string';
  const stream: Writable = typeof options.out === 'string' ? createWriteStream(resolve(options.out)) : options.out;
  const w = new ChunkWriter(stream);
  let series = 0;
  const writeSeries = async (name: string, labels: Labels, values: ArrayLike<number>) => {
    series++;
    const prefix = `${name}${formatLabels(labels)} `;
    for (let i = 0; i < values.length; i++) await w.line(`${prefix}${formatValue(values[i]!)}${stamps[i]}`);
  };
  const writeConstant = async (name: string, samples: readonly Sample[]) => {
    for (const s of samples) await writeSeries(name, s.labels, new Array<number>(times.length).fill(s.value));
  };
  const byPod = groupByPod(containers);

  try {
    await w.line('# TYPE container_cpu_usage_seconds counter');
    await w.line('# HELP container_cpu_usage_seconds Cumulative cpu time consumed in seconds.');
    for (const group of byPod) {
      const podTotal = new Float64Array(times.length);
      for (const c of group) {
        const values = cpuCounter(usage, c, times);
        for (let i = 0; i < values.length; i++) podTotal[i]! += values[i]!;
        await writeSeries('container_cpu_usage_seconds_total', { ...c.labels, cpu: 'total' }, values);
      }
      await writeSeries('container_cpu_usage_seconds_total', { ...podCgroupLabels(group[0]!.pod), cpu: 'total' }, podTotal);
    }
    await w.line('# TYPE container_memory_working_set_bytes gauge');
    await w.line('# HELP container_memory_working_set_bytes Current working set in bytes.');
    for (const group of byPod) {
      const podTotal = new Float64Array(times.length);
      for (const c of group) {
        const values = times.map((t) => {
          const memory = usage.containerUsage(c.pod, c.name, t).memory;
          return c.memoryLimit === undefined ? memory : Math.min(memory, c.memoryLimit);
        });
        for (let i = 0; i < values.length; i++) podTotal[i]! += values[i]!;
        await writeSeries('container_memory_working_set_bytes', c.labels, values);
      }
      await writeSeries('container_memory_working_set_bytes', podCgroupLabels(group[0]!.pod), podTotal);
    }
    const pods = byPod.map((g) => g[0]!.pod);
    const nodes = [...(options.nodes ?? [])].sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
    const gauges: Array<[string, string, Sample[]]> = [
      ['kube_pod_owner', 'Information about the Pod\'s owner.', pods.flatMap(podOwnerSamples)],
      ['kube_pod_container_resource_requests', 'The number of requested request resource by a container.', pods.flatMap((p) => containerResourceSamples(p, 'requests'))],
      ['kube_pod_container_resource_limits', 'The number of requested limit resource by a container.', pods.flatMap((p) => containerResourceSamples(p, 'limits'))],
      ['kube_node_status_capacity', 'The capacity for different resources of a node.', nodes.flatMap((n) => nodeResourceSamples(n, 'capacity'))],
      ['kube_node_status_allocatable', 'The allocatable for different resources of a node that are available for scheduling.', nodes.flatMap((n) => nodeResourceSamples(n, 'allocatable'))],
    ];
    for (const [name, help, samples] of gauges) {
      await w.line(`# TYPE ${name} gauge`);
      await w.line(`# HELP ${name} ${help}`);
      await writeConstant(name, samples);
    }
    await w.line('# EOF');
    await w.flush();
  } finally {
    if (ownStream) {
      stream.end();
      await once(stream, 'close');
    }
  }
  return { series, samples: series * times.length, bytes: w.bytes, from, to };
}

function groupByPod(containers: readonly RunningContainer[]): RunningContainer[][] {
  const groups: RunningContainer[][] = [];
  for (const c of containers) {
    const last = groups.at(-1);
    if (last && last[0]!.pod === c.pod) last.push(c);
    else groups.push([c]);
  }
  return groups;
}

/**
 * The CPU counter of `c` at each of `times`: CPU used (capped at the limit) since the container
 * started, or, before it started, since a notional earlier start at the first instant.
 */
function cpuCounter(usage: UsageModel, c: RunningContainer, times: readonly number[]): Float64Array {
  const values = new Float64Array(times.length);
  const first = times[0]!;
  // Started before the window: the counter already holds what the container used since then.
  let total = c.started <= first ? usage.cpuAccountingBetween(c.pod, c.name, c.started, first, c.cpuLimit).usedSeconds : 0;
  let last = first;
  for (let i = 0; i < times.length; i++) {
    const t = times[i]!;
    if (last < c.started && t >= c.started) {
      // The real container starts here: the counter restarts from zero, as after a restart.
      total = 0;
      last = c.started;
    }
    total += usage.cpuAccountingBetween(c.pod, c.name, last, t, c.cpuLimit).usedSeconds;
    last = t;
    values[i] = total;
  }
  return values;
}

/** Parses `60s`, `5m`, `1h` or a plain number of seconds. */
export function parseStep(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`"${text}" is not a step: use seconds, minutes or hours, as 15s, 5m or 1h`);
  const seconds = Number(match[1]) * (match[2] === 'h' ? 3600 : match[2] === 'm' ? 60 : 1);
  if (!Number.isInteger(seconds) || seconds < 1) throw new InvalidArgumentError(`"${text}" is not a whole number of seconds (at least 1s)`);
  return seconds;
}

function parseDays(text: string): number {
  const days = Number(text);
  if (!Number.isFinite(days) || days <= 0 || days > 400) throw new InvalidArgumentError(`"${text}" is not a number of days between 0 and 400`);
  return days;
}

function parseSeed(text: string): number {
  if (!/^-?\d{1,15}$/.test(text)) throw new InvalidArgumentError(`"${text}" is not an integer seed`);
  return Number(text);
}

function parseTime(text: string): number {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError(`"${text}" is not a time: use RFC 3339, as 2026-01-15T12:00:00Z`);
  return ms;
}

interface SimHistoryFlags {
  cluster: string;
  days: number;
  home: string;
  kubeconfig?: string;
  out?: string;
  step: number;
  seed: number;
  end?: number;
}

/** Reads the cluster's pods and nodes through its kubeconfig (the context named after the cluster, else the current one). */
async function readCluster(kubeconfig: string, cluster: string): Promise<{ pods: KubeObject[]; nodes: KubeObject[] }> {
  let client: HttpClient;
  try {
    client = HttpClient.fromKubeconfig(kubeconfig, cluster);
  } catch (err) {
    if (!/has no context/.test(String((err as Error).message))) throw err;
    client = HttpClient.fromKubeconfig(kubeconfig);
  }
  try {
    const [pods, nodes] = await Promise.all([client.list(podsRef, undefined), client.list(nodesRef, undefined)]);
    return { pods: pods.items, nodes: nodes.items };
  } finally {
    client.close();
  }
}

/** Adds `sim history` to `program` (under its `sim` command, made if absent). */
export function registerSimHistory(program: Command): Command {
  const sim = program.commands.find((c) => c.name() === 'sim') ?? program.command('sim').description('work with simulated member clusters');
  return sim.command('history')
    .description([
      'write the simulated metrics history of a running simulated cluster as OpenMetrics, for',
      '`promtool tsdb create-blocks-from openmetrics FILE DIR` to backfill Prometheus with.',
      'The cluster\'s pods and nodes are read through its kubeconfig: HOME/clusters/NAME/kubeconfig',
      '(as `nephele start` and `nephele sim up` write it), or --kubeconfig FILE for any running',
      'simulated cluster. The history ends now; for a cluster whose clock runs faster than real',
      'time, pass its time with --end.',
    ].join(' '))
    .requiredOption('--cluster <name>', 'the simulated cluster (its kubeconfig context)')
    .requiredOption('--days <n>', 'how many days of history, up to now', parseDays)
    .option('--home <dir>', 'the Nephele home the cluster runs under (its kubeconfig is HOME/clusters/NAME/kubeconfig)', '.nephele')
    .option('--kubeconfig <file>', 'the cluster\'s kubeconfig (overrides --home)')
    .option('--out <file>', 'file to write (default: standard output)')
    .option('--step <duration>', 'time between samples: 15s, 60s, 5m ...', parseStep, 60)
    .option('--seed <n>', 'the cluster\'s usage-model seed (`sim up --seed S` gives sim-i the seed S+i-1; default 1)', parseSeed, 1)
    .option('--end <time>', 'last instant of the history, RFC 3339 (default: now)', parseTime)
    .action(async (flags: SimHistoryFlags) => {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(flags.cluster)) throw new InvalidArgumentError(`--cluster ${JSON.stringify(flags.cluster)} is not a cluster name (a DNS label)`);
      const kubeconfig = resolve(flags.kubeconfig ?? join(clusterHome(flags.home, flags.cluster), 'kubeconfig'));
      let objects: { pods: KubeObject[]; nodes: KubeObject[] };
      try {
        objects = await readCluster(kubeconfig, flags.cluster);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new Error(`no kubeconfig at ${kubeconfig}: is cluster ${flags.cluster} running? (npx nephele sim up --home ${flags.home}), or pass its kubeconfig with --kubeconfig FILE`);
        throw new Error(`cannot read cluster ${flags.cluster} through ${kubeconfig}: ${(err as Error).message}`);
      }
      const summary = await writeSimHistory({
        pods: objects.pods,
        nodes: objects.nodes,
        days: flags.days,
        stepSeconds: flags.step,
        usage: new UsageModel({ seed: flags.seed }),
        out: flags.out ?? process.stdout,
        ...(flags.end !== undefined ? { end: flags.end } : {}),
      });
      const running = new Set(runningContainers(objects.pods).map((c) => c.pod)).size;
      if (flags.out) {
        console.error(`wrote ${summary.series} series, ${summary.samples} samples (${(summary.bytes / 2 ** 20).toFixed(1)} MiB) for ${running} running pods to ${flags.out}`);
        console.error(`backfill: promtool tsdb create-blocks-from openmetrics ${flags.out} DATA_DIR`);
      }
    });
}
