/**
 * Several simulated clusters run together, each in `<home>/clusters/<name>/` with its own
 * certificates, token and kubeconfig. `nephele sim up` and `nephele start` use this; the hub's
 * Cluster objects with `spec.simulation` describe clusters in the same terms (see
 * `clusterFromSimulationSpec`).
 */
import { join, resolve } from 'node:path';
import type { Scheduler } from '../controller/index.ts';
import { startSimulatedCluster, type SimulatedCluster, type SimulatedClusterOptions } from './cluster.ts';
import type { NodePoolSpec } from './node-pools.ts';
import { instanceType } from './instance-types.ts';

/** Where a fleet home keeps a member cluster's state; its kubeconfig is `kubeconfig` in there. */
export function clusterHome(home: string, name: string): string {
  return join(resolve(home), 'clusters', name);
}

export interface SimulatedFleet {
  readonly clusters: readonly SimulatedCluster[];
  stop(): Promise<void>;
}

/** Starts each cluster in its place under `home`; if one fails, the ones started are stopped. */
export async function startSimulatedFleet(home: string, clusters: Array<Omit<SimulatedClusterOptions, 'home'>>): Promise<SimulatedFleet> {
  const started: SimulatedCluster[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.splice(0).map((c) => c.stop()));
  };
  try {
    for (const options of clusters) started.push(await startSimulatedCluster({ ...options, home: clusterHome(home, options.name) }));
  } catch (err) {
    await stop();
    throw err;
  }
  return { clusters: [...started], stop };
}

/** The `simulation` part of a fleet.nephele.dev Cluster's spec, and where the cluster is. */
export interface SimulationSpec {
  nodes: number;
  instanceTypes?: string[];
  seed?: number;
  provider?: string;
  region?: string;
}

/**
 * A simulated cluster's options from a Cluster's simulation spec: the nodes are split evenly over
 * one pool per instance type (the first types get the remainder), in the Cluster's region.
 */
export function clusterFromSimulationSpec(name: string, spec: SimulationSpec, extra: { scheduler?: Scheduler; speed?: number } = {}): Omit<SimulatedClusterOptions, 'home'> {
  const types = spec.instanceTypes?.length ? spec.instanceTypes : ['m5.xlarge'];
  for (const t of types) instanceType(t);
  const pools: NodePoolSpec[] = types.map((t, i) => ({
    name: t.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, ''),
    instanceType: t,
    count: Math.floor(spec.nodes / types.length) + (i < spec.nodes % types.length ? 1 : 0),
    ...(spec.region ? { region: spec.region } : {}),
  }));
  return { name, nodePools: pools, ...(spec.seed !== undefined ? { seed: spec.seed } : {}), ...extra };
}
