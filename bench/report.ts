/**
 * What every benchmark reports, and how: one `BenchReport` per run, with the machine it ran on and
 * a flat list of results. A result may carry an anchor: a target it must meet, or a baseline
 * measured in the same run that it should be read against.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { arch, availableParallelism, cpus, loadavg, platform, release, tmpdir, totalmem, version } from 'node:os';
import { resolve } from 'node:path';

/** A number a result must reach: at least (`>=`) or at most (`<=`) `value`. */
export interface TargetAnchor {
  kind: 'target';
  comparison: '>=' | '<=';
  value: number;
  unit: string;
  met: boolean;
}

/** The same operation measured without the layer under test, in the same run. */
export interface BaselineAnchor {
  kind: 'baseline';
  name: string;
  value: number;
  unit: string;
}

export type Anchor = TargetAnchor | BaselineAnchor;

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  anchor?: Anchor;
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  arch: string;
  /** The file system of the temporary directory, where the stores keep their files. */
  tmpFilesystem: string;
  /** Extra software versions that shape the numbers (etcd). */
  software: Record<string, string>;
  /** The 1, 5 and 15 minute load averages when the run began: anything else busy on the machine shows here. */
  loadAverage: number[];
}

export interface BenchReport {
  bench: string;
  date: string;
  machine: MachineInfo;
  config: Record<string, unknown>;
  results: BenchResult[];
  /** Things a reader must know to read the numbers: skipped parts, incomplete deliveries. */
  notes: string[];
}

/** A target anchor, with `met` worked out from `actual`. */
export function target(actual: number, comparison: '>=' | '<=', value: number, unit: string): TargetAnchor {
  return { kind: 'target', comparison, value, unit, met: comparison === '>=' ? actual >= value : actual <= value };
}

export function machineInfo(software: Record<string, string> = {}): MachineInfo {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()} (${version()})`,
    arch: arch(),
    tmpFilesystem: filesystemOf(tmpdir()),
    software,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** The type and device of the mount holding `path`, from /proc/mounts; `unknown` off Linux. */
function filesystemOf(path: string): string {
  try {
    const target = resolve(path);
    let best: { mount: string; text: string } | undefined;
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [device, mount, type] = line.split(' ');
      if (!device || !mount || !type) continue;
      const covers = mount === '/' || target === mount || target.startsWith(`${mount}/`);
      if (covers && (!best || mount.length > best.mount.length)) best = { mount, text: `${type} (${device} on ${mount})` };
    }
    return best?.text ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The first line `program --version` prints, or undefined when it cannot be run. */
export function programVersion(program: string): string | undefined {
  const run = spawnSync(program, ['--version'], { encoding: 'utf8', timeout: 5_000 });
  if (run.status !== 0) return undefined;
  return run.stdout.split('\n')[0]?.trim() || undefined;
}

/** The nearest-rank percentile `p` (0..100) of `sorted`, which must be sorted ascending. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Rounds to a precision that fits the magnitude: whole numbers from 100 up, else 3 significant digits. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Number(value.toPrecision(3));
}

/** The report as a plain-text table, machine first. */
export function formatReport(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `${report.bench} benchmark, ${report.date}`,
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os} ${m.arch}, node ${m.node}, tmp on ${m.tmpFilesystem}`
      + Object.entries(m.software).map(([name, v]) => `, ${name} ${v}`).join('')
      + `, load average at start ${m.loadAverage.join(' ')}`,
    `config: ${Object.entries(report.config).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ')}`,
    '',
  ];
  const rows = report.results.map((r) => [r.name, formatNumber(r.value), r.unit, describeAnchor(r.anchor), r.anchor?.kind === 'target' ? (r.anchor.met ? 'yes' : 'NO') : '']);
  const header = ['result', 'value', 'unit', 'compare with', 'target met'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const render = (row: string[]) => row.map((cell, i) => (i === 1 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  lines.push(render(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(render));
  if (report.notes.length > 0) lines.push('', ...report.notes.map((n) => `note: ${n}`));
  return `${lines.join('\n')}\n`;
}

function describeAnchor(anchor: Anchor | undefined): string {
  if (!anchor) return '';
  if (anchor.kind === 'target') return `target ${anchor.comparison === '>=' ? '>=' : '<='} ${formatNumber(anchor.value)} ${anchor.unit}`;
  return `${anchor.name}: ${formatNumber(anchor.value)} ${anchor.unit}`;
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString('en-US') : String(round(value));
}

/**
 * Makes `globalThis.gc` available, for a full collection before heap readings, without asking
 * the person running the benchmark for `--expose-gc`.
 */
export function exposeGc(): void {
  if ((globalThis as { gc?: unknown }).gc) return;
  setFlagsFromString('--expose-gc');
  (globalThis as { gc?: unknown }).gc = runInNewContext('gc');
}

/**
 * Prints `report` as one JSON document or as a table, waiting until stdout took it (the caller
 * may exit right after); with `record`, also writes it to bench/results/BENCH-DATE.json.
 */
export async function emitReport(report: BenchReport, options: { json: boolean; record?: boolean }): Promise<void> {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await new Promise<void>((resolveWrite) => process.stdout.write(options.json ? json : formatReport(report), () => resolveWrite()));
  if (options.record) {
    const dir = new URL('./results/', import.meta.url);
    mkdirSync(dir, { recursive: true });
    const file = new URL(`${report.bench}-${report.date.slice(0, 10)}.json`, dir);
    writeFileSync(file, json);
    console.error(`recorded ${file.pathname}`);
  }
}

/**
 * A benchmark's command line: its own `options` plus `--json`, `--record` and `--help`, parsed
 * strictly. A parse error ends the run with the message, the usage and exit code 2; `--help`
 * prints the usage and answers undefined, so the caller returns.
 */
const commonBenchOptions = {
  json: { type: 'boolean', default: false },
  record: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type BenchArgValues<T extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; strict: true; allowPositionals: false; options: T & typeof commonBenchOptions }>>['values'];

export function benchArgs<T extends ParseArgsOptionsConfig>(argv: string[], options: T, usage: string): BenchArgValues<T> | undefined {
  let values: BenchArgValues<T>;
  try {
    values = parseArgs({ args: argv, strict: true, allowPositionals: false, options: { ...options, ...commonBenchOptions } }).values as BenchArgValues<T>;
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage}`);
    process.exit(2);
  }
  if ((values as { help?: boolean }).help) {
    console.error(usage);
    return undefined;
  }
  return values;
}

/**
 * A numeric command-line option: `fallback` when absent; anything that is not a number of at
 * least `min` (a whole one when `integer`) ends the run with exit code 2 and the usage.
 */
export function numberArg(name: string, raw: string | undefined, fallback: number, options: { min: number; integer?: boolean; usage: string }): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < options.min || (options.integer && !Number.isInteger(n))) {
    console.error(`--${name} must be ${options.integer ? 'a whole number' : 'a number'} >= ${options.min}, got "${raw}"\n${options.usage}`);
    process.exit(2);
  }
  return n;
}
