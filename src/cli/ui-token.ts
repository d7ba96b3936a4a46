/**
 * `nephele ui-token`: prints the bearer token to sign in to the portal with, the admin token in
 * the hub's kubeconfig, so a newcomer need not read YAML to find it.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/** The token of the kubeconfig's first user; undefined when there is none. */
export function kubeconfigToken(text: string): string | undefined {
  const config = parse(text) as { users?: Array<{ user?: { token?: unknown } }> } | null;
  const token = config?.users?.[0]?.user?.token;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

export function registerUiToken(program: Command, fail: (message: string) => never, defaultHome: string): void {
  program.command('ui-token')
    .description('print the bearer token to sign in to the portal (https://HOST:PORT/ui/) with')
    .option('--home <dir>', 'the hub\'s home directory', defaultHome)
    .action((opts: { home: string }) => {
      const path = join(resolve(opts.home), 'kubeconfig');
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        fail(`no kubeconfig at ${path}: start the hub first (npm start, or npx nephele up --home ${opts.home})`);
      }
      const token = kubeconfigToken(text);
      if (!token) fail(`the kubeconfig at ${path} holds no token; it is not one a Nephele hub wrote`);
      process.stdout.write(`${token}\n`);
    });
}
