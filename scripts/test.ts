/**
 * `npm test`: type-check, make sure the system programs the tests drive are present (saying how
 * to get them when they are not), then run every `*.test.ts` with node:test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const required = [
  { program: 'kubectl', why: 'the end-to-end suite drives the real kubectl', how: 'install kubectl (https://kubernetes.io/docs/tasks/tools/) and put it on PATH' },
  { program: 'etcd', why: 'the store conformance suite runs on a real etcd', how: 'apt-get install etcd-server (or run .ci/run, which installs it)' },
  { program: 'prometheus', why: 'the metrics suite scrapes simulated clusters with a real Prometheus', how: 'apt-get install prometheus (or run .ci/run, which installs it)' },
  { program: 'chromium', why: 'the portal\'s browser tests drive Debian\'s Chromium through playwright-core', how: 'apt-get install chromium (or run .ci/run, which installs it)' },
  { program: 'promtool', why: 'the metrics suite lints exposition text and backfills history with promtool', how: 'apt-get install prometheus (it ships promtool)' },
];

function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

const missing = required.filter((r) => !onPath(r.program));
if (missing.length > 0) {
  console.error('npm test needs programs this machine lacks:');
  for (const m of missing) console.error(`  - ${m.program}: ${m.why}; ${m.how}`);
  process.exit(1);
}

const tsc = 'node_modules/typescript/bin/tsc';
if (!existsSync(tsc)) {
  console.error('TypeScript is not installed: run `npm install` first.');
  process.exit(1);
}
console.log('type-checking (tsc --noEmit)...');
const typecheck = spawnSync(process.execPath, [tsc, '--noEmit', '-p', '.'], { stdio: 'inherit' });
if (typecheck.status !== 0) process.exit(typecheck.status ?? 1);
// The portal (ui/) has its own settings (DOM, JSX, bundler resolution).
console.log('type-checking the portal (tsc --noEmit -p ui)...');
const typecheckUi = spawnSync(process.execPath, [tsc, '--noEmit', '-p', 'ui'], { stdio: 'inherit' });
if (typecheckUi.status !== 0) process.exit(typecheckUi.status ?? 1);

const only = process.argv.slice(2);
const patterns = only.length > 0 ? only : ['src/**/*.test.ts', 'test/**/*.test.ts', 'ui/src/**/*.test.ts'];
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=300000', ...patterns], { stdio: 'inherit', env: process.env });
process.exit(run.status ?? 1);
