/**
 * The `nephele` command. Each subcommand only parses its flags and calls into the layers below;
 * a mistake in the flags is one clear line on stderr and exit code 2.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startHub, type Hub, type HubOptions } from '../hub/hub.ts';
import { verifyAuditLog } from '../hub/security/index.ts';
import { createManifestObjects } from '../hub/manifests.ts';
import { clusterHome } from '../sim/fleet.ts';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import { findResource } from '../member/index.ts';
import { isClusterReady } from '../fleet/index.ts';
import { registerSimUp, stopOnSignal } from './sim.ts';
import { registerSimHistory } from './sim-history.ts';
import { registerJoin } from './join.ts';
import { registerAgent } from './agent.ts';
import { registerUiToken } from './ui-token.ts';
import { ensurePortalBuilt } from '../hub/portal.ts';

const example = (name: string): URL => new URL(`../../docs/examples/${name}`, import.meta.url);
const demoFleet = example('demo-fleet.yaml');
/** Loaded once the demo clusters are Ready, so the first placement finds them (rather than failing, and then succeeding). */
const demoApplication = [example('web-app.yaml'), example('web-placement.yaml')];
/** What each demo member cluster runs from the start, so there are pods to look at. */
const memberWorkloads = new URL('../../docs/examples/member-workloads.yaml', import.meta.url);
const seedUser = { username: 'system:nephele-seed', groups: ['system:masters'] };

/**
 * Waits until the hub's cluster controller has started a member for every Cluster with
 * `spec.mode: Simulated`, then seeds each with the sample workloads; returns their names.
 */
async function demoMembers(hub: Hub, timeoutMs = 60_000): Promise<string[]> {
  const clusterType = hub.catalog.byResource('fleet.nephele.dev', 'v1alpha1', 'clusters')!;
  const { items } = await hub.registry.list(clusterType, undefined);
  const names = items.filter((c) => (c.spec as { mode?: string } | undefined)?.mode === 'Simulated').map((c) => c.metadata.name!);
  const deadline = Date.now() + timeoutMs;
  while (names.some((n) => !hub.members.get(n))) {
    if (Date.now() > deadline) throw new Error(`no member started within ${timeoutMs / 1000} s for ${names.filter((n) => !hub.members.get(n)).join(', ')}`);
    await new Promise((done) => setTimeout(done, 50));
  }
  const workloads = parseAllDocuments(readFileSync(memberWorkloads, 'utf8')).map((d) => d.toJS() as KubeObject).filter((o) => o && o.kind);
  for (const name of names) {
    const member = hub.members.get(name)!;
    const resources = await member.discover();
    for (const obj of workloads) {
      const ref = findResource(resources, obj.apiVersion ?? '', obj.kind ?? '');
      if (!ref) throw new Error(`member ${name} does not serve ${obj.apiVersion} ${obj.kind}`);
      await member.objects.create(ref, ref.namespaced ? obj.metadata.namespace ?? 'default' : undefined, obj).catch((err: unknown) => {
        if (!(err instanceof StatusError && err.reason === 'AlreadyExists')) throw err;
      });
    }
  }
  return names;
}

/** Waits until every named Cluster reports `Ready=True`. */
async function clustersReady(hub: Hub, names: string[], timeoutMs = 60_000): Promise<void> {
  const clusterType = hub.catalog.byResource('fleet.nephele.dev', 'v1alpha1', 'clusters')!;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { items } = await hub.registry.list(clusterType, undefined);
    const ready = new Set(items.filter(isClusterReady).map((c) => c.metadata.name));
    const waiting = names.filter((n) => !ready.has(n));
    if (waiting.length === 0) return;
    if (Date.now() > deadline) throw new Error(`not Ready within ${timeoutMs / 1000} s: ${waiting.join(', ')}`);
    await new Promise((done) => setTimeout(done, 50));
  }
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
  if (/^etcds?:\/\/[^,\s]+(,[^,\s]+)*$/.test(value)) return value;
  throw new InvalidArgumentError(`"${value}" is not a store: use sqlite, memory or etcd://HOST:PORT[,HOST:PORT...] (etcds:// for TLS)`);
}

/** A PEM file named by a flag, read now so that a wrong path is one clear line before anything starts. */
function readPem(value: string): string {
  try {
    return readFileSync(value, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${value}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

interface HubFlags {
  home: string;
  listen: { host: string; port: number };
  store: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

/** The TLS settings for an etcds:// store, or a one-line complaint about the flags. */
function etcdTls(opts: HubFlags): HubOptions['etcdTls'] {
  const given = opts.etcdCa !== undefined || opts.etcdCert !== undefined || opts.etcdKey !== undefined;
  if (!opts.store.startsWith('etcds://')) {
    if (given) fail(`--etcd-ca, --etcd-cert and --etcd-key go with an etcds://HOST:PORT store, not ${opts.store}`);
    return undefined;
  }
  if ((opts.etcdCert === undefined) !== (opts.etcdKey === undefined)) fail('--etcd-cert and --etcd-key go together: a client certificate and its key');
  return { ca: opts.etcdCa, cert: opts.etcdCert, key: opts.etcdKey };
}

async function runHub(opts: HubFlags, banner: boolean): Promise<void> {
  const tls = etcdTls(opts);
  if (banner) {
    const portalProblem = ensurePortalBuilt();
    if (portalProblem) console.error(`nephele: ${portalProblem}`);
  }
  let hub: Hub;
  try {
    hub = await startHub({ home: opts.home, host: opts.listen.host, port: opts.listen.port, store: opts.store, ...(tls ? { etcdTls: tls } : {}) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') fail(`cannot listen on ${opts.listen.host}:${opts.listen.port}: the port is in use (pick another with --listen HOST:PORT)`);
    if (code === 'EACCES') fail(`cannot listen on ${opts.listen.host}:${opts.listen.port}: permission denied (use a port above 1024)`);
    if (code === 'EADDRNOTAVAIL') fail(`cannot listen on ${opts.listen.host}: no such address on this machine`);
    fail(`the hub did not start: ${err instanceof Error ? err.message : String(err)}`);
  }
  const kubeconfig = hub.kubeconfigPath;
  if (banner) {
    await createManifestObjects(readFileSync(demoFleet, 'utf8'), hub.catalog, hub.registry, seedUser);
    let members: string[];
    try {
      members = await demoMembers(hub);
      await clustersReady(hub, members);
      for (const file of demoApplication) await createManifestObjects(readFileSync(file, 'utf8'), hub.catalog, hub.registry, seedUser);
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
      `               kubectl --kubeconfig ${kubeconfig} -n shop get deployments,services,resourcebindings`,
      `               kubectl --kubeconfig ${kubeconfig} get resourcebinding -n shop web-deployment -o yaml  (where shop/web went, and why)`,
      `               kubectl --kubeconfig ${kubeconfig} api-resources`,
      `  or:          export KUBECONFIG=${kubeconfig}`,
      '',
      `Simulated member clusters (nodes, pods and workloads of their own):`,
      ...members!.map((name) => `  ${name.padEnd(18)} kubectl --kubeconfig ${join(clusterHome(hub.home, name), 'kubeconfig')} get nodes,pods -A`),
      `  kubeconfig of one:  npx nephele kubeconfig --home ${opts.home} --cluster NAME`,
      '',
      `  portal:      ${hub.url}/ui/  (sign in with the token: npx nephele ui-token --home ${opts.home})`,
      `  token:       npx nephele kubeconfig --home ${opts.home}  (prints the admin kubeconfig with its token)`,
      `  audit:       npx nephele audit verify --home ${opts.home}`,
      '',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'));
  } else {
    console.log(`nephele hub ready at ${hub.url}; kubeconfig: ${kubeconfig}`);
  }
  // The cluster controller stops the simulated members with the hub.
  stopOnSignal(() => hub.stop(), 'the hub');
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
    .option('--store <store>', 'sqlite | memory | etcd://HOST:PORT[,HOST:PORT...] | etcds://... (etcd over TLS)', parseStore, 'sqlite')
    .option('--etcd-ca <file>', 'with etcds://: the CA (PEM) etcd\'s certificate chains to (default: the system\'s)', readPem)
    .option('--etcd-cert <file>', 'with etcds://: a client certificate (PEM) for an etcd that asks for one', readPem)
    .option('--etcd-key <file>', 'with etcds://: the client certificate\'s key (PEM)', readPem)
    .action(async (opts: HubFlags) => runHub(opts, banner));
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
registerJoin(program, fail);
registerAgent(program, fail);
registerUiToken(program, fail, defaultHome);

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
