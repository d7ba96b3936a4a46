/**
 * PodInfo is a pod parsed once for scheduling: requests summed, selectors compiled, affinity and
 * spread constraints read. Every cycle and every node reads these fields instead of the JSON.
 */
import type { KubeObject } from '../machinery/object.ts';
import { flatKey } from '../machinery/flat-key.ts';
import { gpuLinkedAnnotation, gpuModelAnnotation, numaPolicyAnnotation } from './annotations.ts';
import { defaultMemoryRequest, defaultMilliCpuRequest, resourceGpu, Resources } from './resources.ts';

type Json = Record<string, unknown>;

function rec(v: unknown): Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
}
function arr(v: unknown): Json[] {
  return Array.isArray(v) ? (v.filter((x) => x !== null && typeof x === 'object') as Json[]) : [];
}
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

/** A compiled label selector; `matches` is the hot path of affinity and spreading. */
export interface Selector {
  matches(labels: Record<string, string> | undefined): boolean;
  /** True when it selects everything. */
  readonly empty: boolean;
}

const nothing: Selector = { matches: () => false, empty: false };
const everything: Selector = { matches: () => true, empty: true };

/**
 * Compiles a metav1.LabelSelector (`matchLabels`, `matchExpressions`). An absent selector
 * selects nothing (as in affinity terms and spread constraints); `{}` selects everything.
 */
export function compileSelector(selector: unknown): Selector {
  if (selector === null || typeof selector !== 'object') return nothing;
  const s = selector as Json;
  const keys: string[] = [];
  const values: string[] = [];
  for (const [k, v] of Object.entries(rec(s.matchLabels))) {
    keys.push(k);
    values.push(String(v));
  }
  const exprs = arr(s.matchExpressions).map((e) => ({ key: String(e.key), op: String(e.operator), values: strings(e.values) }));
  if (keys.length === 0 && exprs.length === 0) return everything;
  return {
    empty: false,
    matches(labels) {
      if (!labels) labels = {};
      for (let i = 0; i < keys.length; i++) if (labels[keys[i]!] !== values[i]) return false;
      for (const e of exprs) {
        const v = labels[e.key];
        switch (e.op) {
          case 'In': if (v === undefined || !e.values.includes(v)) return false; break;
          case 'NotIn': if (v !== undefined && e.values.includes(v)) return false; break;
          case 'Exists': if (v === undefined) return false; break;
          case 'DoesNotExist': if (v !== undefined) return false; break;
          default: return false;
        }
      }
      return true;
    },
  };
}

export interface Toleration {
  key: string | undefined;
  operator: 'Exists' | 'Equal';
  value: string;
  effect: string | undefined;
}

export interface Taint {
  key: string;
  value: string;
  effect: string;
}

/** True when `t` tolerates `taint`, with upstream's rules (empty key + Exists tolerates everything). */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key === undefined || t.key === '') return t.operator === 'Exists';
  if (t.key !== taint.key) return false;
  return t.operator === 'Exists' || t.value === taint.value;
}

/** One node selector requirement, on labels or (matchFields) on the node's name. */
export interface NodeRequirement {
  key: string;
  op: string;
  values: string[];
  field: boolean;
}

/** A NodeSelectorTerm: all its requirements must hold. A term with none matches no node. */
export type NodeSelectorTerm = NodeRequirement[];

function parseTerm(term: Json): NodeSelectorTerm {
  const reqs: NodeRequirement[] = [];
  for (const e of arr(term.matchExpressions)) reqs.push({ key: String(e.key), op: String(e.operator), values: strings(e.values), field: false });
  for (const e of arr(term.matchFields)) reqs.push({ key: String(e.key), op: String(e.operator), values: strings(e.values), field: true });
  return reqs;
}

/** True when a node with `name` and `labels` satisfies every requirement of `term`. */
export function nodeMatchesTerm(term: NodeSelectorTerm, name: string, labels: Record<string, string>): boolean {
  if (term.length === 0) return false;
  for (const r of term) {
    const v = r.field ? (r.key === 'metadata.name' ? name : undefined) : labels[r.key];
    switch (r.op) {
      case 'In': if (v === undefined || !r.values.includes(v)) return false; break;
      case 'NotIn': if (v !== undefined && r.values.includes(v)) return false; break;
      case 'Exists': if (v === undefined) return false; break;
      case 'DoesNotExist': if (v !== undefined) return false; break;
      case 'Gt': if (v === undefined || !(Number(v) > Number(r.values[0]))) return false; break;
      case 'Lt': if (v === undefined || !(Number(v) < Number(r.values[0]))) return false; break;
      default: return false;
    }
  }
  return true;
}

/** A pod affinity or anti-affinity term, with the namespaces it looks in resolved. */
export interface AffinityTerm {
  selector: Selector;
  /** Namespaces the term looks in; null means every namespace (an empty namespaceSelector). */
  namespaces: Set<string> | null;
  topologyKey: string;
  weight: number;
}

function parseAffinityTerms(list: unknown, namespace: string, weighted: boolean): AffinityTerm[] {
  return arr(list).map((item) => {
    const term = weighted ? rec(item.podAffinityTerm) : item;
    const nsSel = term.namespaceSelector;
    const listed = strings(term.namespaces);
    let namespaces: Set<string> | null;
    if (nsSel !== undefined && nsSel !== null && compileSelector(nsSel).empty) namespaces = null;
    else namespaces = new Set(listed.length > 0 ? listed : [namespace]);
    return { selector: compileSelector(term.labelSelector), namespaces, topologyKey: String(term.topologyKey ?? ''), weight: weighted ? Number(item.weight ?? 0) : 0 };
  });
}

/** True when `term` (of a pod in `ownerNamespace`) selects `target`. */
export function termMatches(term: AffinityTerm, target: PodInfo): boolean {
  return (term.namespaces === null || term.namespaces.has(target.namespace)) && term.selector.matches(target.labels);
}

export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway';
  selector: Selector;
  minDomains: number;
  /** Honor (default): only nodes matching the pod's node affinity/selector count as domains. */
  nodeAffinityPolicy: 'Honor' | 'Ignore';
  /** Ignore (default): tainted nodes count too. */
  nodeTaintsPolicy: 'Honor' | 'Ignore';
}

export interface HostPort {
  port: number;
  protocol: string;
  ip: string;
}

/**
 * What scheduling reads from a pod's spec and annotations. Pods made from one template have the
 * same, so they share one (see `podInfo`): a cluster of 20,000 pods from a few Deployments holds a
 * few of these, not 20,000.
 */
export interface PodSpecInfo {
  readonly schedulerName: string;
  readonly priority: number;
  readonly preemptionPolicy: 'PreemptLowerPriority' | 'Never';
  /** Requests for fitting: containers summed, init containers maxed, overhead added; absent requests count as 0. Shared: never changed. */
  readonly requests: Resources;
  /** CPU for scoring: an absent request counts as 100m. */
  readonly nonZeroMilliCpu: number;
  /** Memory for scoring: an absent request counts as 200Mi. */
  readonly nonZeroMemory: number;
  readonly hostPorts: HostPort[];
  readonly tolerations: Toleration[];
  readonly nodeSelector: Array<[string, string]>;
  readonly requiredNodeTerms: NodeSelectorTerm[] | null;
  readonly preferredNodeTerms: Array<{ weight: number; term: NodeSelectorTerm }>;
  readonly requiredAffinity: AffinityTerm[];
  readonly requiredAntiAffinity: AffinityTerm[];
  readonly preferredAffinity: AffinityTerm[];
  readonly preferredAntiAffinity: AffinityTerm[];
  readonly spreadConstraints: SpreadConstraint[];
  readonly guaranteed: boolean;
  /** True when the pod asked for single-NUMA placement and is Guaranteed, so it is aligned. */
  readonly numaAligned: boolean;
  readonly gpuCount: number;
  readonly gpuModel: string | undefined;
  readonly gpuLinked: boolean;
  /** True when the pod has any pod affinity or anti-affinity term. */
  readonly hasAffinity: boolean;
}

/**
 * A pod parsed for scheduling: what is its own (identity, labels, node, start time) in fields,
 * and what comes from its spec in a `PodSpecInfo` it may share with its siblings, read through
 * getters so that plugins see one flat object.
 */
export class PodInfo implements PodSpecInfo {
  readonly pod: KubeObject;
  /** `namespace/name`. */
  readonly key: string;
  /** Milliseconds since the epoch the pod started (or was created), for preemption's tie-break. */
  readonly startTime: number;
  readonly spec: PodSpecInfo;

  constructor(pod: KubeObject, key: string, startTime: number, spec: PodSpecInfo) {
    this.pod = pod;
    this.key = key;
    this.startTime = startTime;
    this.spec = spec;
  }

  // Read from the pod itself rather than copied: a field is 8 bytes a pod.
  get uid(): string { return this.pod.metadata.uid ?? this.key; }
  get namespace(): string { return this.pod.metadata.namespace ?? 'default'; }
  get name(): string { return this.pod.metadata.name ?? ''; }
  get labels(): Record<string, string> { return this.pod.metadata.labels ?? noLabels; }
  get nodeName(): string | undefined {
    const name = (this.pod.spec as Json | undefined)?.nodeName;
    return typeof name === 'string' && name !== '' ? name : undefined;
  }
  get terminating(): boolean { return this.pod.metadata.deletionTimestamp !== undefined; }

  get schedulerName(): string { return this.spec.schedulerName; }
  get priority(): number { return this.spec.priority; }
  get preemptionPolicy(): 'PreemptLowerPriority' | 'Never' { return this.spec.preemptionPolicy; }
  get requests(): Resources { return this.spec.requests; }
  get nonZeroMilliCpu(): number { return this.spec.nonZeroMilliCpu; }
  get nonZeroMemory(): number { return this.spec.nonZeroMemory; }
  get hostPorts(): HostPort[] { return this.spec.hostPorts; }
  get tolerations(): Toleration[] { return this.spec.tolerations; }
  get nodeSelector(): Array<[string, string]> { return this.spec.nodeSelector; }
  get requiredNodeTerms(): NodeSelectorTerm[] | null { return this.spec.requiredNodeTerms; }
  get preferredNodeTerms(): Array<{ weight: number; term: NodeSelectorTerm }> { return this.spec.preferredNodeTerms; }
  get requiredAffinity(): AffinityTerm[] { return this.spec.requiredAffinity; }
  get requiredAntiAffinity(): AffinityTerm[] { return this.spec.requiredAntiAffinity; }
  get preferredAffinity(): AffinityTerm[] { return this.spec.preferredAffinity; }
  get preferredAntiAffinity(): AffinityTerm[] { return this.spec.preferredAntiAffinity; }
  get spreadConstraints(): SpreadConstraint[] { return this.spec.spreadConstraints; }
  get guaranteed(): boolean { return this.spec.guaranteed; }
  get numaAligned(): boolean { return this.spec.numaAligned; }
  get gpuCount(): number { return this.spec.gpuCount; }
  get gpuModel(): string | undefined { return this.spec.gpuModel; }
  get gpuLinked(): boolean { return this.spec.gpuLinked; }
  get hasAffinity(): boolean { return this.spec.hasAffinity; }
}

/**
 * One empty list for every absent or empty part of a spec. Parsed lists belong to a PodSpecInfo,
 * which the pods of one template share (see `sharedSpecInfo`), so nothing may change them; they
 * are not frozen because the scheduler's hot loops read them on every node, and a mix of frozen
 * and ordinary arrays there would make those reads polymorphic.
 */
const none: readonly never[] = [];
const noLabels: Record<string, string> = Object.freeze({}) as Record<string, string>;

function parsedList<T>(source: unknown, parse: () => T[]): T[] {
  if (source === undefined || source === null || (Array.isArray(source) && source.length === 0)) return none as unknown as T[];
  const parsed = parse();
  return parsed.length === 0 ? none as unknown as T[] : parsed;
}

function containerResources(c: Json): { requests: Resources; limits: Json; reqs: Json } {
  const res = rec(c.resources);
  const limits = rec(res.limits);
  // Requests default to limits, as the API server's defaulting does.
  const reqs = { ...limits, ...rec(res.requests) };
  return { requests: Resources.fromList(reqs), limits, reqs };
}

/**
 * PodSpecInfos by the identity of the spec parts they are read from, one WeakMap level per part
 * (`absent` standing for a missing one), then by the scalar fields. Only frozen (stored,
 * hash-consed) parts are used as keys, so a part cannot change after its PodSpecInfo was read;
 * a pod with any unfrozen part gets a PodSpecInfo of its own.
 */
const specInfos = new WeakMap<object, unknown>();
const absent = Object.freeze({});

function sharedSpecInfo(spec: Json, annotations: Record<string, string> | undefined, namespace: string): PodSpecInfo {
  const parts = [spec.containers, spec.initContainers, spec.overhead, spec.affinity, spec.tolerations, spec.nodeSelector, spec.topologySpreadConstraints, annotations];
  const keys: object[] = [];
  for (const part of parts) {
    if (part === undefined || part === null) keys.push(absent);
    else if (typeof part === 'object' && Object.isFrozen(part)) keys.push(part);
    else return readSpecInfo(spec, annotations ?? {}, namespace);
  }
  let level = specInfos;
  for (const key of keys) {
    let next = level.get(key) as WeakMap<object, unknown> | undefined;
    if (!next) level.set(key, (next = new WeakMap()));
    level = next;
  }
  // The last level holds, under `absent`, the PodSpecInfos of these parts by their scalar fields.
  let byScalars = level.get(absent) as Map<string, PodSpecInfo> | undefined;
  if (!byScalars) level.set(absent, (byScalars = new Map()));
  const scalars = `${namespace}\u0000${String(spec.priority)}\u0000${String(spec.schedulerName)}\u0000${String(spec.preemptionPolicy)}`;
  let info = byScalars.get(scalars);
  if (!info) byScalars.set(scalars, (info = readSpecInfo(spec, annotations ?? {}, namespace)));
  return info;
}

function readSpecInfo(spec: Json, annotations: Record<string, string>, namespace: string): PodSpecInfo {
  const requests = new Resources();
  let nonZeroCpu = 0;
  let nonZeroMem = 0;
  let guaranteed = true;
  const hostPorts: HostPort[] = [];
  const containers = arr(spec.containers);
  if (containers.length === 0) guaranteed = false;
  for (const c of containers) {
    const { requests: r, limits, reqs } = containerResources(c);
    requests.add(r);
    nonZeroCpu += rec(reqs).cpu === undefined ? defaultMilliCpuRequest : r.milliCpu;
    nonZeroMem += rec(reqs).memory === undefined ? defaultMemoryRequest : r.memory;
    if (limits.cpu === undefined || limits.memory === undefined || String(limits.cpu) !== String(reqs.cpu) || String(limits.memory) !== String(reqs.memory)) guaranteed = false;
    for (const p of arr(c.ports)) {
      const hostPort = Number(p.hostPort ?? 0);
      if (hostPort > 0) hostPorts.push({ port: hostPort, protocol: String(p.protocol ?? 'TCP'), ip: String(p.hostIP ?? '0.0.0.0') });
    }
  }
  // Sidecars (restartable init containers) run beside the app; other init containers one at a time.
  const initMax = new Resources();
  const sidecars = new Resources();
  for (const c of arr(spec.initContainers)) {
    const { requests: r } = containerResources(c);
    if (c.restartPolicy === 'Always') {
      sidecars.add(r);
    } else {
      const withSidecars = r.clone();
      withSidecars.add(sidecars);
      initMax.max(withSidecars);
    }
  }
  requests.add(sidecars);
  nonZeroCpu += sidecars.milliCpu;
  nonZeroMem += sidecars.memory;
  requests.max(initMax);
  const overhead = Resources.fromList(spec.overhead);
  requests.add(overhead);
  nonZeroCpu = Math.max(nonZeroCpu, initMax.milliCpu) + overhead.milliCpu;
  nonZeroMem = Math.max(nonZeroMem, initMax.memory) + overhead.memory;

  const affinity = rec(spec.affinity);
  const nodeAff = rec(affinity.nodeAffinity);
  const requiredNode = nodeAff.requiredDuringSchedulingIgnoredDuringExecution;
  const podAff = rec(affinity.podAffinity);
  const podAnti = rec(affinity.podAntiAffinity);

  const priority = Number(spec.priority ?? 0);
  // Terms without namespaces mean the pod's own: the parse depends on it.
  const requiredAffinity = parsedList(podAff.requiredDuringSchedulingIgnoredDuringExecution, () => parseAffinityTerms(podAff.requiredDuringSchedulingIgnoredDuringExecution, namespace, false));
  const requiredAntiAffinity = parsedList(podAnti.requiredDuringSchedulingIgnoredDuringExecution, () => parseAffinityTerms(podAnti.requiredDuringSchedulingIgnoredDuringExecution, namespace, false));
  const preferredAffinity = parsedList(podAff.preferredDuringSchedulingIgnoredDuringExecution, () => parseAffinityTerms(podAff.preferredDuringSchedulingIgnoredDuringExecution, namespace, true));
  const preferredAntiAffinity = parsedList(podAnti.preferredDuringSchedulingIgnoredDuringExecution, () => parseAffinityTerms(podAnti.preferredDuringSchedulingIgnoredDuringExecution, namespace, true));
  return {
    schedulerName: typeof spec.schedulerName === 'string' && spec.schedulerName !== '' ? spec.schedulerName : 'default-scheduler',
    priority: Number.isFinite(priority) ? priority : 0,
    preemptionPolicy: spec.preemptionPolicy === 'Never' ? 'Never' : 'PreemptLowerPriority',
    requests,
    nonZeroMilliCpu: nonZeroCpu,
    nonZeroMemory: nonZeroMem,
    hostPorts: hostPorts.length === 0 ? (none as unknown as HostPort[]) : hostPorts,
    tolerations: parsedList(spec.tolerations, () => arr(spec.tolerations).map((t) => ({
      key: t.key === undefined ? undefined : String(t.key),
      operator: t.operator === 'Exists' ? 'Exists' as const : 'Equal' as const,
      value: String(t.value ?? ''),
      effect: t.effect ? String(t.effect) : undefined,
    }))),
    nodeSelector: parsedList(spec.nodeSelector, () => Object.entries(rec(spec.nodeSelector)).map(([k, v]) => [k, String(v)] as [string, string])),
    requiredNodeTerms: requiredNode ? parsedList(requiredNode, () => arr(rec(requiredNode).nodeSelectorTerms).map(parseTerm)) : null,
    preferredNodeTerms: parsedList(nodeAff.preferredDuringSchedulingIgnoredDuringExecution, () => arr(nodeAff.preferredDuringSchedulingIgnoredDuringExecution).map((p) => ({ weight: Number(p.weight ?? 0), term: parseTerm(rec(p.preference)) }))),
    requiredAffinity,
    requiredAntiAffinity,
    preferredAffinity,
    preferredAntiAffinity,
    spreadConstraints: parsedList(spec.topologySpreadConstraints, () => arr(spec.topologySpreadConstraints).map((c) => ({
      maxSkew: Math.max(1, Number(c.maxSkew ?? 1)),
      topologyKey: String(c.topologyKey ?? ''),
      whenUnsatisfiable: c.whenUnsatisfiable === 'ScheduleAnyway' ? 'ScheduleAnyway' : 'DoNotSchedule',
      selector: compileSelector(c.labelSelector),
      minDomains: Math.max(1, Number(c.minDomains ?? 1)),
      nodeAffinityPolicy: c.nodeAffinityPolicy === 'Ignore' ? 'Ignore' : 'Honor',
      nodeTaintsPolicy: c.nodeTaintsPolicy === 'Honor' ? 'Honor' : 'Ignore',
    }))),
    guaranteed,
    numaAligned: guaranteed && annotations[numaPolicyAnnotation] === 'single-numa-node',
    gpuCount: requests.scalar?.get(resourceGpu) ?? 0,
    gpuModel: annotations[gpuModelAnnotation],
    gpuLinked: annotations[gpuLinkedAnnotation] === 'true',
    hasAffinity: requiredAffinity.length > 0 || requiredAntiAffinity.length > 0 || preferredAffinity.length > 0 || preferredAntiAffinity.length > 0,
  };
}

/** Parses `pod` once for scheduling. Malformed fields read as absent rather than throwing. */
export function podInfo(pod: KubeObject): PodInfo {
  const spec = rec(pod.spec);
  const status = rec(pod.status);
  const meta = pod.metadata;
  const namespace = meta.namespace ?? 'default';
  const name = meta.name ?? '';
  const key = flatKey([namespace, name], '/');
  const startTime = Date.parse(String(status.startTime ?? meta.creationTimestamp ?? '')) || 0;
  return new PodInfo(
    pod,
    key,
    startTime,
    sharedSpecInfo(spec, meta.annotations, namespace),
  );
}

/** True when `pod` has any pod affinity or anti-affinity term. */
export function hasPodAffinity(p: PodInfo): boolean {
  return p.hasAffinity;
}
