/**
 * SpreadConstraint filters out clusters that do not say which group they belong to for a spread
 * constraint of the placement (no region when spreading by region, no label value when spreading
 * by a label): such a cluster cannot be counted toward any group.
 */
import type { ClusterInfo } from '../cluster-info.ts';
import type { ClusterFilterPlugin } from '../interfaces.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

type GroupKey = { field: 'region' | 'zone' | 'provider' } | { label: string };

/** The group a cluster falls in for a constraint, or undefined when it does not say. */
export function groupOf(cluster: ClusterInfo, key: GroupKey): string | undefined {
  return 'field' in key ? cluster[key.field] : cluster.labels[key.label];
}

export function spreadConstraint(args: Record<string, unknown> = {}): ClusterFilterPlugin {
  checkKeys(args, [], 'SpreadConstraint args');
  const name = 'SpreadConstraint';
  return {
    name,
    preFilter(cycle) {
      const keys: GroupKey[] = [];
      for (const c of cycle.placement.spreadConstraints ?? []) {
        if (c.spreadByLabel) keys.push({ label: c.spreadByLabel });
        else if (c.spreadByField && c.spreadByField !== 'cluster') keys.push({ field: c.spreadByField });
      }
      if (keys.length === 0) return Status.skip;
      cycle.data.set(name, keys);
      return Status.success;
    },
    filter(cycle, cluster) {
      for (const key of cycle.data.get(name) as GroupKey[]) {
        if (groupOf(cluster, key) === undefined) {
          const what = 'field' in key ? `no ${key.field}` : `no label ${key.label}`;
          return Status.unschedulable(`with ${what} to spread by`, `has ${what}, which the spread constraints group clusters by`);
        }
      }
      return Status.success;
    },
  } satisfies ClusterFilterPlugin;
}
