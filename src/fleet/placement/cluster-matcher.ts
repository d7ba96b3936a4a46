/**
 * A cluster term (names, exclusions, label selector, field selector on provider/region/zone)
 * compiled once into a predicate. Used by the ClusterAffinity filter and by static weight rules.
 */
import { labelSelectorFromObject } from '../../machinery/selectors.ts';
import { isPlainObject } from '../../machinery/object.ts';
import type { ClusterInfo } from './cluster-info.ts';
import type { AffinityTerm } from './interfaces.ts';
import { PlacementInputError } from './cluster-info.ts';

/** Undefined when the cluster matches; otherwise why not, in words. */
export type ClusterMatcher = (cluster: ClusterInfo) => string | undefined;

const fieldKeys = ['provider', 'region', 'zone'] as const;

/** Compiles a term; an empty term matches every cluster. Throws PlacementInputError on a malformed selector. */
export function compileClusterTerm(term: Omit<AffinityTerm, 'affinityName'>, where: string): ClusterMatcher {
  const names = term.clusterNames && term.clusterNames.length > 0 ? new Set(term.clusterNames) : undefined;
  const exclude = term.exclude && term.exclude.length > 0 ? new Set(term.exclude) : undefined;
  if (term.labelSelector !== undefined && !isPlainObject(term.labelSelector)) throw new PlacementInputError(`${where}.labelSelector must be an object with matchLabels and/or matchExpressions`);
  const labels = term.labelSelector !== undefined ? labelSelectorFromObject(term.labelSelector) : undefined;
  const labelText = labels?.toString();
  const fields = term.fieldSelector?.matchExpressions ?? [];
  for (const [i, e] of fields.entries()) {
    if (!fieldKeys.includes(e.key)) throw new PlacementInputError(`${where}.fieldSelector.matchExpressions[${i}].key must be provider, region or zone, got ${JSON.stringify(e.key)}`);
    if (e.operator !== 'In' && e.operator !== 'NotIn') throw new PlacementInputError(`${where}.fieldSelector.matchExpressions[${i}].operator must be In or NotIn, got ${JSON.stringify(e.operator)}`);
  }
  return (cluster) => {
    if (exclude?.has(cluster.name)) return 'is excluded by name';
    if (names && !names.has(cluster.name)) return 'is not among the named clusters';
    if (labels && labels.requirements.length > 0 && !labels.matches(cluster.labels)) return `labels do not match ${labelText}`;
    for (const e of fields) {
      const value = cluster[e.key];
      const inList = value !== undefined && e.values.includes(value);
      if (e.operator === 'In' ? !inList : inList) return `${e.key} ${value ?? '(none)'} is ${e.operator === 'In' ? 'not in' : 'in'} [${e.values.join(', ')}]`;
    }
    return undefined;
  };
}
