/**
 * The kubeconfig that points kubectl (and any client-go or client-node program) at the hub:
 * one cluster trusting the hub's CA, one user with a bearer token, one context joining them,
 * made current.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { privateMode, writeFileAtomically, type WriteOptions } from './private-file.ts';

export interface KubeconfigParams {
  /** The hub's URL, `https://host:port`. */
  server: string;
  /** The CA that signed the hub's serving certificate, PEM. */
  caPem: string;
  /** The user's bearer token. */
  token: string;
  /** Name of the cluster entry; defaults to `nephele`. */
  clusterName?: string;
  /** Name of the user entry; defaults to `admin`. */
  user?: string;
  /** Name of the context entry, which is made current; defaults to `<user>@<clusterName>`. */
  context?: string;
}

/**
 * Renders a kubeconfig as YAML text. Throws if `server` is not an https URL, `caPem` holds no
 * parsable certificate, or `token` is empty or contains whitespace: a kubeconfig that kubectl
 * would reject later is refused now.
 */
export function renderKubeconfig(params: KubeconfigParams): string {
  const clusterName = params.clusterName ?? 'nephele';
  const user = params.user ?? 'admin';
  const context = params.context ?? `${user}@${clusterName}`;

  let url: URL;
  try {
    url = new URL(params.server);
  } catch {
    throw new Error(`kubeconfig server ${JSON.stringify(params.server)} is not a URL`);
  }
  if (url.protocol !== 'https:') throw new Error(`kubeconfig server ${JSON.stringify(params.server)} must use https`);
  try {
    new X509Certificate(params.caPem);
  } catch {
    throw new Error('kubeconfig caPem does not hold a PEM certificate');
  }
  if (!/^\S+$/.test(params.token)) throw new Error('kubeconfig token must be non-empty and without whitespace');
  for (const [what, name] of [['clusterName', clusterName], ['user', user], ['context', context]] as const) {
    if (name.trim() === '') throw new Error(`kubeconfig ${what} must not be empty`);
  }

  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: clusterName,
        cluster: {
          server: params.server,
          'certificate-authority-data': Buffer.from(params.caPem, 'utf8').toString('base64'),
        },
      },
    ],
    users: [{ name: user, user: { token: params.token } }],
    contexts: [{ name: context, context: { cluster: clusterName, user } }],
    'current-context': context,
    preferences: {},
  });
}

/**
 * Writes `yamlText` to `home/kubeconfig` with mode 0600, replacing any earlier one atomically,
 * and returns the file's path.
 */
export async function writeKubeconfig(home: string, yamlText: string, options: WriteOptions = {}): Promise<string> {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = join(home, 'kubeconfig');
  writeFileAtomically(path, yamlText, privateMode, options);
  return path;
}
