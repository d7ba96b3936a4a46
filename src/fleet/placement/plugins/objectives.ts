/**
 * The objective plugins: Cost, Energy and Latency. Each scores a cluster by a raw measure where
 * lower is better, NaN when the cluster does not report it; the framework turns the measures into
 * 0..100 scores across the feasible clusters and weighs them by placement.objectives.
 *
 * - Cost: the hourly price of one replica, cpu × cpuCoreHourUSD + memory GiB × memoryGiBHourUSD +
 *   GPUs × gpuHourUSD (a term counts when the replica requests the resource and some feasible
 *   cluster prices it; a replica that requests nothing is priced per core).
 * - Energy: grid carbon intensity × PUE (gCO2e per kWh drawn from the grid); the replica's power
 *   is the same everywhere, so it does not change the ranking.
 * - Latency: the mean of spec.latency[region] over objectives.userRegions, weighted by their
 *   shares of traffic.
 */
import type { ClusterInfo } from '../cluster-info.ts';
import { gpuResource } from '../cluster-info.ts';
import type { ClusterScorePlugin } from '../interfaces.ts';
import { Status } from '../status.ts';
import { checkKeys } from './args.ts';

const gib = 2 ** 30;

interface CostTerms {
  cpu: number;
  memoryGiB: number;
  gpus: number;
}

export function cost(args: Record<string, unknown> = {}): ClusterScorePlugin {
  checkKeys(args, [], 'Cost args');
  const name = 'Cost';
  return {
    name,
    objective: 'cost',
    preScore(cycle, clusters) {
      const r = cycle.requirements.resources;
      const priced = (key: 'memoryGiBHourUSD' | 'gpuHourUSD') => clusters.some((c) => c.pricing[key] !== undefined);
      const terms: CostTerms = {
        cpu: r.cpu ?? 0,
        memoryGiB: (r.memory ?? 0) > 0 && priced('memoryGiBHourUSD') ? r.memory! / gib : 0,
        gpus: (r[gpuResource] ?? 0) > 0 && priced('gpuHourUSD') ? r[gpuResource]! : 0,
      };
      if (terms.cpu === 0 && terms.memoryGiB === 0 && terms.gpus === 0) terms.cpu = 1;
      cycle.data.set(name, terms);
      return Status.success;
    },
    score(cycle, cluster) {
      const t = cycle.data.get(name) as CostTerms;
      const p = cluster.pricing;
      let usd = 0;
      if (t.cpu > 0) usd += t.cpu * (p.cpuCoreHourUSD ?? Number.NaN);
      if (t.memoryGiB > 0) usd += t.memoryGiB * (p.memoryGiBHourUSD ?? Number.NaN);
      if (t.gpus > 0) usd += t.gpus * (p.gpuHourUSD ?? Number.NaN);
      return usd;
    },
  } satisfies ClusterScorePlugin;
}

export function energy(args: Record<string, unknown> = {}): ClusterScorePlugin {
  checkKeys(args, [], 'Energy args');
  return {
    name: 'Energy',
    objective: 'energy',
    score(_cycle, cluster) {
      return (cluster.carbonIntensityGramsPerKWh ?? Number.NaN) * (cluster.pue ?? 1);
    },
  } satisfies ClusterScorePlugin;
}

export function latency(args: Record<string, unknown> = {}): ClusterScorePlugin {
  checkKeys(args, [], 'Latency args');
  const name = 'Latency';
  return {
    name,
    objective: 'latency',
    preScore(cycle) {
      const shares = Object.entries(cycle.placement.objectives?.userRegions ?? {}).filter(([, share]) => share > 0);
      if (shares.length === 0) return Status.skip;
      cycle.data.set(name, shares);
      return Status.success;
    },
    score(cycle, cluster: ClusterInfo) {
      const shares = cycle.data.get(name) as Array<[string, number]>;
      let sum = 0;
      let total = 0;
      for (const [region, share] of shares) {
        sum += share * (cluster.latency[region] ?? Number.NaN);
        total += share;
      }
      return sum / total;
    },
  } satisfies ClusterScorePlugin;
}
