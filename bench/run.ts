/**
 * `npm run bench -- NAME [options]`: runs one benchmark and prints its report, as a table or,
 * with `--json`, as exactly one JSON document on stdout (progress always goes to stderr).
 * `--record` also writes the JSON to bench/results/NAME-DATE.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { defaultApiBenchOptions, runApiBench, type ApiBenchOptions, type Backend, type WatchProtocol } from './api.ts';
import { formatReport, machineInfo, type BenchReport } from './report.ts';

const usage = `usage: npm run -s bench -- api [--json] [--record] [--duration SECONDS] [--warmup SECONDS] [--clients N]
       [--watchers N] [--watch-updates N] [--watch-interval MS] [--watch-threads N] [--watch-protocols http2,http1.1] [--watch-streams-per-connection N] [--list-size N] [--backends sqlite,etcd] [--hub-cpu-prof DIR]`;

const benchmarks = ['api', 'scheduler', 'sim', 'fleet', 'portal'];

/** Benchmarks with their own flags and report: they parse the rest of the command line themselves. */
const standalone: Record<string, () => Promise<{ main(args: string[]): Promise<void> }>> = {
  scheduler: () => import('./scheduler.ts'),
  sim: () => import('./sim.ts'),
  fleet: () => import('./fleet.ts'),
  portal: () => import('./portal.ts'),
};

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const [name, ...args] = process.argv.slice(2);
if (name && standalone[name]) {
  await (await standalone[name]()).main(args);
  process.exit(0);
}
if (name === '--help' || name === '-h') {
  console.error(usage);
  process.exit(0);
}
if (!name || !benchmarks.includes(name)) {
  fail(`${name ? `unknown benchmark "${name}"` : 'name a benchmark'}: available: ${benchmarks.join(', ')} (npm run bench -- NAME --help)`);
}

let values: ReturnType<typeof parse>['values'];
function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      json: { type: 'boolean', default: false },
      record: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      clients: { type: 'string' },
      watchers: { type: 'string' },
      'watch-updates': { type: 'string' },
      'watch-interval': { type: 'string' },
      'watch-threads': { type: 'string' },
      'watch-protocols': { type: 'string' },
      'watch-streams-per-connection': { type: 'string' },
      'list-size': { type: 'string' },
      backends: { type: 'string' },
      'hub-cpu-prof': { type: 'string' },
    },
  });
}
try {
  values = parse(args).values;
} catch (err) {
  fail(`${(err as Error).message} (npm run bench -- ${name} --help)`);
}
if (values.help) {
  console.error(usage);
  process.exit(0);
}

/** A numeric option: undefined keeps the default; anything but a number in range is a usage error. */
function numberOption(option: string, raw: string | undefined, fallback: number, min: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    fail(`--${option} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${raw}"`);
  }
  return value;
}

/** A comma-separated choice of one or both of two values, each at most once. */
function pairOption<T extends string>(option: string, what: string, raw: string | undefined, defaults: T[], [a, b]: readonly [T, T]): T[] {
  if (raw === undefined) return defaults;
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (n !== a && n !== b) fail(`--${option}: unknown ${what} "${n}"; use ${a}, ${b} or both (comma-separated)`);
  if (names.length === 0) fail(`--${option} names no ${what}; use ${a}, ${b} or ${a},${b}`);
  return [...new Set(names)] as T[];
}

const d = defaultApiBenchOptions;
const options: ApiBenchOptions = {
  durationSeconds: numberOption('duration', values.duration, d.durationSeconds, 0.1, false),
  warmupSeconds: numberOption('warmup', values.warmup, d.warmupSeconds, 0, false),
  clients: numberOption('clients', values.clients, d.clients, 1, true),
  watchers: numberOption('watchers', values.watchers, d.watchers, 0, true),
  watchUpdates: numberOption('watch-updates', values['watch-updates'], d.watchUpdates, 0, true),
  watchIntervalMs: numberOption('watch-interval', values['watch-interval'], d.watchIntervalMs, 0, false),
  watchThreads: numberOption('watch-threads', values['watch-threads'], d.watchThreads, 1, true),
  watchProtocols: pairOption<WatchProtocol>('watch-protocols', 'protocol', values['watch-protocols'], d.watchProtocols, ['http2', 'http1.1']),
  watchStreamsPerConnection: numberOption('watch-streams-per-connection', values['watch-streams-per-connection'], d.watchStreamsPerConnection, 1, true),
  listSize: numberOption('list-size', values['list-size'], d.listSize, 1, true),
  backends: pairOption<Backend>('backends', 'backend', values.backends, d.backends, ['sqlite', 'etcd']),
  ...(values['hub-cpu-prof'] ? { hubCpuProfileDir: values['hub-cpu-prof'] } : {}),
};

const log = (line: string) => console.error(`[bench ${name}] ${line}`);
if (options.hubCpuProfileDir) mkdirSync(options.hubCpuProfileDir, { recursive: true });
const machine = machineInfo();
const started = new Date();
let outcome: Awaited<ReturnType<typeof runApiBench>>;
try {
  outcome = await runApiBench(options, log);
} catch (err) {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
}
const { hubCpuProfileDir, ...config } = options;
void hubCpuProfileDir;
const report: BenchReport = {
  bench: name,
  date: started.toISOString(),
  machine: { ...machine, software: outcome.software },
  config,
  results: outcome.results,
  notes: outcome.notes,
};

const json = `${JSON.stringify(report, null, 2)}\n`;
process.stdout.write(values.json ? json : formatReport(report));
if (values.record) {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}-${started.toISOString().slice(0, 10)}.json`, dir);
  writeFileSync(file, json);
  log(`recorded ${file.pathname}`);
}
log(`done in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s`);

// Every resource is closed above; if one still holds the loop, name it rather than hang.
setTimeout(() => {
  log(`still running after the report; open: ${process.getActiveResourcesInfo().join(', ')}; exiting`);
  process.exit(process.exitCode ?? 0);
}, 5_000).unref();
