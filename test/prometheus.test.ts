/**
 * End-to-end: a real Prometheus scrapes a simulated cluster's cAdvisor and kube-state-metrics
 * endpoints over HTTPS with the cluster's CA and token, and a second one is backfilled with
 * fourteen days of `sim history` through promtool; PromQL over both answers what the usage model
 * says. Needs `prometheus` and `promtool` (Debian: apt-get install prometheus).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { startSimulatedCluster, type SimulatedCluster } from '../src/sim/index.ts';
import { installMetricsEndpoints } from '../src/sim/metrics/index.ts';
import { UsageModel } from '../src/sim/usage.ts';
import { InProcessClient } from '../src/client/index.ts';
import { nodesRef, podsRef, replicaSetsRef } from '../src/sim/resources.ts';
import { writeSimHistory } from '../src/cli/sim-history.ts';
import { waitFor } from '../src/testing/wait.ts';
import type { KubeObject } from '../src/machinery/object.ts';

const missing = ['prometheus', 'promtool'].filter((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0);
const installHint = `this test drives a real Prometheus: ${missing.join(' and ')} not found on PATH; install them with \`apt-get install prometheus\` (Debian/Ubuntu)`;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
  log(): string;
}

/** Starts prometheus on a free loopback port and waits until it is ready. */
async function startPrometheus(dir: string, config: string, extraArgs: string[] = []): Promise<RunningPrometheus> {
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('prometheus', [
    `--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, ...extraArgs,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  try {
    await waitFor('prometheus to be ready', async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
      try {
        return (await fetch(`${url}/-/ready`)).ok;
      } catch {
        return false;
      }
    }, { timeoutMs: 30_000, intervalMs: 100, describe: () => stderr.slice(-2000) });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop, log: () => stderr };
}

interface PromSample { metric: Record<string, string>; value: [number, string] }

async function query(prom: RunningPrometheus, promql: string, time?: number): Promise<PromSample[]> {
  const params = new URLSearchParams({ query: promql });
  if (time !== undefined) params.set('time', String(time / 1000));
  const res = await fetch(`${prom.url}/api/v1/query?${params}`);
  const body = await res.json() as { status: string; error?: string; data: { resultType: string; result: PromSample[] } };
  assert.equal(body.status, 'success', `query ${promql} failed: ${body.error}`);
  return body.data.result;
}

async function queryMatrix(prom: RunningPrometheus, promql: string, time: number): Promise<Array<{ metric: Record<string, string>; values: Array<[number, string]> }>> {
  const params = new URLSearchParams({ query: promql, time: String(time / 1000) });
  const body = await (await fetch(`${prom.url}/api/v1/query?${params}`)).json() as { status: string; error?: string; data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
  assert.equal(body.status, 'success', `query ${promql} failed: ${body.error}`);
  return body.data.result;
}

function close(actual: number, expected: number, relative: number, what: string): void {
  const scale = Math.max(Math.abs(expected), 1e-9);
  assert.ok(Math.abs(actual - expected) / scale <= relative, `${what}: Prometheus says ${actual}, the usage model ${expected} (tolerance ${relative * 100}%)`);
}

/** Prometheus' quantile: linear interpolation between the closest ranks. */
function quantile(q: number, values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

const rsName = 'web-6b8d5f';
const started = Math.floor((Date.now() - 2 * 3_600_000) / 1000) * 1000;

describe('a real Prometheus and a simulated cluster', () => {
  let cluster: SimulatedCluster;
  let work: string;
  let pods: KubeObject[];
  let nodes: KubeObject[];
  const usage = new UsageModel({ seed: 7 });
  const stops: Array<() => Promise<void>> = [];

  before(async () => {
    assert.equal(missing.length, 0, installHint);
    work = mkdtempSync(join(tmpdir(), 'nephele-prometheus-'));
    // A bare API server: no kubelet or ReplicaSet controller acts on the pods this test writes.
    cluster = await startSimulatedCluster({ name: 'metrics-e2e', controllers: false });
    const client = new InProcessClient(cluster.registry, cluster.catalog);
    await client.create(nodesRef, undefined, {
      apiVersion: 'v1', kind: 'Node', metadata: { name: 'sim-node-1', labels: { 'kubernetes.io/hostname': 'sim-node-1', 'node.kubernetes.io/instance-type': 'm5.large' } },
      status: { capacity: { cpu: '4', memory: '16Gi', pods: '110' }, allocatable: { cpu: '3800m', memory: '15Gi', pods: '110' } },
    });
    const labels = { app: 'web', 'pod-template-hash': '6b8d5f' };
    const template = {
      metadata: { labels, annotations: { 'usage.nephele.dev/profile': 'web', 'usage.nephele.dev/cpu.proxy': '150m' } },
      spec: {
        containers: [
          { name: 'app', image: 'registry.example/web:1.4', resources: { requests: { cpu: '500m', memory: '256Mi' } } },
          { name: 'proxy', image: 'registry.example/proxy:2.0', resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '100m', memory: '64Mi' } } },
        ],
      },
    };
    const rs = await client.create(replicaSetsRef, 'default', {
      apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: rsName, namespace: 'default', labels },
      spec: { replicas: 2, selector: { matchLabels: labels }, template },
    });
    for (const suffix of ['x7k2p', 'q9m4t']) {
      const created = await client.create(podsRef, 'default', {
        apiVersion: 'v1', kind: 'Pod',
        metadata: {
          name: `${rsName}-${suffix}`, namespace: 'default', labels, annotations: template.metadata.annotations,
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rsName, uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true }],
        },
        spec: { ...template.spec, nodeName: 'sim-node-1' },
      });
      const at = new Date(started).toISOString();
      await client.update(podsRef, 'default', {
        ...created,
        status: {
          phase: 'Running', startTime: at, qosClass: 'Burstable', podIP: '10.244.0.7', hostIP: '10.0.0.7',
          conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: at }],
          containerStatuses: template.spec.containers.map((c, i) => ({
            name: c.name, image: c.image, imageID: `${c.image}@sha256:${'0'.repeat(63)}${i}`, ready: true, restartCount: 0, started: true,
            containerID: `containerd://${suffix}${c.name}`, state: { running: { startedAt: at } },
          })),
        },
      }, { subresource: 'status' });
    }
    pods = (await client.list(podsRef, 'default')).items;
    nodes = (await client.list(nodesRef, undefined)).items;
    assert.equal(pods.length, 2);
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await cluster?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const podNamed = (name: string) => pods.find((p) => p.metadata.name === name)!;
  const limitOf = (container: string) => (container === 'proxy' ? 0.1 : undefined);

  it('scrapes the live endpoints over HTTPS and sees what the usage model says', async () => {
    installMetricsEndpoints(cluster, { usage });
    const dir = join(work, 'live');
    const target = cluster.url.replace('https://', '');
    const job = (name: string, path: string) => `
  - job_name: ${name}
    scheme: https
    metrics_path: ${path}
    honor_labels: true
    tls_config: { ca_file: ${join(cluster.home, 'pki', 'ca.crt')} }
    authorization: { credentials: ${cluster.token} }
    static_configs: [{ targets: ['${target}'] }]`;
    const prom = await startPrometheus(dir, `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:${job('cadvisor', '/metrics/cadvisor')}${job('kube-state-metrics', '/metrics/kube-state-metrics')}\n`);
    stops.push(prom.stop);

    const scrapes = await waitFor('six scrapes of both endpoints', async () => {
      const ups = await query(prom, 'up');
      if (ups.some((u) => u.value[1] !== '1')) return false;
      const counts = await query(prom, 'min(count_over_time(container_cpu_usage_seconds_total{container!=""}[10s]))');
      const ksm = await query(prom, 'count(kube_pod_owner)');
      return ups.length === 2 && ksm.length === 1 && Number(counts[0]?.value[1] ?? 0) >= 6 ? ups : false;
    }, { timeoutMs: 30_000, intervalMs: 250, describe: () => prom.log().slice(-1500) });
    assert.equal(scrapes.length, 2);
    const t = Date.now();

    // The counters, memory and throttling are exactly the model's at each sample's own timestamp.
    const cpu = await query(prom, 'container_cpu_usage_seconds_total{container!=""}', t);
    const cpuAt = new Map((await query(prom, 'timestamp(container_cpu_usage_seconds_total{container!=""})', t)).map((s) => [`${s.metric.pod}/${s.metric.container}`, Number(s.value[1]) * 1000]));
    assert.equal(cpu.length, 4, 'two pods of two containers');
    for (const s of cpu) {
      assert.equal(s.metric.namespace, 'default');
      assert.equal(s.metric.cpu, 'total');
      assert.match(s.metric.id!, /^\/kubepods\/burstable\/pod[0-9a-f-]+\/[a-z0-9]+$/);
      const at = cpuAt.get(`${s.metric.pod}/${s.metric.container}`)!;
      const expected = usage.cpuAccountingBetween(podNamed(s.metric.pod!), s.metric.container!, started, at, limitOf(s.metric.container!)).usedSeconds;
      close(Number(s.value[1]), expected, 1e-9, `CPU seconds of ${s.metric.pod}/${s.metric.container}`);
    }
    const memory = await query(prom, 'container_memory_working_set_bytes{container!=""}', t);
    const memoryAt = new Map((await query(prom, 'timestamp(container_memory_working_set_bytes{container!=""})', t)).map((s) => [`${s.metric.pod}/${s.metric.container}`, Number(s.value[1]) * 1000]));
    for (const s of memory) {
      const at = memoryAt.get(`${s.metric.pod}/${s.metric.container}`)!;
      const modelled = usage.containerUsage(podNamed(s.metric.pod!), s.metric.container!, at).memory;
      const expected = s.metric.container === 'proxy' ? Math.min(modelled, 64 * 2 ** 20) : modelled;
      assert.equal(Number(s.value[1]), expected, `working set of ${s.metric.pod}/${s.metric.container}`);
    }
    const throttled = await query(prom, 'container_cpu_cfs_throttled_periods_total', t);
    const periods = await query(prom, 'container_cpu_cfs_periods_total', t);
    assert.deepEqual(throttled.map((s) => s.metric.container), ['proxy', 'proxy'], 'only the container with a CPU limit has CFS series');
    for (const s of throttled) {
      const [stamp] = await query(prom, `timestamp(container_cpu_cfs_throttled_periods_total{pod="${s.metric.pod}"})`, t);
      const at = Number(stamp!.value[1]) * 1000;
      const acc = usage.cpuAccountingBetween(podNamed(s.metric.pod!), 'proxy', started, at, 0.1);
      assert.equal(Number(s.value[1]), Math.floor(acc.throttledSeconds / 0.1 + 1e-9), `throttled periods of ${s.metric.pod}`);
      const total = periods.find((p) => p.metric.pod === s.metric.pod)!;
      assert.equal(Number(total.value[1]), Math.floor((at - started) / 100));
    }
    assert.deepEqual((await query(prom, 'container_spec_cpu_quota', t)).map((s) => Number(s.value[1])), [10_000, 10_000]);

    // rate() over the scrapes, joined to requests and to the owner, as a right-sizing query would.
    const ratio = await query(prom, `
      sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!=""}[5s]))
        / on (namespace, pod, container) sum by (namespace, pod, container) (kube_pod_container_resource_requests{resource="cpu", unit="core"})
        * on (namespace, pod) group_left (owner_kind, owner_name) kube_pod_owner{owner_is_controller="true"}`, t);
    assert.equal(ratio.length, 4);
    const windows = await queryMatrix(prom, 'container_cpu_usage_seconds_total{container!=""}[5s]', t);
    for (const s of ratio) {
      assert.equal(s.metric.owner_kind, 'ReplicaSet');
      assert.equal(s.metric.owner_name, rsName);
      const window = windows.find((w) => w.metric.pod === s.metric.pod && w.metric.container === s.metric.container)!;
      const first = window.values[0]![0] * 1000;
      const last = window.values.at(-1)![0] * 1000;
      const average = usage.cpuAccountingBetween(podNamed(s.metric.pod!), s.metric.container!, first, last, limitOf(s.metric.container!)).usedSeconds / ((last - first) / 1000);
      const request = s.metric.container === 'proxy' ? 0.1 : 0.5;
      close(Number(s.value[1]), average / request, 0.01, `CPU use / request of ${s.metric.pod}/${s.metric.container}`);
    }

    // kube-state-metrics: phases, readiness, node capacity and labels.
    const running = await query(prom, 'kube_pod_status_phase{phase="Running"} == 1', t);
    assert.deepEqual(running.map((s) => s.metric.pod).sort(), pods.map((p) => p.metadata.name).sort());
    assert.equal((await query(prom, 'sum(kube_pod_container_status_ready)', t))[0]!.value[1], '4');
    assert.equal((await query(prom, 'kube_node_status_allocatable{resource="cpu", unit="core"}', t))[0]!.value[1], '3.8');
    assert.equal((await query(prom, 'kube_node_labels', t))[0]!.metric.label_node_kubernetes_io_instance_type, 'm5.large');
    assert.equal((await query(prom, `kube_replicaset_owner{replicaset="${rsName}"}`, t))[0]!.metric.owner_kind, '<none>');
    await prom.stop();
  });

  it('backfills fourteen days of history with promtool and answers over it', async () => {
    const dir = join(work, 'history');
    const file = join(work, 'history.om');
    const end = Math.floor(Date.now() / 300_000) * 300_000;
    const summary = await writeSimHistory({ pods, nodes, days: 14, stepSeconds: 300, end, usage, out: file });
    assert.equal(summary.to, end);
    assert.equal(summary.from, end - 14 * 86_400_000);
    const blocks = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '-q', file, join(dir, 'data')], { encoding: 'utf8' });
    assert.equal(blocks.status, 0, `promtool could not backfill: ${blocks.stderr}${blocks.stdout}`);
    const prom = await startPrometheus(dir, 'global: { scrape_interval: 1m }\nscrape_configs: []\n', ['--storage.tsdb.retention.time=60d']);
    stops.push(prom.stop);

    const day = 86_400_000;
    const step = 300_000;
    for (const daysAgo of [1, 6, 12]) {
      const at = end - daysAgo * day;
      const times: number[] = [];
      for (let ts = at - day; ts <= at; ts += step) times.push(ts);

      const average = await query(prom, 'avg_over_time(container_memory_working_set_bytes{container!=""}[1d])', at);
      assert.equal(average.length, 4, `four containers ${daysAgo} days ago`);
      for (const s of average) {
        const pod = podNamed(s.metric.pod!);
        const limit = s.metric.container === 'proxy' ? 64 * 2 ** 20 : Infinity;
        const values = times.map((ts) => Math.min(limit, usage.containerUsage(pod, s.metric.container!, ts).memory));
        close(Number(s.value[1]), values.reduce((a, b) => a + b, 0) / values.length, 0.005, `average memory of ${s.metric.pod}/${s.metric.container} ${daysAgo} days ago`);
      }

      const p95 = await query(prom, `
        quantile_over_time(0.95, container_memory_working_set_bytes{container!=""}[1d])
          / on (namespace, pod, container) kube_pod_container_resource_requests{resource="memory"}
          * on (namespace, pod) group_left (owner_name) kube_pod_owner`, at);
      assert.equal(p95.length, 4);
      for (const s of p95) {
        assert.equal(s.metric.owner_name, rsName);
        const pod = podNamed(s.metric.pod!);
        const limit = s.metric.container === 'proxy' ? 64 * 2 ** 20 : Infinity;
        const request = s.metric.container === 'proxy' ? 64 * 2 ** 20 : 256 * 2 ** 20;
        const values = times.map((ts) => Math.min(limit, usage.containerUsage(pod, s.metric.container!, ts).memory));
        close(Number(s.value[1]), quantile(0.95, values) / request, 0.01, `p95 memory / request of ${s.metric.pod}/${s.metric.container} ${daysAgo} days ago`);
      }

      const cpuP95 = await query(prom, 'quantile_over_time(0.95, rate(container_cpu_usage_seconds_total{container="app"}[10m])[1d:5m])', at);
      assert.equal(cpuP95.length, 2);
      for (const s of cpuP95) {
        const pod = podNamed(s.metric.pod!);
        const rates = times.slice(1).map((ts) => usage.cpuSecondsBetween(pod, 'app', ts - 600_000, ts) / 600);
        close(Number(s.value[1]), quantile(0.95, rates), 0.03, `p95 CPU of ${s.metric.pod}/app ${daysAgo} days ago`);
      }
    }

    await prom.stop();
  });
});
