/**
 * The kubelet's cAdvisor metrics for a simulated cluster, computed from the usage model: CPU used
 * (a counter since the container started), memory working set, and CFS quota and throttling for
 * containers with a CPU limit. Names and labels are the kubelet's (`/metrics/cadvisor`), including
 * the pod-level cgroup series with `container=""` that real queries filter out with
 * `container!=""`.
 *
 * Only running containers have series, as on a real node: a container is running when its status
 * says so, or, for a Running pod without container statuses, since the pod's start time.
 */
import { createHash } from 'node:crypto';
import type { KubeObject } from '../../machinery/object.ts';
import { array, record } from '../pods.ts';
import { parseQuantity } from '../../machinery/quantity.ts';
import { startedAt, type UsageModel } from '../usage.ts';
import { formatPrometheusText, type Labels, type MetricFamily, type Sample } from './exposition.ts';

/** The CFS period the kubelet sets: 100 ms. */
export const cfsPeriodMs = 100;

/** One running container as cAdvisor sees it. */
export interface RunningContainer {
  pod: KubeObject;
  name: string;
  /** When it started (ms). */
  started: number;
  /** cores, or undefined without a limit. */
  cpuLimit: number | undefined;
  /** bytes, or undefined without a limit. */
  memoryLimit: number | undefined;
  labels: Labels;
}

export interface CadvisorOptions {
  /** Stamp samples with `now`, as the kubelet does (default true). */
  timestamps?: boolean;
}

function limitOf(container: Record<string, unknown>, resource: 'cpu' | 'memory'): number | undefined {
  const raw = record(record(container.resources).limits)[resource];
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
  try {
    const value = parseQuantity(raw);
    return value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The pod's QoS class: its status's, else worked out from the containers' requests and limits. */
export function qosClassOf(pod: KubeObject): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const stated = record(pod.status).qosClass;
  if (stated === 'Guaranteed' || stated === 'Burstable' || stated === 'BestEffort') return stated;
  const containers = array(record(pod.spec).containers);
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const requests = record(record(c.resources).requests);
    const limits = record(record(c.resources).limits);
    if (Object.keys(requests).length || Object.keys(limits).length) any = true;
    for (const r of ['cpu', 'memory']) {
      const limit = limits[r];
      const request = requests[r] ?? limit;
      if (limit === undefined || String(request) !== String(limit)) guaranteed = false;
    }
  }
  return guaranteed ? 'Guaranteed' : any ? 'Burstable' : 'BestEffort';
}

/** The pod's cgroup path as the kubelet's cgroupfs driver names it. */
export function podCgroup(pod: KubeObject): string {
  const qos = qosClassOf(pod);
  const uid = pod.metadata.uid ?? '';
  return qos === 'Guaranteed' ? `/kubepods/pod${uid}` : `/kubepods/${qos.toLowerCase()}/pod${uid}`;
}

/** The container's runtime ID: from its status (`containerd://ID`), else a stable made-up one. */
function containerId(pod: KubeObject, name: string, status: Record<string, unknown> | undefined): string {
  const stated = String(status?.containerID ?? '');
  const id = stated.replace(/^[a-z]+:\/\//, '');
  if (id) return id;
  return createHash('sha256').update(`${pod.metadata.uid ?? pod.metadata.name}/${name}`).digest('hex');
}

/** The running containers of `pods` with their cAdvisor labels, in namespace/pod/container order. */
export function runningContainers(pods: readonly KubeObject[]): RunningContainer[] {
  const out: RunningContainer[] = [];
  const sorted = [...pods].sort((a, b) => {
    const ka = `${a.metadata.namespace}/${a.metadata.name}`;
    const kb = `${b.metadata.namespace}/${b.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  for (const pod of sorted) {
    const status = record(pod.status);
    if (status.phase !== 'Running') continue;
    const statuses = array(status.containerStatuses);
    for (const container of array(record(pod.spec).containers)) {
      const name = String(container.name ?? '');
      const containerStatus = statuses.find((s) => s.name === name);
      if (containerStatus && record(containerStatus.state).running === undefined) continue;
      const started = startedAt(pod, name);
      if (started === undefined) continue;
      const id = containerId(pod, name, containerStatus);
      out.push({
        pod,
        name,
        started,
        cpuLimit: limitOf(container, 'cpu'),
        memoryLimit: limitOf(container, 'memory'),
        labels: {
          container: name,
          id: `${podCgroup(pod)}/${id}`,
          image: String(containerStatus?.image ?? container.image ?? ''),
          name: id,
          namespace: pod.metadata.namespace ?? '',
          pod: pod.metadata.name ?? '',
        },
      });
    }
  }
  return out;
}

/** What cAdvisor reports for one running container at `now`. */
export interface ContainerReading {
  cpuSeconds: number;
  workingSetBytes: number;
  /** Present only with a CPU limit. */
  cfs?: { periods: number; throttledPeriods: number; quotaMicros: number };
}

/**
 * One container's reading at `now`: CPU used since it started (the model's demand capped at the
 * limit), memory (capped at the limit, where the kubelet would OOM-kill), and with a CPU limit the
 * CFS periods (one per 100 ms) and those in which the demand was above the limit.
 */
export function readContainer(usage: UsageModel, c: RunningContainer, now: number): ContainerReading {
  const from = Math.min(c.started, now);
  const cpu = usage.cpuAccountingBetween(c.pod, c.name, from, now, c.cpuLimit);
  const memory = usage.containerUsage(c.pod, c.name, now).memory;
  const reading: ContainerReading = {
    cpuSeconds: cpu.usedSeconds,
    workingSetBytes: c.memoryLimit === undefined ? memory : Math.min(memory, c.memoryLimit),
  };
  if (c.cpuLimit !== undefined) {
    const periodSeconds = cfsPeriodMs / 1000;
    reading.cfs = {
      periods: Math.floor((now - from) / cfsPeriodMs),
      throttledPeriods: Math.floor(cpu.throttledSeconds / periodSeconds + 1e-9),
      quotaMicros: Math.round(c.cpuLimit * cfsPeriodMs * 1000),
    };
  }
  return reading;
}

/** The labels of a pod's own cgroup series (`container=""`), as the kubelet exports them. */
export function podCgroupLabels(pod: KubeObject): Labels {
  return { container: '', id: podCgroup(pod), image: '', name: '', namespace: pod.metadata.namespace ?? '', pod: pod.metadata.name ?? '' };
}

/** The cAdvisor metric families for the running containers of `pods` at `now` (ms). */
export function cadvisorFamilies(pods: readonly KubeObject[], usage: UsageModel, now: number, options: CadvisorOptions = {}): MetricFamily[] {
  const ts = options.timestamps === false ? undefined : now;
  const stamp = (labels: Labels, value: number): Sample => (ts === undefined ? { labels, value } : { labels, value, timestampMs: ts });
  const cpu: Sample[] = [];
  const memory: Sample[] = [];
  const periods: Sample[] = [];
  const throttled: Sample[] = [];
  const quota: Sample[] = [];
  const period: Sample[] = [];
  let current: { pod: KubeObject; cpu: number; memory: number } | undefined;
  const flushPod = () => {
    if (!current) return;
    const labels = podCgroupLabels(current.pod);
    cpu.push(stamp({ ...labels, cpu: 'total' }, current.cpu));
    memory.push(stamp(labels, current.memory));
    current = undefined;
  };
  for (const c of runningContainers(pods)) {
    if (current && current.pod !== c.pod) flushPod();
    current ??= { pod: c.pod, cpu: 0, memory: 0 };
    const r = readContainer(usage, c, now);
    current.cpu += r.cpuSeconds;
    current.memory += r.workingSetBytes;
    cpu.push(stamp({ ...c.labels, cpu: 'total' }, r.cpuSeconds));
    memory.push(stamp(c.labels, r.workingSetBytes));
    if (r.cfs) {
      periods.push(stamp(c.labels, r.cfs.periods));
      throttled.push(stamp(c.labels, r.cfs.throttledPeriods));
      quota.push(stamp(c.labels, r.cfs.quotaMicros));
      period.push(stamp(c.labels, cfsPeriodMs * 1000));
    }
  }
  flushPod();
  return [
    { name: 'container_cpu_usage_seconds_total', type: 'counter', help: 'Cumulative cpu time consumed in seconds.', samples: cpu },
    { name: 'container_memory_working_set_bytes', type: 'gauge', help: 'Current working set in bytes.', samples: memory },
    { name: 'container_cpu_cfs_periods_total', type: 'counter', help: 'Number of elapsed enforcement period intervals.', samples: periods },
    { name: 'container_cpu_cfs_throttled_periods_total', type: 'counter', help: 'Number of throttled period intervals.', samples: throttled },
    { name: 'container_spec_cpu_quota', type: 'gauge', help: 'CPU quota of the container.', samples: quota },
    { name: 'container_spec_cpu_period', type: 'gauge', help: 'CPU period of the container.', samples: period },
  ];
}

/**
 * The cAdvisor exposition (text format 0.0.4) of `pods` at `now` (ms). A pod whose usage
 * annotations do not parse is left out, with a comment line saying why, so one bad pod does not
 * fail the whole scrape.
 */
export function renderCadvisor(pods: readonly KubeObject[], usage: UsageModel, now: number, options: CadvisorOptions = {}): string {
  const good: KubeObject[] = [];
  const problems: string[] = [];
  for (const pod of pods) {
    try {
      for (const c of array(record(pod.spec).containers)) usage.describeContainer(pod, String(c.name ?? ''));
      good.push(pod);
    } catch (err) {
      problems.push(`# skipped: ${(err instanceof Error ? err.message : String(err)).replace(/\n/g, ' ')}\n`);
    }
  }
  return problems.join('') + formatPrometheusText(cadvisorFamilies(good, usage, now, options));
}
