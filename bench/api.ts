/**
 * The API benchmark: how fast the hub serves ConfigMap creates, updates, gets and lists over HTTPS,
 * how that compares with the same operations made directly on a fresh store of the same backend
 * (the "API overhead"), and how long a write takes to reach each of many open watch streams.
 *
 * For each backend (SQLite, and etcd when installed) it starts a hub in a child process on a
 * temporary home, drives it from this process with `clients` concurrent requests on keep-alive
 * connections, and drives the raw store from this process with the same concurrency. Each phase is
 * a closed loop: every client sends its next request as soon as the previous one answered, for
 * `durationSeconds`, after a `warmupSeconds` run of the same operation that is not counted.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../src/machinery/object.ts';
import { createEtcdStore, createSqliteStore, type Store } from '../src/storage/index.ts';
import { etcdAvailable, etcdBinary, startEtcd } from '../src/testing/index.ts';
import { HubClient } from './hub-client.ts';
import { startWatchReaders } from './watch-readers.ts';
import { startHubProcess, type HubProcess } from './hub-process.ts';
import { cpuPercent, etcdCpuMeter, readMeters, runQueueWaitMillis, selfCpuMeter, type CpuMeter } from './cpu-meter.ts';
import { percentile, programVersion, round, target, type BenchResult } from './report.ts';

export type Backend = 'sqlite' | 'etcd';
export type WatchProtocol = 'http2' | 'http1.1';

export interface ApiBenchOptions {
  /** Length of each measured phase, in seconds. */
  durationSeconds: number;
  /** Length of the uncounted run before each phase, in seconds. */
  warmupSeconds: number;
  /** Concurrent requests (and connections) for the throughput phases. */
  clients: number;
  /** Watch streams open during the watch phase. */
  watchers: number;
  /** Writes made while the watches are open. */
  watchUpdates: number;
  /** Time between the starts of two of those writes, in ms. */
  watchIntervalMs: number;
  /** Worker threads reading the watch streams (the writes are timed on the main thread). */
  watchThreads: number;
  /** Protocols the watch phase runs over, one after the other: HTTP/2 multiplexes the watches, HTTP/1.1 opens a connection each. */
  watchProtocols: WatchProtocol[];
  /** Watches sharing one HTTP/2 connection, as the informers of one client-go process share one. */
  watchStreamsPerConnection: number;
  /** Objects in the namespace the list phase lists (and the list limit). */
  listSize: number;
  backends: Backend[];
  /** When set, the hub's CPU is profiled during each API phase, one `<backend>-<phase>.cpuprofile` here. */
  hubCpuProfileDir?: string;
}

export const defaultApiBenchOptions: ApiBenchOptions = {
  durationSeconds: 5,
  warmupSeconds: 1,
  clients: 16,
  watchers: 1000,
  watchUpdates: 200,
  watchIntervalMs: 5,
  watchThreads: 2,
  watchProtocols: ['http2', 'http1.1'],
  watchStreamsPerConnection: 500,
  listSize: 100,
  backends: ['sqlite', 'etcd'],
};

export interface ApiBenchOutcome {
  results: BenchResult[];
  /** ops/s of the bare HTTPS server per operation, measured once per run. */
  floor?: Map<string, number>;
  notes: string[];
  /** Versions of outside programs the run used, for the machine description. */
  software: Record<string, string>;
}

/** Targets the hub is held to; see docs/benchmarks.md. */
const targets = {
  sqliteCreatesPerSecond: 3_000,
  maxOverhead: 3,
  watchP99Ms: 50,
};

type Log = (line: string) => void;

export async function runApiBench(options: ApiBenchOptions, log: Log): Promise<ApiBenchOutcome> {
  const outcome: ApiBenchOutcome = { results: [], notes: [], software: {} };
  for (const backend of options.backends) {
    if (backend === 'etcd') {
      if (!etcdAvailable()) {
        const note = 'etcd is not installed (apt-get install etcd-server, or set ETCD_BIN): the etcd backend was skipped';
        log(note);
        outcome.notes.push(note);
        continue;
      }
      const version = programVersion(etcdBinary()!);
      if (version) outcome.software.etcd = version.replace(/^etcd version:\s*/i, '');
    }
    log(`${backend}: starting`);
    await measureBackend(backend, options, outcome, log);
  }
  return outcome;
}

/** Everything one backend needs for the run, torn down in reverse order whatever happens. */
async function measureBackend(backend: Backend, options: ApiBenchOptions, outcome: ApiBenchOutcome, log: Log): Promise<void> {
  const temp = mkdtempSync(join(tmpdir(), `nephele-bench-${backend}-`));
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    let rawStore: Store;
    let hubStore: string;
    let etcdMeter: CpuMeter | undefined;
    if (backend === 'sqlite') {
      rawStore = createSqliteStore({ path: join(temp, 'raw.db') });
      hubStore = 'sqlite';
    } else {
      // Production etcd sends progress notifications every 10 minutes; the test default (200 ms)
      // would add thousands of messages a second across a thousand watches.
      const rawEtcd = await startEtcd({ progressNotifyIntervalMs: 600_000 });
      cleanups.push(() => rawEtcd.stop());
      const hubEtcd = await startEtcd({ progressNotifyIntervalMs: 600_000 });
      cleanups.push(() => hubEtcd.stop());
      rawStore = createEtcdStore({ endpoints: [rawEtcd.endpoint] });
      hubStore = `etcd://${new URL(hubEtcd.endpoint).host}`;
      etcdMeter = etcdCpuMeter(hubEtcd.endpoint);
    }
    cleanups.push(() => rawStore.close());
    const hub = await startHubProcess({ home: join(temp, 'home'), store: hubStore });
    cleanups.push(() => hub.stop());
    const client = new HubClient(hub.url, hub.token, hub.caPem, options.clients);
    cleanups.push(() => client.close());
    log(`${backend}: hub at ${hub.url} on ${hubStore}`);
    const meters: CpuMeter[] = [{ name: 'hub', millis: () => hub.cpuMillis() }, selfCpuMeter, ...(etcdMeter ? [etcdMeter] : [])];
    await measureThroughput(backend, options, hub, client, rawStore, meters, outcome, log);
    for (const protocol of options.watchProtocols) await measureWatchDelivery(backend, protocol, options, hub, client, meters, outcome, log);
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (err) {
        log(`${backend}: cleanup failed: ${(err as Error).message}`);
      }
    }
    rmSync(temp, { recursive: true, force: true });
  }
}

const ns = { objects: 'bench', list: 'bench-list', watch: 'bench-watch' } as const;
const configMapPrefix = '/registry/core/configmaps/';

function configMap(namespace: string, name: string, seq: number): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { owner: 'nephele-bench', benchSeq: String(seq), payload: 'x'.repeat(64) } };
}

/**
 * The raw-store twin of an object the hub stored: the same shape and size (the hub's metadata,
 * managed fields included), with its own name, uid and data.
 */
function rawObject(template: KubeObject, namespace: string, name: string, seq: number): KubeObject {
  const obj = structuredClone(template);
  obj.metadata.name = name;
  obj.metadata.namespace = namespace;
  obj.metadata.uid = randomUUID();
  obj.metadata.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  delete obj.metadata.resourceVersion;
  obj.data = configMap(namespace, name, seq).data;
  return obj;
}

interface Operation {
  /** Measured as `<backend> API <label>` and `<backend> store <label>`. */
  label: string;
  api: (worker: number, k: number, counted: boolean) => Promise<void>;
  raw: (worker: number, k: number, counted: boolean) => Promise<void>;
}

async function measureThroughput(backend: Backend, options: ApiBenchOptions, hub: HubProcess, client: HubClient, rawStore: Store, meters: CpuMeter[], outcome: ApiBenchOutcome, log: Log): Promise<void> {
  const n = options.clients;
  for (const name of Object.values(ns)) {
    await client.expect(201, 'POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  }
  const templateText = await client.expect(201, 'POST', `/api/v1/namespaces/${ns.objects}/configmaps`, JSON.stringify(configMap(ns.objects, 'template', 0)));
  const template = JSON.parse(templateText) as KubeObject;
  outcome.floor ??= await measureHttpsFloor(options, Buffer.byteLength(templateText), template, outcome, log);

  // Objects each client created in the counted create phase: its own to update, so no conflicts.
  const apiObjects: KubeObject[][] = Array.from({ length: n }, () => []);
  const rawObjects: KubeObject[][] = Array.from({ length: n }, () => []);
  let apiNames: string[] = [];
  let rawKeys: string[] = [];
  const objectPath = (name: string) => `/api/v1/namespaces/${ns.objects}/configmaps/${name}`;
  const rawKey = (namespace: string, name: string) => `${configMapPrefix}${namespace}/${name}`;
  const listPath = `/api/v1/namespaces/${ns.list}/configmaps?limit=${options.listSize}`;
  const rawListPrefix = `${configMapPrefix}${ns.list}/`;

  const operations: Operation[] = [
    {
      label: 'creates',
      api: async (w, k, counted) => {
        const name = `${counted ? 'cm' : 'warm'}-${w}-${k}`;
        const text = await client.expect(201, 'POST', `/api/v1/namespaces/${ns.objects}/configmaps`, JSON.stringify(configMap(ns.objects, name, k)));
        if (counted) apiObjects[w]!.push(JSON.parse(text) as KubeObject);
      },
      raw: async (w, k, counted) => {
        const name = `${counted ? 'cm' : 'warm'}-${w}-${k}`;
        const stored = await rawStore.create(rawKey(ns.objects, name), rawObject(template, ns.objects, name, k));
        if (counted) rawObjects[w]!.push(stored);
      },
    },
    {
      label: 'updates',
      api: async (w, k) => {
        const mine = apiObjects[w]!;
        const i = k % mine.length;
        const obj = mine[i]!;
        obj.data = { ...(obj.data as Record<string, string>), benchSeq: `u${k}` };
        mine[i] = JSON.parse(await client.expect(200, 'PUT', objectPath(obj.metadata.name!), JSON.stringify(obj))) as KubeObject;
      },
      raw: async (w, k) => {
        const mine = rawObjects[w]!;
        const i = k % mine.length;
        const obj = mine[i]!;
        obj.data = { ...(obj.data as Record<string, string>), benchSeq: `u${k}` };
        mine[i] = await rawStore.update(rawKey(ns.objects, obj.metadata.name!), obj, Number(obj.metadata.resourceVersion));
      },
    },
    {
      label: 'gets',
      api: async (w, k) => {
        await client.expect(200, 'GET', objectPath(apiNames[(k * n + w) % apiNames.length]!));
      },
      raw: async (w, k) => {
        const key = rawKeys[(k * n + w) % rawKeys.length]!;
        if (!(await rawStore.get(key))) throw new Error(`raw store: ${key} is missing`);
      },
    },
    {
      label: 'lists',
      api: async (_w, k) => {
        const text = await client.expect(200, 'GET', listPath);
        if (k === 0) checkListSize('API', (JSON.parse(text) as { items: unknown[] }).items.length, options.listSize);
      },
      raw: async (_w, k) => {
        const { items } = await rawStore.list(rawListPrefix, { limit: options.listSize });
        if (k === 0) checkListSize('raw store', items.length, options.listSize);
      },
    },
  ];

  for (const op of operations) {
    if (op.label === 'updates') {
      const empty = apiObjects.some((a) => a.length === 0) || rawObjects.some((a) => a.length === 0);
      if (empty) throw new Error('a client created no object in the create phase; raise --duration');
    }
    if (op.label === 'gets') {
      apiNames = apiObjects.flat().map((o) => o.metadata.name!);
      rawKeys = rawObjects.flat().map((o) => rawKey(ns.objects, o.metadata.name!));
    }
    if (op.label === 'lists') {
      await fill(n, options.listSize, (i) => client.expect(201, 'POST', `/api/v1/namespaces/${ns.list}/configmaps`, JSON.stringify(configMap(ns.list, `item-${i}`, i))));
      await fill(n, options.listSize, (i) => rawStore.create(rawKey(ns.list, `item-${i}`), rawObject(template, ns.list, `item-${i}`, i)));
    }

    await closedLoop(n, options.warmupSeconds, (w, k) => op.raw(w, k, false));
    const raw = await closedLoop(n, options.durationSeconds, (w, k) => op.raw(w, k, true));

    await closedLoop(n, options.warmupSeconds, (w, k) => op.api(w, k, false));
    const cpuBefore = await readMeters(meters);
    if (options.hubCpuProfileDir) await hub.startProfile();
    const api = await closedLoop(n, options.durationSeconds, (w, k) => op.api(w, k, true));
    if (options.hubCpuProfileDir) await hub.stopProfile(join(options.hubCpuProfileDir, `${backend}-${op.label}.cpuprofile`));
    const cpu = cpuPercent(cpuBefore, await readMeters(meters), api.elapsedMs);

    const overhead = raw.perSecond / api.perSecond;
    const rawName = `${backend} store ${op.label}`;
    const floor = outcome.floor.get(op.label);
    outcome.results.push(
      {
        name: `${backend} API ${op.label}`, value: round(api.perSecond), unit: 'ops/s',
        anchor: backend === 'sqlite' && op.label === 'creates'
          ? target(api.perSecond, '>=', targets.sqliteCreatesPerSecond, 'ops/s')
          : { kind: 'baseline', name: rawName, value: round(raw.perSecond), unit: 'ops/s' },
      },
      { name: rawName, value: round(raw.perSecond), unit: 'ops/s' },
      { name: `${backend} API overhead ${op.label} (store/API)`, value: round(overhead), unit: 'x', anchor: target(overhead, '<=', targets.maxOverhead, 'x') },
      ...(floor ? [{ name: `${backend} least possible overhead ${op.label} (store/HTTPS floor)`, value: round(raw.perSecond / floor), unit: 'x' }] : []),
      ...cpuResults(`${backend} API ${op.label}`, meters, cpu),
    );
    log(`${backend}: ${op.label}: API ${Math.round(api.perSecond)} ops/s (${api.count} in ${(api.elapsedMs / 1000).toFixed(1)} s; ${describeCpu(meters, cpu)}), `
      + `store ${Math.round(raw.perSecond)} ops/s, overhead ${overhead.toFixed(2)}x`);
  }
}

/**
 * The floor under any HTTPS API here: a bare Node HTTPS server in a child process (hub-main.ts
 * `bare`) that reads each request and answers with a fixed body the size of a stored ConfigMap,
 * driven by the same client with the same concurrency and bodies as the API phases. No API served
 * over HTTPS from Node on this machine can be faster, so store/floor is the least overhead possible.
 */
async function measureHttpsFloor(options: ApiBenchOptions, bodyBytes: number, template: KubeObject, outcome: ApiBenchOutcome, log: Log): Promise<Map<string, number>> {
  const temp = mkdtempSync(join(tmpdir(), 'nephele-bench-bare-'));
  const bare = await startHubProcess({ home: temp, store: 'bare', bodyBytes });
  const client = new HubClient(bare.url, bare.token, bare.caPem, options.clients);
  const floor = new Map<string, number>();
  try {
    const path = `/api/v1/namespaces/${ns.objects}/configmaps`;
    const requests: Array<[string, (w: number, k: number) => Promise<unknown>]> = [
      ['creates', (w, k) => client.expect(201, 'POST', path, JSON.stringify(configMap(ns.objects, `cm-${w}-${k}`, k)))],
      ['updates', (_w, k) => client.expect(200, 'PUT', `${path}/template`, JSON.stringify({ ...template, data: { ...(template.data as Record<string, string>), benchSeq: `u${k}` } }))],
      ['gets', () => client.expect(200, 'GET', `${path}/template`)],
    ];
    const meters: CpuMeter[] = [{ name: 'server', millis: () => bare.cpuMillis() }, selfCpuMeter];
    for (const [label, request] of requests) {
      await closedLoop(options.clients, options.warmupSeconds, request);
      const cpuBefore = await readMeters(meters);
      const run = await closedLoop(options.clients, options.durationSeconds, request);
      const cpu = cpuPercent(cpuBefore, await readMeters(meters), run.elapsedMs);
      floor.set(label, run.perSecond);
      outcome.results.push({ name: `HTTPS floor ${label}`, value: round(run.perSecond), unit: 'ops/s' }, ...cpuResults(`HTTPS floor ${label}`, meters, cpu));
      log(`HTTPS floor: ${label}: ${Math.round(run.perSecond)} requests/s with ${bodyBytes}-byte answers (${describeCpu(meters, cpu)})`);
    }
  } finally {
    client.close();
    await bare.stop();
    rmSync(temp, { recursive: true, force: true });
  }
  return floor;
}

function cpuResults(prefix: string, meters: CpuMeter[], cpu: number[]): BenchResult[] {
  return meters.map((m, i) => ({ name: `${prefix}: ${m.name} CPU`, value: round(cpu[i]!), unit: '% of a core' }));
}

function describeCpu(meters: CpuMeter[], cpu: number[]): string {
  return meters.map((m, i) => `${m.name} CPU ${Math.round(cpu[i]!)}%`).join(', ');
}

function checkListSize(who: string, got: number, wanted: number): void {
  if (got !== wanted) throw new Error(`${who} list returned ${got} items, expected ${wanted}`);
}

interface LoopOutcome {
  count: number;
  elapsedMs: number;
  perSecond: number;
}

/**
 * Runs `op` from `concurrency` workers, each starting its next call as soon as the last one ended,
 * until `seconds` passed; calls already under way finish and count. `k` numbers a worker's calls.
 */
async function closedLoop(concurrency: number, seconds: number, op: (worker: number, k: number) => Promise<unknown>): Promise<LoopOutcome> {
  if (seconds <= 0) return { count: 0, elapsedMs: 0, perSecond: 0 };
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let count = 0;
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    for (let k = 0; performance.now() < deadline; k++) {
      await op(worker, k);
      count++;
    }
  }));
  const elapsedMs = performance.now() - started;
  return { count, elapsedMs, perSecond: count / (elapsedMs / 1000) };
}

/** Calls `make(i)` for i in 0..total-1, at most `concurrency` at a time. */
async function fill(concurrency: number, total: number, make: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, async () => {
    while (next < total) await make(next++);
  }));
}

const watchedObjects = 20;
/** How long to wait for the last events after the last write was acknowledged, when none arrive. */
const deliveryStallMs = 15_000;

/**
 * Opens `watchers` watch streams on one namespace, then updates objects in it `watchUpdates` times,
 * one write every `watchIntervalMs` (after `warmupSeconds` of the same writes, not counted), and
 * records for every (write, watcher) pair the time from just before the write's request was sent
 * to the moment its event reached that watcher. Over
 * HTTP/2 the watches share connections, `watchStreamsPerConnection` each; over HTTP/1.1 each
 * has its own. The writes always go over HTTP/1.1, on the benchmark's keep-alive client.
 */
async function measureWatchDelivery(backend: Backend, protocol: WatchProtocol, options: ApiBenchOptions, hub: HubProcess, client: HubClient, meters: CpuMeter[], outcome: ApiBenchOutcome, log: Log): Promise<void> {
  const { watchers, watchUpdates: updates } = options;
  if (watchers === 0 || updates === 0) return;
  const basePath = `/api/v1/namespaces/${ns.watch}/configmaps`;
  const current: KubeObject[] = [];
  for (let j = 0; j < Math.min(watchedObjects, updates); j++) {
    current.push(JSON.parse(await client.expect(201, 'POST', basePath, JSON.stringify(configMap(ns.watch, `watched-${protocol.replace('.', '')}-${j}`, -1)))) as KubeObject);
  }
  const listed = JSON.parse(await client.expect(200, 'GET', basePath)) as { metadata: { resourceVersion: string } };
  const from = listed.metadata.resourceVersion;

  // The first writes after the watches open meet a cold delivery path (code not yet optimized for
  // a thousand streams); like every other phase, the measured writes follow an uncounted warm-up,
  // whose latencies are reported on their own line.
  const warm = Math.round((options.warmupSeconds * 1000) / options.watchIntervalMs);
  const total = warm + updates;
  // What a watch costs the hub in memory: its heap after a full collection, before the watches
  // open and after the measured writes (a collection before them would spare the phase one).
  const heapBefore = await hub.heapBytes();
  const readers = await (async () => {
    const openStarted = performance.now();
    const started = await startWatchReaders({
      url: hub.url, token: hub.token, caPem: hub.caPem, path: `${basePath}?watch=true&resourceVersion=${from}&timeoutSeconds=600`,
      watchers, updates: total, threads: options.watchThreads,
      ...(protocol === 'http2' ? { http2StreamsPerConnection: options.watchStreamsPerConnection } : {}),
    });
    const connections = protocol === 'http2' ? `${Math.ceil(watchers / options.watchStreamsPerConnection)} HTTP/2 connection(s)` : `${watchers} HTTP/1.1 connections`;
    log(`${backend}: ${watchers} watches open over ${connections} in ${((performance.now() - openStarted) / 1000).toFixed(1)} s, read by ${started.threads} thread(s)`);
    return started;
  })();
  const { arrivals } = readers;
  const wallClock = () => performance.timeOrigin + performance.now();
  const sentAt = new Float64Array(total).fill(Number.NaN);
  const ackMs = new Float64Array(total);
  /** Writes `benchSeq` first..end-1, one every `watchIntervalMs`, each object's writes in order. */
  const writeRange = async (first: number, end: number): Promise<void> => {
    const chains = current.map(() => Promise.resolve());
    const t0 = performance.now();
    for (let i = first; i < end; i++) {
      const j = i % current.length;
      chains[j] = chains[j]!.then(async () => {
        await sleep(t0 + (i - first) * options.watchIntervalMs - performance.now());
        const obj = current[j]!;
        obj.data = { ...(obj.data as Record<string, string>), benchSeq: String(i) };
        const text = await client.expect(200, 'PUT', `${basePath}/${obj.metadata.name}`, JSON.stringify(obj), () => {
          sentAt[i] = wallClock();
        });
        ackMs[i] = wallClock() - sentAt[i]!;
        current[j] = JSON.parse(text) as KubeObject;
      });
    }
    await Promise.all(chains);
  };
  /** Waits until `count` events have arrived, or until none has for `deliveryStallMs`. */
  const awaitDelivery = async (count: number): Promise<void> => {
    let lastProgress = performance.now();
    let seen = readers.received();
    while (seen < count && performance.now() - lastProgress < deliveryStallMs) {
      await sleep(20);
      if (readers.received() > seen) {
        seen = readers.received();
        lastProgress = performance.now();
      }
    }
  };
  /** Delivery latencies of writes first..end-1 that arrived, sorted. */
  const latenciesOf = (first: number, end: number): Float64Array => {
    const out: number[] = [];
    for (let seq = first; seq < end; seq++) {
      for (let watcher = 0; watcher < watchers; watcher++) {
        const at = arrivals[seq * watchers + watcher]!;
        if (!Number.isNaN(at)) out.push(at - sentAt[seq]!);
      }
    }
    return Float64Array.from(out).sort();
  };

  try {
    await sleep(500);
    await writeRange(0, warm);
    await awaitDelivery(warm * watchers);
    const expected = updates * watchers;
    const t0 = performance.now();
    const cpuBefore = await readMeters(meters);
    const waitBefore = runQueueWaitMillis(hub.pid);
    if (options.hubCpuProfileDir) await hub.startProfile();
    await writeRange(warm, total);
    const writesMs = performance.now() - t0;
    await awaitDelivery(total * watchers);
    const totalMs = performance.now() - t0;
    const cpu = cpuPercent(cpuBefore, await readMeters(meters), totalMs);
    const waitAfter = runQueueWaitMillis(hub.pid);
    const waited = waitBefore === undefined || waitAfter === undefined ? undefined : ((waitAfter - waitBefore) / totalMs) * 100;
    if (options.hubCpuProfileDir) await hub.stopProfile(join(options.hubCpuProfileDir, `${backend}-watch-${protocol}.cpuprofile`));
    const heapOpen = await hub.heapBytes();

    const latencies = latenciesOf(warm, total);
    const received = latencies.length;
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const max = latencies[latencies.length - 1] ?? Number.NaN;
    const cold = latenciesOf(0, warm);
    const measuredAcks = ackMs.slice(warm).sort();
    const label = `${backend} watch delivery over ${protocol === 'http2' ? 'HTTP/2' : 'HTTP/1.1'}`;
    outcome.results.push(
      { name: `${label} p50`, value: round(p50), unit: 'ms' },
      { name: `${label} p99`, value: round(p99), unit: 'ms', anchor: target(p99, '<=', targets.watchP99Ms, 'ms') },
      { name: `${label} max`, value: round(max), unit: 'ms' },
      { name: `${label}: events delivered`, value: received, unit: 'events', anchor: target(received, '>=', expected, 'events') },
      ...cpuResults(label, meters, cpu),
      ...(waited === undefined ? [] : [{ name: `${label}: hub main thread waiting for a CPU`, value: round(waited), unit: '% of the time' }]),
      { name: `${label}: update latency with ${watchers} watches p50`, value: round(percentile(measuredAcks, 50)), unit: 'ms' },
      { name: `${label}: update latency with ${watchers} watches p99`, value: round(percentile(measuredAcks, 99)), unit: 'ms' },
      ...(warm > 0 ? [{ name: `${label}: first ${warm} writes after the watches open (warm-up, not counted) p99`, value: round(percentile(cold, 99)), unit: 'ms' }] : []),
      { name: `${label}: hub heap with ${watchers} watches open`, value: round(heapOpen / 2 ** 20), unit: 'MiB', anchor: { kind: 'baseline', name: 'hub heap before they opened', value: round(heapBefore / 2 ** 20), unit: 'MiB' } },
      { name: `${label}: hub heap per open watch`, value: round((heapOpen - heapBefore) / watchers / 1024), unit: 'KiB' },
    );
    if (received < expected) {
      outcome.notes.push(`${label}: ${expected - received} of ${expected} watch events had not arrived ${deliveryStallMs / 1000} s after the last one did; the percentiles cover the ${received} that arrived`);
    }
    log(`${label}: ${updates} writes in ${(writesMs / 1000).toFixed(1)} s after ${warm} to warm up (warm-up p99 ${percentile(cold, 99).toFixed(1)} ms), ack p99 ${percentile(measuredAcks, 99).toFixed(1)} ms, ${received}/${expected} events delivered in ${(totalMs / 1000).toFixed(1)} s; `
      + `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms (${describeCpu(meters, cpu)})`);
  } finally {
    await readers.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
