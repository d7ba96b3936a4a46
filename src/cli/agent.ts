/**
 * Pull mode from the command line. `nephele token create` adds a bootstrap token to a hub's home;
 * `nephele agent` runs beside a member cluster, registers it with the hub (with that token, or
 * the hub kubeconfig's own credentials), reports its status and applies the Work meant for it,
 * until SIGINT or SIGTERM.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { HttpClient } from '../client/index.ts';
import { isPlainObject } from '../machinery/object.ts';
import { KubeMemberClient } from '../member/index.ts';
import { addBootstrapToken, bootstrapTokenPattern, listBootstrapTokens, removeBootstrapToken } from '../hub/security/index.ts';
import { clusterAgent } from '../fleet/clusters/index.ts';
import { clusterFlags, parseClusterName, parseDuration, withClusterFlags, type ClusterFlags } from './join.ts';
import { stopOnSignal } from './sim.ts';

/**
 * A client for the hub a kubeconfig names; with `token`, that bearer token replaces the
 * kubeconfig's credentials (the server and its CA still come from the kubeconfig).
 */
export function hubClient(path: string, token?: string): HttpClient {
  if (token === undefined) return HttpClient.fromKubeconfig(path);
  const doc = parseYaml(readFileSync(path, 'utf8')) as unknown;
  if (!isPlainObject(doc)) throw new Error(`${path} is not a kubeconfig`);
  const contexts = Array.isArray(doc.contexts) ? doc.contexts : [];
  const current = contexts.find((c) => isPlainObject(c) && c.name === doc['current-context']) as { context?: { cluster?: string } } | undefined;
  if (!current?.context?.cluster) throw new Error(`${path} has no current context naming a cluster`);
  const clusters = Array.isArray(doc.clusters) ? doc.clusters : [];
  const entry = clusters.find((c) => isPlainObject(c) && c.name === current.context!.cluster) as { cluster?: Record<string, unknown> } | undefined;
  const cluster = entry?.cluster;
  if (!cluster || typeof cluster.server !== 'string') throw new Error(`${path} has no cluster ${JSON.stringify(current.context.cluster)} with a server`);
  const caPem = typeof cluster['certificate-authority-data'] === 'string'
    ? Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8')
    : typeof cluster['certificate-authority'] === 'string' ? readFileSync(resolve(dirname(path), cluster['certificate-authority']), 'utf8') : undefined;
  return new HttpClient({ server: cluster.server, token, ...(caPem ? { caPem } : {}), insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true });
}

interface AgentFlags extends ClusterFlags {
  hubKubeconfig: string;
  kubeconfig: string;
  name: string;
  token?: string;
  heartbeat: number;
}

export function registerAgent(program: Command, fail: (message: string) => never): void {
  const token = program.command('token').description('bootstrap tokens for pull agents');
  token.command('create')
    .description('add a bootstrap token (abcdef.0123456789abcdef) to the hub\'s tokens and print it; a running hub accepts it within a second')
    .option('--home <dir>', 'the hub\'s home directory', '.nephele')
    .option('--cluster <name>', 'bind the token to one cluster: its agent may register and serve only that cluster', parseClusterName)
    .action(async (opts: { home: string; cluster?: string }) => {
      try {
        console.log(await addBootstrapToken(resolve(opts.home), opts.cluster === undefined ? {} : { cluster: opts.cluster }));
      } catch (err) {
        fail(`cannot add a token to ${resolve(opts.home)}: ${(err as Error).message}`);
      }
    });
  token.command('list')
    .description('list the bootstrap tokens by public id (their secrets are not shown), with the cluster each is bound to')
    .option('--home <dir>', 'the hub\'s home directory', '.nephele')
    .action(async (opts: { home: string }) => {
      let tokens;
      try {
        tokens = await listBootstrapTokens(resolve(opts.home));
      } catch (err) {
        fail(`cannot read the tokens of ${resolve(opts.home)}: ${(err as Error).message}`);
      }
      if (tokens.length === 0) {
        console.log('no bootstrap tokens (nephele token create adds one)');
        return;
      }
      const rows = [['ID', 'USER', 'CLUSTER'], ...tokens.map((t) => [t.id, t.user, t.cluster ?? '<any>'])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const row of rows) console.log(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join(''));
    });
  token.command('delete')
    .description('remove a bootstrap token (by its public id, the part before the dot); a running hub refuses it within a second')
    .argument('<id>', 'the token\'s public id (abcdef), or the whole token')
    .option('--home <dir>', 'the hub\'s home directory', '.nephele')
    .action(async (id: string, opts: { home: string }) => {
      try {
        await removeBootstrapToken(resolve(opts.home), id);
      } catch (err) {
        fail((err as Error).message);
      }
      console.log(`bootstrap token ${id.split('.')[0]} deleted`);
    });

  const agent = program.command('agent')
    .description('run beside a member cluster: register it with the hub (pull mode), report its status, apply its Work')
    .requiredOption('--hub-kubeconfig <file>', 'kubeconfig of the hub (its server and CA; its credentials unless --token)')
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the member cluster this agent runs beside')
    .requiredOption('--name <name>', 'the cluster\'s name on the hub', parseClusterName)
    .option('--token <token>', 'a bootstrap token from `nephele token create`, used instead of the hub kubeconfig\'s credentials');
  withClusterFlags(agent, 'report status only, never apply Work: for a cluster another hub owns (spec.access ReadOnly)')
    .option('--heartbeat <duration>', 'time between status reports', parseDuration, 10_000)
    .action(async (opts: AgentFlags) => {
      if (opts.token !== undefined && !bootstrapTokenPattern.test(opts.token)) fail(`--token is not a bootstrap token: expected six and sixteen lower-case letters or digits around a dot (abcdef.0123456789abcdef), as \`nephele token create\` prints`);
      let hub: HttpClient;
      let member: KubeMemberClient;
      try {
        hub = hubClient(opts.hubKubeconfig, opts.token);
      } catch (err) {
        fail(`--hub-kubeconfig ${opts.hubKubeconfig}: ${(err as Error).message}`);
      }
      try {
        member = KubeMemberClient.fromKubeconfigFile(opts.name, opts.kubeconfig);
      } catch (err) {
        fail(`--kubeconfig ${opts.kubeconfig}: ${(err as Error).message}`);
      }
      const agent = clusterAgent({
        name: opts.name, hub, member, heartbeatMs: opts.heartbeat,
        ...clusterFlags(opts),
      });
      try {
        await agent.start();
      } catch (err) {
        await agent.stop().catch(() => undefined);
        fail(`the agent for ${opts.name} could not register with the hub: ${(err as Error).message}`);
      }
      console.log(`agent for cluster ${opts.name} registered (pull mode${opts.readOnly ? ', read-only' : ''}); heartbeats every ${opts.heartbeat / 1000} s, ${opts.readOnly ? 'applying no Work' : `applying Work from nephele-cluster-${opts.name}`}`);
      stopOnSignal(async () => {
        await agent.stop();
        await member.close();
        hub.close();
      }, 'the agent');
    });
}
