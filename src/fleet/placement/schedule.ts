/**
 * schedulePlacement: one placement decision for one resource template, as a pure function of its
 * inputs (template, placement, Cluster objects, previous decision, options). The same inputs always
 * give the same result: no clock, no randomness, every tie broken by name; and a decision fed back
 * as `previous` with nothing else changed comes back unchanged.
 *
 * The pipeline, per cluster affinity term (the first term that yields a placement wins):
 * PreFilter and Filter plugins (first rejection per cluster is recorded), the replica estimate,
 * PreScore and Score plugins (objectives normalised and combined, plus ClusterLocality), ranking,
 * selection under the spread constraints, then division of the replicas.
 */
import type { ExplanationEntry, PlacementSpec } from '../../api/kinds/policy.ts';
import type { KubeObject } from '../../machinery/object.ts';
import type { ClusterInfo } from './cluster-info.ts';
import { clusterInfo, PlacementInputError } from './cluster-info.ts';
import { compileClusterTerm } from './cluster-matcher.ts';
import { divideReplicas, type DivisionCandidate, type DivisionMode } from './divide.ts';
import { defaultReplicaEstimator, unlimitedReplicas, type ReplicaEstimator } from './estimator.ts';
import type { AffinityTerm, AnyPlacementPlugin, ClusterFilterPlugin, ClusterScorePlugin, Objective, PlacementCycle, PlacementPluginFactory, PlacementProfile } from './interfaces.ts';
import { defaultPlacementProfile, objectivePlugins, placementRegistry } from './plugins/registry.ts';
import { replicaRequirements, type ReplicaRequirements } from './requirements.ts';
import { selectClusters, spreadPlan, type RankedCluster, type SpreadPlan } from './select.ts';
import { Status } from './status.ts';

/** One target of a decision. */
export interface TargetCluster {
  name: string;
  replicas: number;
}

export interface PlacementOptions {
  /** How many replicas a cluster can take; defaults to `defaultReplicaEstimator`. */
  estimator?: ReplicaEstimator;
  /** Filters and non-objective scores; defaults to `defaultPlacementProfile`. */
  profile?: PlacementProfile;
  /** Plugin factories by name, merged over the in-tree ones. */
  registry?: Readonly<Record<string, PlacementPluginFactory>>;
  /** Steady (default) keeps the previous decision where the mode allows; Fresh divides anew (Karmada's manual reschedule). */
  assignment?: 'Steady' | 'Fresh';
  /** Put more replicas on a cluster than its estimate allows instead of reporting a shortfall. */
  overcommit?: boolean;
}

export interface PlacementInput {
  /** The resource template: any kind; replicas at spec.replicas, requests in its pod template. */
  template: KubeObject;
  placement: PlacementSpec;
  /** Cluster objects (kind Cluster). Treated as immutable: parsing is memoised per object. */
  clusters: readonly KubeObject[];
  /** The previous decision, for stability; replicas default to 0. */
  previous?: ReadonlyArray<{ name: string; replicas?: number }>;
  options?: PlacementOptions;
}

export interface PlacementResult {
  /** The decision, sorted by name; empty when the status is not Success. */
  clusters: TargetCluster[];
  /** One entry per cluster, sorted by name: Selected, NotSelected or Filtered, with why. */
  explanation: ExplanationEntry[];
  /** The clusterAffinities term that produced the decision. */
  affinityName?: string;
  /** Success, Unschedulable with a message that counts the causes, or Error for bad input. */
  status: Status;
}

const objectiveNames: readonly Objective[] = ['cost', 'energy', 'latency'];

interface ResolvedProfile {
  filters: ClusterFilterPlugin[];
  scorers: Array<{ plugin: ClusterScorePlugin; weight: number }>;
  objectives: ClusterScorePlugin[];
}

const resolvedCache = new WeakMap<PlacementProfile, WeakMap<object, ResolvedProfile>>();
const noRegistry = {};

function build(name: string, registry: Readonly<Record<string, PlacementPluginFactory>>, args: Record<string, unknown>): AnyPlacementPlugin {
  const factory = registry[name] ?? placementRegistry[name];
  if (!factory) throw new PlacementInputError(`unknown placement plugin "${name}"; known: ${Object.keys({ ...placementRegistry, ...registry }).sort().join(', ')}`);
  return factory(args);
}

/** The plugins of a profile, built once per profile and registry and reused by every decision. */
function resolveProfile(profile: PlacementProfile, registry: Readonly<Record<string, PlacementPluginFactory>> | undefined): ResolvedProfile {
  const key = registry ?? noRegistry;
  let byRegistry = resolvedCache.get(profile);
  const cached = byRegistry?.get(key);
  if (cached) return cached;
  const reg = registry ?? {};
  const args = (name: string) => profile.pluginArgs?.[name] ?? {};
  const filters = profile.filters.map((name) => {
    const p = build(name, reg, args(name));
    if (typeof p.filter !== 'function') throw new PlacementInputError(`placement plugin "${name}" is listed as a filter but has no filter method`);
    return p as ClusterFilterPlugin;
  });
  const scorers = profile.scores.map(({ name, weight }) => {
    const p = build(name, reg, args(name));
    if (typeof p.score !== 'function') throw new PlacementInputError(`placement plugin "${name}" is listed as a score plugin but has no score method`);
    if (!Number.isFinite(weight) || weight < 0) throw new PlacementInputError(`placement plugin "${name}": weight must be a non-negative number, got ${weight}`);
    return { plugin: p as ClusterScorePlugin, weight };
  });
  const objectives = objectivePlugins.map((name) => build(name, reg, args(name)) as ClusterScorePlugin);
  const resolved = { filters, scorers, objectives };
  if (!byRegistry) resolvedCache.set(profile, (byRegistry = new WeakMap()));
  byRegistry.set(key, resolved);
  return resolved;
}

function divisionMode(placement: PlacementSpec, replicas: number, hasObjectives: boolean): DivisionMode {
  const rs = placement.replicaScheduling;
  if (!rs || rs.replicaSchedulingType === 'Duplicated' || replicas === 0) return 'Duplicated';
  if (rs.replicaDivisionPreference === 'Aggregated') return 'Aggregated';
  const wp = rs.weightPreference;
  if (wp?.staticWeightList && wp.staticWeightList.length > 0) return 'StaticWeight';
  if (wp?.dynamicWeight === 'AvailableReplicas') return 'DynamicWeight';
  return hasObjectives ? 'ObjectiveWeight' : 'StaticWeight';
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** "2 cluster(s) NotReady, 1 cluster(s) outside the allowed regions", reasons sorted as kube-scheduler sorts them. */
function countReasons(counts: Map<string, number>): string {
  return [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([reason, n]) => `${n} cluster(s) ${reason}`).join(', ');
}

interface Attempt {
  result: PlacementResult;
}

/** Inputs shared by every affinity term's attempt. */
interface Shared {
  placement: PlacementSpec;
  requirements: ReplicaRequirements;
  infos: ClusterInfo[];
  previous: Map<string, number>;
  profile: ResolvedProfile;
  estimator: ReplicaEstimator;
  plan: SpreadPlan;
  staticRules: Array<{ match: (c: ClusterInfo) => string | undefined; weight: number }>;
  options: PlacementOptions;
}

function attempt(shared: Shared, term: AffinityTerm | undefined): Attempt {
  const { placement, requirements, infos, previous, profile } = shared;
  const replicas = requirements.replicas;
  const cycle: PlacementCycle = { placement, requirements, affinity: term, previous, data: new Map() };
  const explanation: ExplanationEntry[] = new Array(infos.length);
  const counts = new Map<string, number>();
  const reject = (i: number, status: Status, plugin: string) => {
    explanation[i] = { cluster: infos[i]!.name, result: 'Filtered', plugin, reason: status.message() };
    counts.set(status.reason, (counts.get(status.reason) ?? 0) + 1);
  };

  // PreFilter and Filter.
  const filters: ClusterFilterPlugin[] = [];
  for (const f of profile.filters) {
    if (f.preFilter) {
      const s = f.preFilter(cycle);
      if (s.isSkip()) continue;
      if (!s.isSuccess()) return { result: { clusters: [], explanation: [], status: withPlugin(s, f.name) } };
    }
    filters.push(f);
  }
  const feasible: number[] = [];
  for (let i = 0; i < infos.length; i++) {
    const info = infos[i]!;
    let ok = true;
    for (let j = 0; j < filters.length; j++) {
      const s = filters[j]!.filter(cycle, info);
      if (s !== Status.success && !s.isSuccess()) {
        reject(i, s, filters[j]!.name);
        ok = false;
        break;
      }
    }
    if (ok) feasible.push(i);
  }

  // The replica estimate; a Duplicated placement needs room for every replica on each cluster.
  const mode0 = placement.replicaScheduling;
  const duplicated = !mode0 || mode0.replicaSchedulingType === 'Duplicated' || replicas === 0;
  const available = new Float64Array(infos.length);
  const prev = new Float64Array(infos.length);
  const candidates: number[] = [];
  for (const i of feasible) {
    const info = infos[i]!;
    const estimate = shared.estimator(info, requirements);
    const a = Number.isFinite(estimate) && estimate > 0 ? Math.min(Math.floor(estimate), unlimitedReplicas) : 0;
    available[i] = a;
    prev[i] = previous.get(info.name) ?? 0;
    if (duplicated && replicas > 0 && !shared.options.overcommit && a + prev[i]! < replicas) {
      const s = Status.unschedulable(`with room for fewer than ${replicas} replicas`, `room for ${a} more replicas; every cluster of a Duplicated placement needs ${replicas}`);
      reject(i, s, 'ReplicaEstimate');
      explanation[i]!.availableReplicas = a;
      continue;
    }
    candidates.push(i);
  }
  const total = infos.length;
  if (candidates.length === 0) {
    const reasons = countReasons(counts);
    return { result: { clusters: [], explanation, status: Status.unschedulable(`0/${total} clusters are available${reasons ? `: ${reasons}` : ''}.`) } };
  }

  // PreScore and Score: objectives normalised relative to the best feasible cluster, then combined.
  const candidateInfos = candidates.map((i) => infos[i]!);
  const n = candidates.length;
  const objectiveScores: Array<{ name: Objective; weight: number; scores: Float64Array }> = [];
  const weights = placement.objectives ?? {};
  for (const plugin of profile.objectives) {
    const objective = plugin.objective!;
    const weight = weights[objective] ?? 0;
    if (!(weight > 0)) continue;
    if (plugin.preScore && plugin.preScore(cycle, candidateInfos).isSkip()) continue;
    const raw = new Float64Array(n);
    let best = Number.POSITIVE_INFINITY;
    let worst = 0;
    for (let k = 0; k < n; k++) {
      const v = plugin.score(cycle, candidateInfos[k]!);
      raw[k] = v;
      if (Number.isFinite(v)) {
        if (v < best) best = v;
        if (v > worst) worst = v;
      }
    }
    if (best === Number.POSITIVE_INFINITY) continue; // no cluster reports it: the objective cannot rank them
    // 100 for the best; a cluster twice as costly (slow, carbon-heavy) as the best scores about 50.
    const eps = Math.max(1e-9, worst * 0.01);
    const scores = new Float64Array(n);
    for (let k = 0; k < n; k++) scores[k] = Number.isFinite(raw[k]!) ? (100 * (best + eps)) / (raw[k]! + eps) : 0;
    objectiveScores.push({ name: objective, weight, scores });
  }
  const hasObjectives = objectiveScores.length > 0;
  const weightSum = objectiveScores.reduce((a, o) => a + o.weight, 0);
  const combined = new Float64Array(n);
  if (hasObjectives) {
    for (const o of objectiveScores) for (let k = 0; k < n; k++) combined[k]! += (o.weight * o.scores[k]!) / weightSum;
  }
  const totalScore = Float64Array.from(combined);
  const pluginScores: Array<{ name: string; scores: Float64Array }> = [];
  for (const { plugin, weight } of profile.scorers) {
    if (weight === 0) continue;
    if (plugin.preScore && plugin.preScore(cycle, candidateInfos).isSkip()) continue;
    const scores = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      scores[k] = plugin.score(cycle, candidateInfos[k]!);
      totalScore[k]! += weight * scores[k]!;
    }
    pluginScores.push({ name: plugin.name, scores });
  }

  // Rank: score, then room, then name (candidates are in name order, so `slot` orders by name).
  const order: Array<RankedCluster & { slot: number }> = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = candidates[k]!;
    order[k] = { info: infos[i]!, score: totalScore[k]!, capacity: available[i]! + prev[i]!, rank: k, slot: k };
  }
  order.sort((a, b) => b.score - a.score || b.capacity - a.capacity || a.slot - b.slot);
  for (let r = 0; r < n; r++) order[r]!.rank = r;

  const mode = divisionMode(placement, replicas, hasObjectives);
  const selection = selectClusters(order, shared.plan, replicas, !duplicated);

  // Division.
  const divisionCandidates: DivisionCandidate[] = selection.selected.map((c) => {
    const k = (c as RankedCluster & { slot: number }).slot;
    const i = candidates[k]!;
    let staticWeight = 0;
    if (mode === 'StaticWeight') {
      for (const rule of shared.staticRules) {
        if (rule.match(c.info) === undefined) {
          staticWeight = rule.weight;
          break;
        }
      }
    }
    return { name: c.info.name, available: available[i]!, previous: prev[i]!, staticWeight, objective: combined[k]! };
  });
  const division = selection.status.isSuccess()
    ? divideReplicas(mode, divisionCandidates, replicas, { fresh: shared.options.assignment === 'Fresh', overcommit: shared.options.overcommit === true, objectiveScaled: hasObjectives })
    : undefined;

  // Explanations of the feasible clusters.
  const assigned = division?.replicas ?? new Map<string, number>();
  const success = selection.status.isSuccess() && division!.status.isSuccess();
  for (let k = 0; k < n; k++) {
    const i = candidates[k]!;
    const name = infos[i]!.name;
    const scores: Record<string, number> = {};
    for (const o of objectiveScores) scores[o.name] = round2(o.scores[k]!);
    if (hasObjectives) scores.objective = round2(combined[k]!);
    for (const p of pluginScores) scores[p.name] = round2(p.scores[k]!);
    const r = assigned.get(name);
    const entry: ExplanationEntry = { cluster: name, result: success && r !== undefined ? 'Selected' : 'NotSelected', score: round2(totalScore[k]!), scores, availableReplicas: available[i]! };
    if (success && r !== undefined) entry.replicas = r;
    else if (!success) entry.reason = 'no placement was possible';
    else entry.reason = selection.notSelected.get(name) ?? (mode === 'Duplicated' ? 'not selected' : 'received no replicas');
    explanation[i] = entry;
  }

  if (!success) {
    const why = !selection.status.isSuccess() ? selection.status.message() : division!.status.message();
    const reasons = countReasons(counts);
    const status = Status.unschedulable(`${n}/${total} clusters are available, but ${why}${reasons ? `; ${reasons}` : ''}.`);
    return { result: { clusters: [], explanation, status } };
  }
  const clusters: TargetCluster[] = [];
  for (const [name, r] of assigned) clusters.push({ name, replicas: r });
  clusters.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { result: { clusters, explanation, status: Status.success } };
}

const sortedCache = new WeakMap<readonly KubeObject[], { objects: KubeObject[]; infos: ClusterInfo[] }>();

/**
 * The clusters parsed and sorted by name, so that nothing depends on the order they were listed
 * in. A fleet passed again as the same array with the same objects reuses the last sort (checked
 * object by object, so an array changed in place is sorted again).
 */
function sortedInfos(clusters: readonly KubeObject[]): ClusterInfo[] {
  const cached = sortedCache.get(clusters);
  if (cached && cached.objects.length === clusters.length && cached.objects.every((o, i) => o === clusters[i])) return cached.infos;
  const infos = clusters.map(clusterInfo);
  infos.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (let i = 1; i < infos.length; i++) {
    if (infos[i]!.name === infos[i - 1]!.name) throw new PlacementInputError(`cluster ${infos[i]!.name} is listed twice`);
  }
  sortedCache.set(clusters, { objects: clusters.slice(), infos });
  return infos;
}

function withPlugin(s: Status, plugin: string): Status {
  if (s.plugin === undefined && !Object.isFrozen(s)) s.plugin = plugin;
  return s;
}

/**
 * Decides where a resource goes and how its replicas are divided. Never throws for bad input:
 * a malformed template, placement or Cluster gives a result with an Error status saying what to fix.
 */
export function schedulePlacement(input: PlacementInput): PlacementResult {
  try {
    return schedule(input);
  } catch (err) {
    if (err instanceof PlacementInputError) return { clusters: [], explanation: [], status: Status.error(err.message) };
    throw err;
  }
}

function schedule(input: PlacementInput): PlacementResult {
  const { placement } = input;
  const options = input.options ?? {};
  if (placement.clusterAffinity && placement.clusterAffinities && placement.clusterAffinities.length > 0) {
    throw new PlacementInputError('placement: set either clusterAffinity or clusterAffinities, not both');
  }
  const requirements = replicaRequirements(input.template, placement);
  const infos = sortedInfos(input.clusters);
  const previous = new Map<string, number>();
  for (const t of input.previous ?? []) {
    const r = t.replicas ?? 0;
    if (!Number.isInteger(r) || r < 0) throw new PlacementInputError(`previous decision: cluster ${t.name} has replicas ${JSON.stringify(t.replicas)}; want a non-negative integer`);
    previous.set(t.name, r);
  }
  const staticRules = (placement.replicaScheduling?.weightPreference?.staticWeightList ?? []).map((rule, i) => {
    if (!Number.isInteger(rule.weight) || rule.weight < 1) throw new PlacementInputError(`placement.replicaScheduling.weightPreference.staticWeightList[${i}].weight must be a positive integer, got ${JSON.stringify(rule.weight)}`);
    return { match: compileClusterTerm(rule.targetCluster, `placement.replicaScheduling.weightPreference.staticWeightList[${i}].targetCluster`), weight: rule.weight };
  });
  for (const objective of objectiveNames) {
    const w = placement.objectives?.[objective];
    if (w !== undefined && (typeof w !== 'number' || !Number.isFinite(w) || w < 0)) throw new PlacementInputError(`placement.objectives.${objective} must be a non-negative number, got ${JSON.stringify(w)}`);
  }
  const shared: Shared = {
    placement,
    requirements,
    infos,
    previous,
    profile: resolveProfile(options.profile ?? defaultPlacementProfile, options.registry),
    estimator: options.estimator ?? defaultReplicaEstimator,
    plan: spreadPlan(placement.spreadConstraints),
    staticRules,
    options,
  };

  const terms = placement.clusterAffinities ?? [];
  if (terms.length === 0) return attempt(shared, placement.clusterAffinity).result;
  const failures: string[] = [];
  let last: PlacementResult | undefined;
  const seen = new Set<string>();
  for (const term of terms) {
    if (seen.has(term.affinityName)) throw new PlacementInputError(`placement.clusterAffinities: affinityName ${term.affinityName} is used twice`);
    seen.add(term.affinityName);
    const { result } = attempt(shared, term);
    if (result.status.isSuccess()) return { ...result, affinityName: term.affinityName };
    if (result.status.code === 'Error') return result;
    failures.push(`[${term.affinityName}] ${result.status.message()}`);
    last = result;
  }
  return { clusters: [], explanation: last!.explanation, status: Status.unschedulable(`no cluster affinity term yields a placement: ${failures.join(' ')}`) };
}
