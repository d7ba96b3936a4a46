/**
 * `nephele join NAME --kubeconfig FILE`: registers a member cluster the hub can reach (push mode).
 * The member's kubeconfig goes into a Secret in nephele-system on the hub (certificate and token
 * files it names are inlined, since the hub cannot read this machine's files), the Cluster is
 * created or updated to point at it, and the command waits until the hub reports the cluster
 * Ready, or says why not.
 */
import { Command, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { HttpClient, type ObjectClient } from '../client/index.ts';
import type { KubeObject } from '../machinery/object.ts';
import { isPlainObject } from '../machinery/object.ts';
import { KubeMemberClient } from '../member/index.ts';
import { fleetRefs } from '../fleet/index.ts';
import { secretsRef } from '../fleet/clusters/index.ts';

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Parses a cluster name argument (a DNS label, as Cluster names must be). */
export function parseClusterName(value: string): string {
  if (!dnsLabel.test(value) || value.length > 63) throw new InvalidArgumentError(`"${value}" is not a cluster name: use lower-case letters, digits and '-' (a DNS label, at most 63 characters)`);
  return value;
}

/** Parses `k=v,k2=v2` into labels. */
export function parseLabels(value: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`"${part}" is not a label: write KEY=VALUE, several separated by commas`);
    labels[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return labels;
}

/** Parses `500ms`, `10s`, `2m` (or a bare number of seconds) into milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`"${value}" is not a duration: write for example 500ms, 10s or 2m`);
  const n = Number(match[1]);
  return Math.round(match[2] === 'ms' ? n : match[2] === 'm' ? n * 60_000 : n * 1000);
}

/**
 * The kubeconfig at `path` with the files it names (certificate-authority, client-certificate,
 * client-key, tokenFile) read into the document, so it works on another machine.
 */
export function flattenKubeconfig(path: string): string {
  const text = readFileSync(path, 'utf8');
  const doc = parseYaml(text) as unknown;
  if (!isPlainObject(doc)) throw new Error(`${path} is not a kubeconfig (expected a YAML mapping with clusters, users and contexts)`);
  const base = dirname(resolve(path));
  const inline = (holder: Record<string, unknown>, fileKey: string, dataKey: string, asText = false): void => {
    const file = holder[fileKey];
    if (typeof file !== 'string') return;
    const bytes = readFileSync(resolve(base, file));
    if (asText) holder[dataKey] = bytes.toString('utf8').trim();
    else holder[dataKey] = bytes.toString('base64');
    delete holder[fileKey];
  };
  for (const entry of Array.isArray(doc.clusters) ? doc.clusters : []) {
    if (isPlainObject(entry) && isPlainObject(entry.cluster)) inline(entry.cluster, 'certificate-authority', 'certificate-authority-data');
  }
  for (const entry of Array.isArray(doc.users) ? doc.users : []) {
    if (!isPlainObject(entry) || !isPlainObject(entry.user)) continue;
    inline(entry.user, 'client-certificate', 'client-certificate-data');
    inline(entry.user, 'client-key', 'client-key-data');
    inline(entry.user, 'tokenFile', 'token', true);
  }
  return stringifyYaml(doc);
}

/** The Secret that holds a joined member's kubeconfig on the hub. */
export function kubeconfigSecretName(cluster: string): string {
  return `cluster-${cluster}-kubeconfig`;
}

export interface JoinOptions {
  name: string;
  /** The member's kubeconfig YAML (flattened). */
  kubeconfig: string;
  hub: ObjectClient;
  labels?: Record<string, string>;
  provider?: string;
  region?: string;
  zone?: string;
  /** Register the cluster ReadOnly: this hub observes it and never writes to it. */
  readOnly?: boolean;
  /** How long to wait for Ready; default 60 s. */
  timeoutMs?: number;
}

export interface JoinResult {
  ready: boolean;
  cluster: KubeObject;
  /** The Ready condition's reason and message when not ready. */
  reason?: string;
  message?: string;
}

/** Stores the kubeconfig, creates or updates the Cluster, and waits for the hub's verdict. */
export async function joinCluster(options: JoinOptions): Promise<JoinResult> {
  const namespace = 'nephele-system';
  const secretName = kubeconfigSecretName(options.name);
  await options.hub.patch(secretsRef, namespace, secretName, 'apply', {
    apiVersion: 'v1', kind: 'Secret',
    metadata: { name: secretName, namespace, labels: { 'fleet.nephele.dev/cluster': options.name } },
    type: 'Opaque',
    data: { kubeconfig: Buffer.from(options.kubeconfig, 'utf8').toString('base64') },
  }, { fieldManager: 'nephele-join', force: true });
  await options.hub.patch(fleetRefs.clusters, undefined, options.name, 'apply', {
    apiVersion: 'fleet.nephele.dev/v1alpha1', kind: 'Cluster',
    metadata: { name: options.name, ...(options.labels ? { labels: options.labels } : {}) },
    spec: {
      mode: 'Push',
      ...(options.readOnly ? { access: 'ReadOnly' } : {}),
      kubeconfigSecretRef: { namespace, name: secretName, key: 'kubeconfig' },
      ...(options.provider ? { provider: options.provider } : {}),
      ...(options.region ? { region: options.region } : {}),
      ...(options.zone ? { zone: options.zone } : {}),
    },
  }, { fieldManager: 'nephele-join', force: true });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const cluster = await options.hub.get(fleetRefs.clusters, undefined, options.name);
    const status = isPlainObject(cluster.status) ? cluster.status : {};
    const conditions = Array.isArray(status.conditions) ? status.conditions : [];
    const ready = conditions.find((c) => isPlainObject(c) && c.type === 'Ready') as Record<string, unknown> | undefined;
    if (ready?.status === 'True') return { ready: true, cluster };
    if (Date.now() > deadline) {
      return { ready: false, cluster, reason: String(ready?.reason ?? 'NoStatus'), message: String(ready?.message ?? 'the hub has not reported on the cluster yet (is the hub running its fleet controllers?)') };
    }
    await new Promise((done) => setTimeout(done, 250));
  }
}

/** What `join` and `agent` say about a cluster: its labels, where it runs, and whether this hub only observes it. */
export interface ClusterFlags {
  labels?: Record<string, string>;
  provider?: string;
  region?: string;
  zone?: string;
  readOnly?: boolean;
}

/** Adds the ClusterFlags options to a command; `readOnly` explains what --read-only means for it. */
export function withClusterFlags(command: Command, readOnly: string): Command {
  return command
    .option('--labels <k=v,...>', 'labels for the Cluster', parseLabels)
    .option('--provider <p>', 'cloud provider or site (aws, gcp, azure, onprem, edge)')
    .option('--region <r>', 'region the cluster runs in')
    .option('--zone <z>', 'zone the cluster runs in')
    .option('--read-only', readOnly);
}

/** The ClusterFlags that were given, and only those. */
export function clusterFlags(opts: ClusterFlags): ClusterFlags {
  return {
    ...(opts.labels ? { labels: opts.labels } : {}),
    ...(opts.provider ? { provider: opts.provider } : {}),
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.zone ? { zone: opts.zone } : {}),
    ...(opts.readOnly ? { readOnly: true } : {}),
  };
}

/** The hub's kubeconfig: `--hub-kubeconfig`, else HOME/kubeconfig. */
export function hubKubeconfigPath(opts: { hubKubeconfig?: string; home: string }): string {
  return opts.hubKubeconfig ?? join(resolve(opts.home), 'kubeconfig');
}

export function registerJoin(program: Command, fail: (message: string) => never): void {
  withClusterFlags(program.command('join')
    .description('register a member cluster the hub reaches with a kubeconfig (push mode) and wait until it is Ready')
    .argument('<name>', 'the cluster\'s name on the hub', parseClusterName)
    .requiredOption('--kubeconfig <file>', 'kubeconfig of the member cluster (stored in a Secret on the hub)')
    .option('--hub-kubeconfig <file>', 'kubeconfig of the hub (default: HOME/kubeconfig)')
    .option('--home <dir>', 'the hub\'s home directory', '.nephele'),
  'share the cluster with the hub that owns its workloads: observe it, never write to it (spec.access ReadOnly)')
    .option('--timeout <duration>', 'how long to wait for Ready', parseDuration, 60_000)
    .action(async (name: string, opts: ClusterFlags & { kubeconfig: string; hubKubeconfig?: string; home: string; timeout: number }) => {
      let kubeconfig: string;
      try {
        kubeconfig = flattenKubeconfig(opts.kubeconfig);
        // Fails here, with the reason, rather than as InvalidKubeconfig on the hub later.
        await KubeMemberClient.fromKubeconfigYaml(name, kubeconfig).close();
      } catch (err) {
        fail(`--kubeconfig ${opts.kubeconfig}: ${(err as Error).message}`);
      }
      const hubPath = hubKubeconfigPath(opts);
      let hub: HttpClient;
      try {
        hub = HttpClient.fromKubeconfig(hubPath);
      } catch (err) {
        fail(`cannot use the hub's kubeconfig ${hubPath}: ${(err as Error).message} (pass --hub-kubeconfig FILE or --home DIR)`);
      }
      try {
        const result = await joinCluster({ name, kubeconfig, hub, ...clusterFlags(opts), timeoutMs: opts.timeout });
        const status = isPlainObject(result.cluster.status) ? result.cluster.status : {};
        if (result.ready) {
          console.log(`cluster ${name} joined: Ready, ${String(status.nodeCount ?? 0)} node(s), Kubernetes ${String(status.kubernetesVersion ?? 'unknown')}`);
        } else {
          console.error(`nephele: cluster ${name} is registered but not Ready after ${Math.round(opts.timeout / 1000)} s: ${result.reason}: ${result.message}`);
          process.exitCode = 1;
        }
      } catch (err) {
        fail(`joining ${name} failed: ${(err as Error).message}`);
      } finally {
        hub.close();
      }
    });
}
