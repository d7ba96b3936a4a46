/**
 * Node pools: groups of identical nodes of one instance type, spread over a region's zones, as a
 * cloud's managed node groups are. A simulated cluster is described by its pools; the node
 * autoscaler grows and shrinks them within their bounds.
 */
import type { KubeObject } from '../machinery/object.ts';
import { instanceType, nodeFromInstanceType, zonesOf, type InstanceType } from './instance-types.ts';

export interface NodePoolSpec {
  /** DNS label; the pool's nodes are named `<cluster>-<pool>-<n>`. */
  name: string;
  /** An instance type from data/instance-types.csv (`m5.xlarge`, `n2-standard-8`, ...). */
  instanceType: string;
  /** Nodes at start. */
  count: number;
  /** Autoscaling bounds; without them the pool keeps `count` nodes. */
  min?: number;
  max?: number;
  capacityType?: 'on-demand' | 'spot';
  /** Region; the instance type's pricing region when absent. */
  region?: string;
  zones?: string[];
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' }>;
}

export interface NodePool extends Required<Pick<NodePoolSpec, 'name' | 'count' | 'capacityType'>> {
  spec: NodePoolSpec;
  type: InstanceType;
  region: string;
  zones: string[];
  min: number;
  max: number;
}

/** Checks a pool spec and fills in its defaults; the error names the pool and what is wrong. */
export function resolvePool(spec: NodePoolSpec): NodePool {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(spec.name)) throw new Error(`node pool name ${JSON.stringify(spec.name)} is not a DNS label`);
  const type = instanceType(spec.instanceType);
  if (!Number.isInteger(spec.count) || spec.count < 0) throw new Error(`node pool ${spec.name}: count must be a whole number of nodes, not ${spec.count}`);
  const min = spec.min ?? spec.count;
  const max = spec.max ?? spec.count;
  if (min > max || spec.count < min || spec.count > max) throw new Error(`node pool ${spec.name}: need min <= count <= max, have ${min} <= ${spec.count} <= ${max}`);
  const region = spec.region ?? type.region;
  return { spec, type, region, zones: spec.zones?.length ? spec.zones : zonesOf(type.provider, region), name: spec.name, count: spec.count, capacityType: spec.capacityType ?? 'on-demand', min, max };
}

/** The `index`th node of a pool (zones taken round-robin). */
export function poolNode(cluster: string, pool: NodePool, index: number, now: number): KubeObject {
  return nodeFromInstanceType(pool.type, {
    name: `${cluster}-${pool.name}-${index}`,
    zone: pool.zones[index % pool.zones.length]!,
    region: pool.region,
    pool: pool.name,
    capacityType: pool.capacityType,
    ...(pool.spec.labels ? { labels: pool.spec.labels } : {}),
    ...(pool.spec.taints ? { taints: pool.spec.taints } : {}),
    now,
  });
}
