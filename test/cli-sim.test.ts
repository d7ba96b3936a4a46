/**
 * The simulator from the command line: `nephele sim up` runs simulated clusters a person can reach
 * with kubectl through `nephele kubeconfig --cluster`, and `nephele start` (what `npm start` runs)
 * brings up the demo fleet's member clusters with nodes and running pods of their own.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runKubectl } from '../src/testing/kubectl.ts';
import { waitFor } from '../src/testing/wait.ts';
import { cliPath as cli, runCli } from '../src/testing/cli.ts';


const nephele = (args: string[]) => runCli(args, { timeoutMs: 30_000 });

/** Starts the CLI in the background and collects its stdout. */
function background(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { out += chunk.toString(); });
  return { child, output: () => out };
}

function stopped(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe('nephele sim and start', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'nephele-cli-sim-'));
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('sim up runs clusters whose kubeconfigs kubectl uses, and stops on SIGTERM', async () => {
    const home = dir();
    const run = background(['sim', 'up', '--home', home, '--clusters', '2', '--nodes', '2', '--node-type', 'm5.large', '--speed', '10']);
    try {
      await waitFor('the clusters listed', () => /Press Ctrl\+C/.test(run.output()), { timeoutMs: 30_000, describe: run.output });
      assert.match(run.output(), /2 simulated cluster\(s\), 2 m5\.large node\(s\) each, clock at 10x/);
      const printed = await nephele(['kubeconfig', '--home', home, '--cluster', 'sim-2']);
      assert.equal(printed.code, 0, printed.stderr);
      assert.match(printed.stdout, /current-context: sim-2/);
      const file = join(home, 'printed-kubeconfig');
      writeFileSync(file, printed.stdout);
      const nodes = await runKubectl(file, ['get', 'nodes']);
      assert.equal(nodes.code, 0, nodes.stderr);
      assert.match(nodes.stdout, /^sim-2-default-0\s+Ready/m);
      assert.match(nodes.stdout, /^sim-2-default-1\s+Ready/m);
    } finally {
      assert.equal(await stopped(run.child), 0, run.output());
    }
    assert.match(run.output(), /SIGTERM: stopping the simulated clusters/);
  });

  it('refuses bad sim up flags with one line naming the fix', async () => {
    const badType = await nephele(['sim', 'up', '--node-type', 'm9.huge']);
    assert.equal(badType.code, 2);
    assert.match(badType.stderr, /unknown instance type "m9\.huge"; known types: m5\.large/);
    const badSpeed = await nephele(['sim', 'up', '--speed', '0']);
    assert.equal(badSpeed.code, 2);
    assert.match(badSpeed.stderr, /--speed is cluster seconds per real second/);
    const missing = await nephele(['kubeconfig', '--home', dir(), '--cluster', 'nowhere']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no kubeconfig for cluster nowhere .* start it first/);
  });

  it('start brings up the demo fleet\'s member clusters with nodes and running pods', async () => {
    const home = dir();
    const run = background(['start', '--home', home, '--listen', '127.0.0.1:0']);
    try {
      await waitFor('the banner', () => /Press Ctrl\+C/.test(run.output()), { timeoutMs: 60_000, describe: run.output });
      for (const name of ['aws-us-east-1', 'gcp-europe-west1', 'azure-eastus']) assert.match(run.output(), new RegExp(`${name}\\s+kubectl --kubeconfig \\S+/clusters/${name}/kubeconfig`));
      const kubeconfig = join(home, 'clusters', 'gcp-europe-west1', 'kubeconfig');
      const nodes = await runKubectl(kubeconfig, ['get', 'nodes', '-L', 'topology.kubernetes.io/region']);
      assert.equal(nodes.stdout.trim().split('\n').length, 1 + 3, nodes.stdout);
      assert.match(nodes.stdout, /gcp-europe-west1-n2-standard-4-0\s+Ready.*europe-west1/);
      await waitFor('the demo workloads running', async () => {
        const pods = await runKubectl(kubeconfig, ['get', 'pods', '-n', 'demo', '--field-selector', 'status.phase=Running', '-o', 'name']);
        return pods.stdout.trim().split('\n').filter(Boolean).length === 6;
      }, { timeoutMs: 30_000 });
      // The hub's shop/web (6 replicas) is divided 2:1:1 over the three members by docs/examples/web-placement.yaml.
      const shopPods = async (name: string) => (await runKubectl(join(home, 'clusters', name, 'kubeconfig'), ['get', 'pods', '-n', 'shop', '--field-selector', 'status.phase=Running', '-o', 'name'])).stdout.trim().split('\n').filter(Boolean).length;
      await waitFor('shop/web divided over the members', async () => (await shopPods('aws-us-east-1')) === 3 && (await shopPods('gcp-europe-west1')) + (await shopPods('azure-eastus')) === 3, { timeoutMs: 30_000 });
      const euImage = await runKubectl(kubeconfig, ['get', 'pods', '-n', 'shop', '-o', 'jsonpath={.items[*].spec.containers[0].image}']);
      assert.match(euImage.stdout, /^mirror\.europe-west1\.example\/nginx:1\.27/);
      // The application is loaded once its clusters are Ready, so its first placement succeeds:
      // a newcomer's first `kubectl get events` shows no failed scheduling.
      const events = await runKubectl(join(home, 'kubeconfig'), ['get', 'events', '-n', 'shop', '-o', 'jsonpath={range .items[*]}{.type} {.reason} {.involvedObject.kind}: {.message}{"\\n"}{end}']);
      assert.equal(events.code, 0, events.stderr);
      assert.match(events.stdout, /^Normal Scheduled Deployment: placed on aws-us-east-1=3, azure-eastus=\d, gcp-europe-west1=\d$/m);
      // A Service has no replicas: it goes whole to each cluster, and the event names them without counts.
      assert.match(events.stdout, /^Normal Scheduled Service: placed on aws-us-east-1, azure-eastus, gcp-europe-west1$/m);
      assert.doesNotMatch(events.stdout, /^Warning/m);
    } finally {
      assert.equal(await stopped(run.child), 0, run.output());
    }
  });
});
