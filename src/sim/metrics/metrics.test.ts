import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../../machinery/object.ts';
import { UsageModel } from '../usage.ts';
import { renderCadvisor, renderKubeStateMetrics, formatLabels } from './index.ts';
import { writeSimHistory } from '../../cli/sim-history.ts';

const now = Date.parse('2026-01-07T14:00:00Z');
const started = now - 3 * 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function pod(name: string, options: { phase?: string; limits?: Record<string, string>; annotations?: Record<string, string>; owner?: boolean } = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: 'shop', uid: `${name}-uid`, creationTimestamp: iso(started - 60_000), labels: { app: 'web', 'pod-template-hash': '5d9c7' },
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ...(options.owner === false ? {} : { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d9c7', uid: 'rs-uid', controller: true }] }),
    },
    spec: {
      nodeName: 'node-a',
      containers: [{ name: 'app', image: 'shop/web:1', resources: { requests: { cpu: '250m', memory: '128Mi' }, ...(options.limits ? { limits: options.limits } : {}) } }],
    },
    status: {
      phase: options.phase ?? 'Running', startTime: iso(started), podIP: '10.1.0.4',
      containerStatuses: [{ name: 'app', ready: options.phase !== 'Pending', image: 'shop/web:1', imageID: 'shop/web@sha256:ab', containerID: `containerd://${name}0123`, ...(options.phase === 'Pending' ? { state: { waiting: { reason: 'ContainerCreating' } } } : { state: { running: { startedAt: iso(started) } } }) }],
    },
  };
}

const node: KubeObject = {
  apiVersion: 'v1', kind: 'Node',
  metadata: { name: 'node-a', labels: { 'kubernetes.io/hostname': 'node-a', 'topology.kubernetes.io/zone': 'eu-west-1a' } },
  spec: { providerID: 'sim://node-a' },
  status: {
    capacity: { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi', 'nvidia.com/gpu': '1' },
    allocatable: { cpu: '3800m', memory: '15Gi', pods: '110' },
    addresses: [{ type: 'InternalIP', address: '10.0.0.9' }],
    nodeInfo: { kubeletVersion: 'v1.32.0', kernelVersion: '6.8.0', osImage: 'Sim Linux', containerRuntimeVersion: 'containerd://1.7.0', kubeProxyVersion: 'v1.32.0', systemUUID: 'u-1' },
  },
};

const promtool = spawnSync('sh', ['-c', 'command -v promtool']).status === 0;
const needPromtool = 'promtool is not on PATH: apt-get install prometheus (it ships promtool)';

function lint(text: string): void {
  assert.ok(promtool, needPromtool);
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(result.status, 0, `promtool check metrics: ${result.stdout}${result.stderr}`);
}

function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length, line.indexOf('}') + 1);
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) return Number(line.slice(line.indexOf('}') + 2).split(' ')[0]);
  }
  return undefined;
}

describe('the cAdvisor renderer', () => {
  const usage = new UsageModel({ seed: 2 });

  it('passes promtool check metrics and has the kubelet\'s labels', () => {
    const text = renderCadvisor([pod('web-5d9c7-a', { limits: { cpu: '250m', memory: '128Mi' } }), pod('web-5d9c7-b')], usage, now);
    lint(text);
    assert.match(text, /^# HELP container_cpu_usage_seconds_total /m);
    assert.match(text, /^# TYPE container_cpu_usage_seconds_total counter$/m);
    // Limits equal to requests: a Guaranteed pod, whose cgroup sits right under /kubepods.
    const line = text.split('\n').find((l) => l.startsWith('container_cpu_usage_seconds_total{container="app"') && l.includes('pod="web-5d9c7-a"'));
    assert.match(line ?? '', new RegExp(`^container_cpu_usage_seconds_total\\{container="app",id="/kubepods/podweb-5d9c7-a-uid/web-5d9c7-a0123",image="shop/web:1",name="web-5d9c7-a0123",namespace="shop",pod="web-5d9c7-a",cpu="total"\\} [0-9.e+-]+ ${now}$`));
    assert.match(text, /^container_memory_working_set_bytes\{container="",id="\/kubepods\/burstable\/podweb-5d9c7-b-uid",image="",name="",namespace="shop",pod="web-5d9c7-b"\} /m, 'pod-level cgroup series');
  });

  it('counts CPU since the container started, as the usage model says, capped at the limit', () => {
    const limited = pod('web-5d9c7-a', { limits: { cpu: '100m' } });
    const text = renderCadvisor([limited, pod('web-5d9c7-b')], usage, now);
    const cpu = value(text, 'container_cpu_usage_seconds_total', { pod: 'web-5d9c7-b', container: 'app' });
    assert.equal(cpu, usage.cpuSecondsBetween(pod('web-5d9c7-b'), 'app', started, now));
    const capped = value(text, 'container_cpu_usage_seconds_total', { pod: 'web-5d9c7-a', container: 'app' })!;
    assert.ok(capped <= 0.1 * 3 * 3600 + 1e-9);
    const periods = value(text, 'container_cpu_cfs_periods_total', { pod: 'web-5d9c7-a' });
    assert.equal(periods, 3 * 3600 * 10);
    const throttled = value(text, 'container_cpu_cfs_throttled_periods_total', { pod: 'web-5d9c7-a' })!;
    assert.equal(throttled, Math.floor(usage.cpuAccountingBetween(limited, 'app', started, now, 0.1).throttledSeconds * 10 + 1e-9));
    assert.ok(throttled > 0, 'a web workload at 14:00 is above a 100m limit');
    assert.equal(value(text, 'container_spec_cpu_quota', { pod: 'web-5d9c7-a' }), 10_000);
    assert.equal(value(text, 'container_cpu_cfs_periods_total', { pod: 'web-5d9c7-b' }), undefined, 'no limit, no CFS series');
    const later = renderCadvisor([limited], usage, now + 60_000);
    assert.ok(value(later, 'container_cpu_usage_seconds_total', { pod: 'web-5d9c7-a', container: 'app' })! > capped, 'the counter grows');
  });

  it('caps the working set at the memory limit and leaves out containers that are not running', () => {
    const tight = pod('web-5d9c7-a', { limits: { memory: '1Mi' } });
    const text = renderCadvisor([tight, pod('web-5d9c7-p', { phase: 'Pending' }), pod('web-5d9c7-s', { phase: 'Succeeded' })], usage, now);
    assert.equal(value(text, 'container_memory_working_set_bytes', { pod: 'web-5d9c7-a', container: 'app' }), 2 ** 20);
    assert.doesNotMatch(text, /web-5d9c7-p|web-5d9c7-s/);
  });

  it('skips a pod with bad usage annotations, saying why, and serves the others', () => {
    const text = renderCadvisor([pod('web-5d9c7-a', { annotations: { 'usage.nephele.dev/profile': 'bursty' } }), pod('web-5d9c7-b')], usage, now);
    assert.match(text, /^# skipped: pod shop\/web-5d9c7-a: annotation usage\.nephele\.dev\/profile: "bursty" is not a usage profile/m);
    assert.match(text, /pod="web-5d9c7-b"/);
    assert.doesNotMatch(text, /pod="web-5d9c7-a"/);
    lint(text);
  });

  it('can leave timestamps out', () => {
    const text = renderCadvisor([pod('web-5d9c7-a')], usage, now, { timestamps: false });
    assert.doesNotMatch(text, new RegExp(` ${now}$`, 'm'));
  });
});

describe('the kube-state-metrics renderer', () => {
  const replicaSet: KubeObject = {
    apiVersion: 'apps/v1', kind: 'ReplicaSet',
    metadata: { name: 'web-5d9c7', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd', controller: true }] },
  };
  const deployment: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: { replicas: 3 } };
  const text = renderKubeStateMetrics({
    pods: [pod('web-5d9c7-a', { limits: { cpu: '500m', memory: '256Mi' } }), pod('lone', { phase: 'Pending', owner: false })],
    nodes: [node], deployments: [deployment], replicaSets: [replicaSet],
  }, now);

  it('passes promtool check metrics', () => lint(text));

  it('has HELP and TYPE for every family and the upstream names and labels', () => {
    for (const name of ['kube_pod_info', 'kube_pod_owner', 'kube_pod_container_info', 'kube_pod_container_resource_requests', 'kube_pod_container_resource_limits', 'kube_pod_status_phase', 'kube_pod_container_status_ready', 'kube_deployment_spec_replicas', 'kube_replicaset_owner', 'kube_node_info', 'kube_node_labels', 'kube_node_status_capacity', 'kube_node_status_allocatable']) {
      assert.match(text, new RegExp(`^# HELP ${name} .+\\n# TYPE ${name} gauge$`, 'm'), name);
    }
    assert.equal(value(text, 'kube_pod_owner', { pod: 'web-5d9c7-a', owner_kind: 'ReplicaSet', owner_name: 'web-5d9c7', owner_is_controller: 'true' }), 1);
    assert.equal(value(text, 'kube_pod_owner', { pod: 'lone', owner_kind: '<none>', owner_name: '<none>' }), 1);
    assert.equal(value(text, 'kube_pod_container_resource_requests', { pod: 'web-5d9c7-a', container: 'app', node: 'node-a', resource: 'cpu', unit: 'core' }), 0.25);
    assert.equal(value(text, 'kube_pod_container_resource_requests', { pod: 'web-5d9c7-a', resource: 'memory', unit: 'byte' }), 128 * 2 ** 20);
    assert.equal(value(text, 'kube_pod_container_resource_limits', { pod: 'web-5d9c7-a', resource: 'cpu', unit: 'core' }), 0.5);
    assert.equal(value(text, 'kube_pod_container_resource_limits', { pod: 'lone' }), undefined);
    assert.equal(value(text, 'kube_pod_info', { pod: 'web-5d9c7-a', node: 'node-a', created_by_kind: 'ReplicaSet', created_by_name: 'web-5d9c7', pod_ip: '10.1.0.4' }), 1);
    assert.equal(value(text, 'kube_pod_container_info', { pod: 'web-5d9c7-a', container: 'app', image_spec: 'shop/web:1', container_id: 'containerd://web-5d9c7-a0123' }), 1);
    assert.equal(value(text, 'kube_pod_container_status_ready', { pod: 'lone', container: 'app' }), 0);
    assert.equal(value(text, 'kube_deployment_spec_replicas', { namespace: 'shop', deployment: 'web' }), 3);
    assert.equal(value(text, 'kube_replicaset_owner', { replicaset: 'web-5d9c7', owner_kind: 'Deployment', owner_name: 'web' }), 1);
  });

  it('gives one phase series per phase, 1 for the current one', () => {
    const phases = ['Pending', 'Succeeded', 'Failed', 'Unknown', 'Running'];
    assert.deepEqual(phases.map((phase) => value(text, 'kube_pod_status_phase', { pod: 'lone', phase })), [1, 0, 0, 0, 0]);
    assert.deepEqual(phases.map((phase) => value(text, 'kube_pod_status_phase', { pod: 'web-5d9c7-a', phase })), [0, 0, 0, 0, 1]);
  });

  it('describes nodes: info, sanitised labels, capacity and allocatable with units', () => {
    assert.equal(value(text, 'kube_node_info', { node: 'node-a', kubelet_version: 'v1.32.0', internal_ip: '10.0.0.9', provider_id: 'sim://node-a', container_runtime_version: 'containerd://1.7.0' }), 1);
    assert.equal(value(text, 'kube_node_labels', { label_topology_kubernetes_io_zone: 'eu-west-1a', label_kubernetes_io_hostname: 'node-a' }), 1);
    assert.equal(value(text, 'kube_node_status_allocatable', { resource: 'cpu', unit: 'core' }), 3.8);
    assert.equal(value(text, 'kube_node_status_capacity', { resource: 'ephemeral_storage', unit: 'byte' }), 100 * 2 ** 30);
    assert.equal(value(text, 'kube_node_status_capacity', { resource: 'nvidia_com_gpu', unit: 'integer' }), 1);
    assert.equal(value(text, 'kube_node_status_capacity', { resource: 'pods', unit: 'integer' }), 110);
  });

  it('escapes label values', () => {
    assert.equal(formatLabels({ a: 'say "hi"\\\nbye' }), '{a="say \\"hi\\"\\\\\\nbye"}');
  });
});

describe('the history writer', () => {
  it('writes OpenMetrics that promtool backfills, with counters that reset where the container really started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nephele-history-'));
    try {
      const file = join(dir, 'h.om');
      const usage = new UsageModel({ seed: 2 });
      const p = pod('web-5d9c7-a', { limits: { cpu: '1', memory: '256Mi' } });
      const summary = await writeSimHistory({ pods: [p, pod('web-5d9c7-p', { phase: 'Pending' })], nodes: [node], days: 0.5, stepSeconds: 600, end: now, usage, out: file });
      const text = readFileSync(file, 'utf8');
      assert.ok(text.endsWith('# EOF\n'));
      assert.equal(summary.from, now - 12 * 3_600_000);
      assert.equal(summary.samples, summary.series * 73);
      assert.doesNotMatch(text, /web-5d9c7-p/, 'only running pods have history');
      const cpu = text.split('\n').filter((l) => l.startsWith('container_cpu_usage_seconds_total{container="app"')).map((l) => l.split(' ').slice(-2).map(Number) as [number, number]);
      assert.equal(cpu.length, 73);
      for (const [v, ts] of cpu) {
        const t = ts * 1000;
        const expected = t < started ? usage.cpuAccountingBetween(p, 'app', summary.from, t, 1).usedSeconds : usage.cpuAccountingBetween(p, 'app', started, t, 1).usedSeconds;
        assert.ok(Math.abs(v - expected) < 1e-6 * Math.max(1, expected), `at ${iso(t)}: ${v} vs ${expected}`);
      }
      assert.match(text, /^kube_pod_owner\{namespace="shop",pod="web-5d9c7-a",uid="web-5d9c7-a-uid",owner_kind="ReplicaSet",owner_name="web-5d9c7",owner_is_controller="true"\} 1 \d+$/m);
      assert.match(text, /^kube_node_status_allocatable\{node="node-a",resource="cpu",unit="core"\} 3.8 \d+$/m);
      assert.ok(promtool, needPromtool);
      const result = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '-q', file, join(dir, 'data')], { encoding: 'utf8' });
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses nonsense lengths and steps', async () => {
    await assert.rejects(writeSimHistory({ pods: [], days: 0, out: '/dev/null' }), /--days 0: give a positive number of days/);
    await assert.rejects(writeSimHistory({ pods: [], days: 1, stepSeconds: 0.5, out: '/dev/null' }), /whole number of seconds/);
  });
});
