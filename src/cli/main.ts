/**
 * The `nephele` command. Each subcommand only parses its flags and calls into the layers below;
 * a mistake in the flags is one clear line on stderr and exit code 2.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startHub, type Hub } from '../hub/hub.ts';
import { verifyAuditLog } from '../hub/security/index.ts';
import { createManifestObjects } from '../hub/manifests.ts';
import { clusterFromSimulationSpec, clusterHome, startSimulatedFleet, type SimulatedFleet } from '../sim/fleet.ts';
import { registerSimUp, stopOnSignal } from './sim.ts';
import { registerSimHistory } from './sim-history.ts';

const demoManifests = ['docs/examples/demo-fleet.yaml', 'docs/examples/web-app.yaml'].map((p) => new URL(`../../${p}`, import.meta.url));
/** What each demo member cluster runs from the start, so there are pods to look at. */
const memberWorkloads = new URL('../../docs/examples/member-workloads.yaml', import.meta.url);
const seedUser = { username: 'system:nephele-seed', groups: ['system:masters'] };

/** Starts a simulated member for every Cluster the hub holds with `spec.mode: Simulated`, and seeds its sample workloads. */
async function startDemoMembers(hub: Hub): Promise<SimulatedFleet> {
  const clusterType = hub.catalog.byResource('fleet.nephele.dev', 'v1alpha1', 'clusters')!;
  const { items } = await hub.registry.list(clusterType, undefined);
  const simulated = items.filter((c) => (c.spec as { mode?: string } | undefined)?.mode === 'Simulated');
  const fleet = await startSimulatedFleet(hub.home, simulated.map((c) => {
    const spec = c.spec as { provider?: string; region?: string; simulation?: { nodes: number; instanceTypes?: string[]; seed?: number } };
    return clusterFromSimulationSpec(c.metadata.name!, { nodes: spec.simulation?.nodes ?? 3, ...spec.simulation, ...(spec.region ? { region: spec.region } : {}) });
  }));
  const workloads = readFileSync(memberWorkloads, 'utf8');
  for (const member of fleet.clusters) await createManifestObjects(workloads, member.catalog, member.registry, seedUser);
  return fleet;
}

const defaultHome = '.nephele';
const defaultListen = '127.0.0.1:6443';

function parseListen(value: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`"${value}" is not HOST:PORT (for example 127.0.0.1:6443)`);
  const port = Number(match[2]);
  if (port < 0 || port > 65535) throw new InvalidArgumentError(`port ${port} is out of range (0-65535)`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

function parseStore(value: string): string {
  if (value === 'sqlite' || value === 'memory') return value;
  if (/^etcd:\/\/[^,\s]+(,[^,\s]+)*$/.test(value)) return value;
  throw new InvalidArgumentError(`"${value}" is not a store: use sqlite, memory or etcd://HOST:PORT[,HOST:PORT...]`);
}

async function runHub(opts: { home: string; listen: { host: string; port: number }; store: string }, banner: boolean): Promise<void> {
  let hub: Hub;
  try {
    hub = await startHub({ home: opts.home, host: opts.listen.host, port: opts.listen.port, store: opts.store });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') fail(`cannot listen on ${opts.listen.host}:${opts.listen.port}: the port is in use (pick another with --listen HOST:PORT)`);
    if (code === 'EACCES') fail(`cannot listen on ${opts.listen.host}:${opts.listen.port}: permission denied (use a port above 1024)`);
    if (code === 'EADDRNOTAVAIL') fail(`cannot listen on ${opts.listen.host}: no such address on this machine`);
    fail(`the hub did not start: ${err instanceof Error ? err.message : String(err)}`);
  }
  const kubeconfig = hub.kubeconfigPath;
  let members: SimulatedFleet | undefined;
  if (banner) {
    for (const file of demoManifests) {
      await createManifestObjects(readFileSync(file, 'utf8'), hub.catalog, hub.registry, seedUser);
    }
    try {
      members = await startDemoMembers(hub);
    } catch (err) {
      await hub.stop();
      fail(`the demo member clusters did not start: ${err instanceof Error ? err.message : String(err)}`);
    }
    console.log([
      '',
      `Nephele hub is up at ${hub.url} (store: ${opts.store}, home: ${hub.home})`,
      '',
      `  kubeconfig:  ${kubeconfig}`,
      `  try:         kubectl --kubeconfig ${kubeconfig} get clusters,fleets`,
      `               kubectl --kubeconfig ${kubeconfig} -n shop get deployments,services`,
      `               kubectl --kubeconfig ${kubeconfig} api-resources`,
      `  or:          export KUBECONFIG=${kubeconfig}`,
      '',
      `Simulated member clusters (nodes, pods and workloads of their own):`,
      ...members!.clusters.map((c) => `  ${c.name.padEnd(18)} kubectl --kubeconfig ${c.kubeconfigPath} get nodes,pods -A`),
      `  kubeconfig of one:  npx nephele kubeconfig --home ${opts.home} --cluster NAME`,
      '',
      `  token:       npx nephele kubeconfig --home ${opts.home}  (prints the admin kubeconfig with its token)`,
      `  audit:       npx nephele audit verify --home ${opts.home}`,
      '',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'));
  } else {
    console.log(`nephele hub ready at ${hub.url}; kubeconfig: ${kubeconfig}`);
  }
  stopOnSignal(async () => {
    await members?.stop();
    await hub.stop();
  }, 'the hub');
}

function fail(message: string): never {
  console.error(`nephele: ${message}`);
  process.exit(1);
}

const program = new Command();
program.name('nephele').description('Nephele: one declarative control plane for fleets of Kubernetes clusters').showHelpAfterError(false);
program.exitOverride();
program.configureOutput({ outputError: (text, write) => write(text.split('\n')[0] + '\n') });

/** `up` and `start` take the same flags; `start` adds the banner and the demo fleet. */
function hubCommand(name: string, description: string, banner: boolean): void {
  program.command(name)
    .description(description)
    .option('--home <dir>', 'directory for the hub\'s state', defaultHome)
    .option('--listen <host:port>', 'address to serve HTTPS on', parseListen, parseListen(defaultListen))
    .option('--store <store>', 'sqlite | memory | etcd://HOST:PORT[,HOST:PORT...]', parseStore, 'sqlite')
    .action(async (opts: { home: string; listen: { host: string; port: number }; store: string }) => runHub(opts, banner));
}

hubCommand('up', 'run the hub in the foreground until SIGINT or SIGTERM', false);
hubCommand('start', 'the hub with its defaults, a start-up banner and the demo fleet (what `npm start` runs)', true);

program.command('kubeconfig')
  .description('print the admin kubeconfig of a hub, or with --cluster of one of its simulated member clusters')
  .option('--home <dir>', 'the hub\'s home directory', defaultHome)
  .option('--cluster <name>', 'a simulated member cluster (started by `nephele start` or `nephele sim up`)')
  .action((opts: { home: string; cluster?: string }) => {
    if (opts.cluster !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(opts.cluster)) fail(`--cluster ${JSON.stringify(opts.cluster)} is not a cluster name (a DNS label)`);
    const path = opts.cluster ? join(clusterHome(opts.home, opts.cluster), 'kubeconfig') : join(resolve(opts.home), 'kubeconfig');
    try {
      process.stdout.write(readFileSync(path, 'utf8'));
    } catch {
      if (opts.cluster) fail(`no kubeconfig for cluster ${opts.cluster} at ${path}: start it first (npm start, or npx nephele sim up --home ${opts.home})`);
      fail(`no kubeconfig at ${path}: start the hub first (npx nephele up --home ${opts.home})`);
    }
  });

registerSimUp(program, fail);
registerSimHistory(program);

const audit = program.command('audit').description('work with the hub\'s audit log');
audit.command('verify')
  .description('check the audit log\'s hash chain: exit 0 when intact, 1 when a record was changed or removed')
  .option('--home <dir>', 'the hub\'s home directory', defaultHome)
  .action((opts: { home: string }) => {
    const home = resolve(opts.home);
    // Without either file this is not a hub's home (a mistyped --home), not an intact empty log.
    if (!existsSync(join(home, 'audit.log')) && !existsSync(join(home, 'audit.head'))) {
      fail(`no audit log in ${home}: pass the hub's home directory with --home DIR`);
    }
    const result = verifyAuditLog(home);
    if (result.ok) {
      console.log(`audit log intact: ${result.records} records`);
      return;
    }
    console.error(`audit log damaged: ${result.problems.length} problem(s) in ${result.records} records`);
    for (const p of result.problems) console.error(`  line ${p.line}: ${p.problem}`);
    process.exitCode = 1;
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  fail(err instanceof Error ? err.message : String(err));
}
