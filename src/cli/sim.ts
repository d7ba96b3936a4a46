/**
 * `nephele sim up`: runs simulated member clusters standalone, each a Kubernetes API endpoint with
 * its own kubeconfig under `<home>/clusters/<name>/`, until SIGINT or SIGTERM.
 */
import { Command, InvalidArgumentError } from 'commander';
import { instanceTypes } from '../sim/instance-types.ts';
import { startSimulatedFleet, type SimulatedFleet } from '../sim/fleet.ts';

function wholeNumber(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`);
    return n;
  };
}

function parseSpeed(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.001 || n > 1_000_000) throw new InvalidArgumentError(`--speed is cluster seconds per real second, from 0.001 to 1000000, not "${value}"`);
  return n;
}

function parseNodeType(value: string): string {
  if (!instanceTypes().has(value)) throw new InvalidArgumentError(`unknown instance type "${value}"; known types: ${[...instanceTypes().keys()].join(', ')}`);
  return value;
}

export interface SimUpOptions {
  home: string;
  clusters: number;
  nodes: number;
  nodeType: string;
  speed: number;
  seed: number;
}

export function registerSimUp(program: Command, fail: (message: string) => never): void {
  const sim = program.commands.find((c) => c.name() === 'sim') ?? program.command('sim').description('work with simulated member clusters');
  sim.command('up')
    .description('run simulated member clusters in the foreground until SIGINT or SIGTERM')
    .option('--home <dir>', 'directory for the clusters\' state (each in clusters/NAME)', '.nephele')
    .option('--clusters <n>', 'how many clusters (named sim-1, sim-2, ...)', wholeNumber('--clusters', 1, 100), 1)
    .option('--nodes <m>', 'nodes per cluster', wholeNumber('--nodes', 0, 10_000), 3)
    .option('--node-type <type>', 'instance type of the nodes (from data/instance-types.csv)', parseNodeType, 'm5.xlarge')
    .option('--speed <x>', 'cluster seconds per real second (3600: an hour a second)', parseSpeed, 1)
    .option('--seed <s>', 'seed of the usage model, so runs repeat', wholeNumber('--seed', 0, 2 ** 31), 1)
    .action(async (opts: SimUpOptions) => {
      let fleet: SimulatedFleet;
      try {
        fleet = await startSimulatedFleet(opts.home, Array.from({ length: opts.clusters }, (_, i) => ({
          name: `sim-${i + 1}`,
          nodePools: [{ name: 'default', instanceType: opts.nodeType, count: opts.nodes }],
          speed: opts.speed,
          seed: opts.seed + i,
        })));
      } catch (err) {
        fail(`the simulated clusters did not start: ${err instanceof Error ? err.message : String(err)}`);
      }
      console.log(`${fleet.clusters.length} simulated cluster(s), ${opts.nodes} ${opts.nodeType} node(s) each, clock at ${opts.speed}x:`);
      for (const c of fleet.clusters) console.log(`  ${c.name}  ${c.url}  kubectl --kubeconfig ${c.kubeconfigPath} get nodes`);
      console.log('Press Ctrl+C to stop.');
      stopOnSignal(() => fleet.stop(), 'the simulated clusters');
    });
}

/** Stops on the first SIGINT or SIGTERM, exiting 0 (or 1 when stopping fails or takes over 10 s). */
export function stopOnSignal(stop: () => Promise<void>, what: string): void {
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping ${what}`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    stop().then(() => process.exit(0), (err: unknown) => {
      console.error('error while stopping:', err);
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
