/**
 * Matching resources to policies and clusters to targets: the resource selectors of
 * Distribution/Override policies, and the cluster terms (names, labels, provider/region/zone) of
 * override rules.
 */
import type { KubeObject } from '../../machinery/object.ts';
import { isPlainObject } from '../../machinery/object.ts';
import { labelSelectorFromObject } from '../../machinery/selectors.ts';

export interface ResourceSelector {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
  labelSelector?: unknown;
}

/** Whether `selector` picks `obj`; a namespaced policy only ever picks objects of its own namespace. */
export function selectorMatches(selector: ResourceSelector, obj: KubeObject, policyNamespace?: string): boolean {
  if (selector.apiVersion !== obj.apiVersion || selector.kind !== obj.kind) return false;
  const namespace = obj.metadata.namespace;
  if (policyNamespace !== undefined && namespace !== policyNamespace) return false;
  if (selector.namespace !== undefined && selector.namespace !== namespace) return false;
  if (selector.name !== undefined && selector.name !== obj.metadata.name) return false;
  if (selector.labelSelector !== undefined && !labelSelectorFromObject(selector.labelSelector).matches(obj.metadata.labels)) return false;
  return true;
}

/** How specific the best matching selector is: a name beats a label selector beats a kind. */
export function specificity(selectors: ResourceSelector[], obj: KubeObject, policyNamespace?: string): number {
  let best = -1;
  for (const s of selectors) {
    if (!selectorMatches(s, obj, policyNamespace)) continue;
    best = Math.max(best, s.name !== undefined ? 3 : s.labelSelector !== undefined ? 2 : 1);
  }
  return best;
}

/** Whether any selector of `policy` picks `obj`. */
export function policyMatches(policy: KubeObject, obj: KubeObject): boolean {
  const spec = isPlainObject(policy.spec) ? policy.spec : {};
  const selectors = (Array.isArray(spec.resourceSelectors) ? spec.resourceSelectors : []) as ResourceSelector[];
  return specificity(selectors, obj, policy.metadata.namespace) >= 0;
}

/**
 * The policy that governs `obj` among `candidates`: a namespaced policy before a cluster-wide one,
 * then the higher `priority`, the more specific selector, and the name.
 */
export function choosePolicy(candidates: KubeObject[], obj: KubeObject): KubeObject | undefined {
  let best: { policy: KubeObject; rank: [number, number, number, string] } | undefined;
  for (const policy of candidates) {
    const spec = isPlainObject(policy.spec) ? policy.spec : {};
    const selectors = (Array.isArray(spec.resourceSelectors) ? spec.resourceSelectors : []) as ResourceSelector[];
    const s = specificity(selectors, obj, policy.metadata.namespace);
    if (s < 0 || policy.metadata.deletionTimestamp) continue;
    const rank: [number, number, number, string] = [policy.metadata.namespace ? 1 : 0, Number(spec.priority ?? 0), s, policy.metadata.name ?? ''];
    if (!best || compareRank(rank, best.rank) > 0) best = { policy, rank };
  }
  return best?.policy;
}

function compareRank(a: [number, number, number, string], b: [number, number, number, string]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  // Earlier names win, so the comparison is reversed.
  return b[3].localeCompare(a[3]);
}

/** Whether a cluster matches a target term (clusterNames, labelSelector, fieldSelector); an empty term matches all. */
export function clusterMatchesTarget(target: unknown, cluster: KubeObject): boolean {
  if (!isPlainObject(target)) return true;
  if (Array.isArray(target.clusterNames) && target.clusterNames.length > 0 && !target.clusterNames.includes(cluster.metadata.name)) return false;
  if (target.labelSelector !== undefined && !labelSelectorFromObject(target.labelSelector).matches(cluster.metadata.labels)) return false;
  if (isPlainObject(target.fieldSelector) && Array.isArray(target.fieldSelector.matchExpressions)) {
    const spec = isPlainObject(cluster.spec) ? cluster.spec : {};
    for (const expr of target.fieldSelector.matchExpressions) {
      if (!isPlainObject(expr)) continue;
      const value = String(spec[String(expr.key)] ?? '');
      const values = Array.isArray(expr.values) ? expr.values.map(String) : [];
      if (expr.operator === 'In' && !values.includes(value)) return false;
      if (expr.operator === 'NotIn' && values.includes(value)) return false;
    }
  }
  return true;
}
