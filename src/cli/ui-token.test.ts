import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubeconfigToken } from './ui-token.ts';

const main = new URL('./main.ts', import.meta.url).pathname;

test('ui-token prints the token of the hub\'s kubeconfig', () => {
  const home = mkdtempSync(join(tmpdir(), 'nephele-ui-token-'));
  writeFileSync(join(home, 'kubeconfig'), 'apiVersion: v1\nkind: Config\nusers:\n  - name: admin\n    user:\n      token: abc123\n');
  const run = spawnSync(process.execPath, [main, 'ui-token', '--home', home], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, 'abc123\n');
});

test('ui-token says how to start the hub when there is no kubeconfig', () => {
  const home = mkdtempSync(join(tmpdir(), 'nephele-ui-token-'));
  const run = spawnSync(process.execPath, [main, 'ui-token', '--home', home], { encoding: 'utf8' });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /no kubeconfig at .*start the hub first/);
});

test('a kubeconfig without a token yields none', () => {
  assert.equal(kubeconfigToken('users: [{ name: a, user: { username: x } }]'), undefined);
  assert.equal(kubeconfigToken(''), undefined);
});
