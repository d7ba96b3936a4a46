import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../machinery/object.ts';
import { UsageAnnotationError, UsageModel, workloadOf } from './usage.ts';

const hour = 3_600_000;
const day = 24 * hour;
/** Monday 2026-01-05 00:00 UTC. */
const monday = Date.parse('2026-01-05T00:00:00Z');

interface PodOptions {
  name?: string;
  owner?: string;
  annotations?: Record<string, string>;
  containers?: Array<{ name: string; requests?: Record<string, string>; limits?: Record<string, string> }>;
  startedAt?: string;
}

function pod(options: PodOptions = {}): KubeObject {
  const owner = options.owner ?? 'web-5d9c7';
  const containers = options.containers ?? [{ name: 'app', requests: { cpu: '500m', memory: '256Mi' } }];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name ?? `${owner}-abcde`,
      namespace: 'shop',
      uid: `uid-${options.name ?? 'a'}`,
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { 'pod-template-hash': '5d9c7' },
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: 'rs', controller: true }],
    },
    spec: { containers: containers.map((c) => ({ name: c.name, image: 'img', resources: { ...(c.requests ? { requests: c.requests } : {}), ...(c.limits ? { limits: c.limits } : {}) } })) },
    ...(options.startedAt ? { status: { phase: 'Running', containerStatuses: containers.map((c) => ({ name: c.name, state: { running: { startedAt: options.startedAt } } })) } } : {}),
  };
}

function mean(model: UsageModel, p: KubeObject, from: number, to: number, what: 'cpu' | 'memory', container = 'app'): number {
  let sum = 0;
  let n = 0;
  for (let t = from; t < to; t += 60_000) {
    sum += model.containerUsage(p, container, t)[what];
    n++;
  }
  return sum / n;
}

describe('the usage model', () => {
  it('is a pure function of seed, pod, container and time', () => {
    const a = new UsageModel({ seed: 3 });
    const b = new UsageModel({ seed: 3 });
    const p = pod();
    const times = [monday + 5 * hour + 1234, monday - 40 * day, monday + 3 * day + 17];
    const forward = times.map((t) => a.containerUsage(p, 'app', t));
    const backward = [...times].reverse().map((t) => b.containerUsage(structuredClone(p), 'app', t)).reverse();
    assert.deepEqual(forward, backward);
    assert.equal(a.cpuSecondsBetween(p, 'app', monday, monday + day), b.cpuSecondsBetween(structuredClone(p), 'app', monday, monday + day));
    const other = new UsageModel({ seed: 4 });
    assert.notDeepEqual(other.containerUsage(p, 'app', times[0]!), forward[0]);
  });

  it('makes the replicas of one workload alike but not identical, and other workloads different', () => {
    const model = new UsageModel();
    const one = pod({ name: 'web-5d9c7-aaaaa' });
    const two = pod({ name: 'web-5d9c7-bbbbb' });
    const other = pod({ owner: 'api-7f6b4', name: 'api-7f6b4-ccccc' });
    assert.equal(workloadOf(one).key, 'shop/Deployment/web');
    assert.deepEqual(model.describeContainer(one, 'app'), model.describeContainer(two, 'app'), 'same profile and base');
    assert.notDeepEqual(model.containerUsage(one, 'app', monday + 14 * hour), model.containerUsage(two, 'app', monday + 14 * hour));
    // Hourly means of the two replicas stay within 15% of each other, but for hours with a spike of one's own.
    let close = 0;
    for (let h = 0; h < 24; h++) {
      const x = mean(model, one, monday + h * hour, monday + (h + 1) * hour, 'cpu');
      const y = mean(model, two, monday + h * hour, monday + (h + 1) * hour, 'cpu');
      if (Math.abs(x - y) / Math.max(x, y) < 0.15) close++;
    }
    assert.ok(close >= 20, `only ${close} of 24 hours alike`);
    assert.notEqual(model.describeContainer(other, 'app').baseCpu, model.describeContainer(one, 'app').baseCpu);
  });

  it('derives base use from the requests, 40-70% of them, unless annotated', () => {
    const model = new UsageModel();
    for (const owner of ['a-1', 'b-2', 'c-3', 'd-4', 'e-5']) {
      const base = model.describeContainer(pod({ owner }), 'app');
      assert.equal(base.profile, 'web');
      assert.ok(base.baseCpu >= 0.2 && base.baseCpu <= 0.35, `cpu base ${base.baseCpu}`);
      assert.ok(base.baseMemory >= 0.4 * 256 * 2 ** 20 && base.baseMemory <= 0.7 * 256 * 2 ** 20, `memory base ${base.baseMemory}`);
    }
    const annotated = pod({
      annotations: { 'usage.nephele.dev/profile': 'steady', 'usage.nephele.dev/cpu': '1.5', 'usage.nephele.dev/memory': '1Gi', 'usage.nephele.dev/cpu.sidecar': '50m' },
      containers: [{ name: 'app' }, { name: 'sidecar' }],
    });
    assert.deepEqual(model.describeContainer(annotated, 'app'), { profile: 'steady', baseCpu: 1.5, baseMemory: 2 ** 30 });
    assert.deepEqual(model.describeContainer(annotated, 'sidecar'), { profile: 'steady', baseCpu: 0.05, baseMemory: 2 ** 30 });
    const bare = model.describeContainer(pod({ containers: [{ name: 'app' }] }), 'app');
    assert.ok(bare.baseCpu > 0 && bare.baseCpu <= 0.1, 'no request: a base under 100m');
  });

  it('changes the shape with the seed annotation', () => {
    const model = new UsageModel();
    const plain = pod();
    const seeded = pod({ annotations: { 'usage.nephele.dev/seed': '42' } });
    assert.notEqual(model.containerUsage(plain, 'app', monday).cpu, model.containerUsage(seeded, 'app', monday).cpu);
  });

  it('says which annotation is wrong and how to fix it', () => {
    const model = new UsageModel();
    assert.throws(() => model.containerUsage(pod({ annotations: { 'usage.nephele.dev/profile': 'bursty' } }), 'app', monday),
      (err: Error) => err instanceof UsageAnnotationError && /shop\/web-5d9c7-abcde/.test(err.message) && /usage\.nephele\.dev\/profile/.test(err.message) && /web, batch, steady, memory-leak, idle/.test(err.message));
    assert.throws(() => model.containerUsage(pod({ annotations: { 'usage.nephele.dev/cpu': 'lots' } }), 'app', monday), /usage\.nephele\.dev\/cpu: "lots" is not a quantity/);
    assert.throws(() => model.containerUsage(pod({ annotations: { 'usage.nephele.dev/seed': 'x' } }), 'app', monday), /is not an integer/);
    assert.throws(() => model.containerUsage(pod(), 'nope', monday), /has no container named "nope"/);
  });

  it('is busier by day than by night for the web profile, and quieter at weekends', () => {
    const model = new UsageModel({ seed: 9 });
    const p = pod();
    for (let d = 0; d < 5; d++) {
      const start = monday + d * day;
      const afternoon = mean(model, p, start + 12 * hour, start + 16 * hour, 'cpu');
      const night = mean(model, p, start + 1 * hour, start + 5 * hour, 'cpu');
      assert.ok(afternoon > 3 * night, `weekday ${d}: afternoon ${afternoon} vs night ${night}`);
      assert.ok(mean(model, p, start + 12 * hour, start + 16 * hour, 'memory') > mean(model, p, start + hour, start + 5 * hour, 'memory'));
    }
    const weekday = mean(model, p, monday + 2 * day, monday + 3 * day, 'cpu');
    const saturday = mean(model, p, monday + 5 * day, monday + 6 * day, 'cpu');
    const ratio = saturday / weekday;
    assert.ok(ratio > 0.5 && ratio < 0.8, `Saturday / Wednesday = ${ratio}`);
  });

  it('runs batch work in a nightly window', () => {
    const model = new UsageModel();
    const p = pod({ annotations: { 'usage.nephele.dev/profile': 'batch' } });
    const night = mean(model, p, monday + 1.5 * hour, monday + 3.5 * hour, 'cpu');
    const day_ = mean(model, p, monday + 10 * hour, monday + 20 * hour, 'cpu');
    assert.ok(night > 4 * day_, `night ${night} vs day ${day_}`);
  });

  it('grows memory for the memory-leak profile from the container start, resetting on restart', () => {
    const model = new UsageModel();
    const started = monday + 6 * hour;
    const p = pod({ annotations: { 'usage.nephele.dev/profile': 'memory-leak' }, startedAt: new Date(started).toISOString() });
    const early = model.containerUsage(p, 'app', started + 60_000).memory;
    const later = model.containerUsage(p, 'app', started + 12 * hour).memory;
    assert.ok(later > 1.1 * early, `memory ${early} -> ${later}`);
    const restarted = pod({ annotations: { 'usage.nephele.dev/profile': 'memory-leak' }, startedAt: new Date(started + 11 * hour).toISOString() });
    assert.ok(model.containerUsage(restarted, 'app', started + 12 * hour).memory < later, 'a restart frees the leaked memory');
  });

  it('keeps idle and steady workloads flat apart from rare spikes', () => {
    const model = new UsageModel({ seed: 5 });
    const idle = pod({ annotations: { 'usage.nephele.dev/profile': 'idle' } });
    assert.ok(model.describeContainer(idle, 'app').baseCpu <= 0.05 * 0.5);
    const steady = pod({ annotations: { 'usage.nephele.dev/profile': 'steady' } });
    const values: number[] = [];
    for (let t = monday; t < monday + 14 * day; t += 60_000) values.push(model.containerUsage(steady, 'app', t).cpu);
    values.sort((a, b) => a - b);
    const median = values[values.length >> 1]!;
    const p90 = values[Math.floor(values.length * 0.9)]!;
    assert.ok(p90 < 1.15 * median, `steady: p90 ${p90} vs median ${median}`);
    assert.ok(values.at(-1)! > 1.8 * median, `fourteen days hold at least one spike: max ${values.at(-1)} vs median ${median}`);
  });

  it('integrates CPU exactly and additively', () => {
    const model = new UsageModel();
    const p = pod();
    const from = monday + 3 * hour + 1234;
    const to = from + day;
    let sum = 0;
    for (let t = from; t < to; t += 1000) sum += model.containerUsage(p, 'app', t + 500).cpu;
    const integral = model.cpuSecondsBetween(p, 'app', from, to);
    assert.ok(Math.abs(integral - sum) / integral < 1e-4, `integral ${integral} vs sum ${sum}`);
    const mid = from + 7 * hour + 333;
    assert.ok(Math.abs(model.cpuSecondsBetween(p, 'app', from, mid) + model.cpuSecondsBetween(p, 'app', mid, to) - integral) < 1e-6);
    // Fourteen days from a cold cache and a warm one agree.
    const cold = new UsageModel().cpuSecondsBetween(p, 'app', monday - 14 * day + 5, monday);
    assert.ok(Math.abs(model.cpuSecondsBetween(p, 'app', monday - 14 * day + 5, monday) - cold) < 1e-6);
    assert.equal(model.cpuSecondsBetween(p, 'app', to, from), 0);
  });

  it('caps CPU at a limit and counts the time above it', () => {
    const model = new UsageModel();
    const p = pod({ annotations: { 'usage.nephele.dev/profile': 'steady', 'usage.nephele.dev/cpu': '300m' } });
    const unlimited = model.cpuAccountingBetween(p, 'app', monday, monday + hour);
    assert.equal(unlimited.usedSeconds, unlimited.demandSeconds);
    assert.equal(unlimited.throttledSeconds, 0);
    const limited = model.cpuAccountingBetween(p, 'app', monday, monday + hour, 0.2);
    assert.ok(limited.usedSeconds <= 0.2 * 3600 + 1e-9);
    assert.ok(limited.usedSeconds > 0.19 * 3600, 'a demand well above the limit uses all of it');
    assert.ok(limited.throttledSeconds > 0.95 * 3600);
    const generous = model.cpuAccountingBetween(p, 'app', monday, monday + hour, 10);
    assert.equal(generous.throttledSeconds, 0);
    assert.equal(generous.usedSeconds, generous.demandSeconds);
  });
});
