/**
 * The `nephele` command as a person runs it (`node bin/nephele.js ...`): help, flag mistakes as
 * one clear line and a non-zero exit, the kubeconfig of a hub, and `audit verify` telling an
 * intact audit log from one where a record was changed or removed. Also checks what the audit
 * log records for the requests that change things.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestHub, tempFile, type TestHub } from '../src/testing/hub.ts';
import { cliPath as cli, runCli, type CliRun } from '../src/testing/cli.ts';


const nephele = (args: string[], cwd = tmpdir()): Promise<CliRun> => runCli(args, { cwd, timeoutMs: 30_000 });

/** The non-empty lines of some output. */
const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

describe('nephele CLI', () => {
  const dirs: string[] = [];
  const dir = (prefix: string) => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('--help lists the commands and exits 0', async () => {
    const run = await nephele(['--help']);
    assert.equal(run.code, 0, run.stderr);
    for (const command of ['up', 'start', 'kubeconfig', 'audit']) assert.match(run.stdout, new RegExp(`^\\s+${command}\\b`, 'm'));
    const verify = await nephele(['audit', 'verify', '--help']);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stdout, /--home <dir>/);
  });

  const mistakes: Array<{ args: string[]; says: RegExp }> = [
    { args: ['up', '--listen', 'nonsense'], says: /"nonsense" is not HOST:PORT \(for example 127\.0\.0\.1:6443\)/ },
    { args: ['up', '--listen', '127.0.0.1:99999'], says: /port 99999 is out of range/ },
    { args: ['up', '--store', 'bogus'], says: /"bogus" is not a store: use sqlite, memory or etcd:\/\/HOST:PORT.*etcds:\/\/ for TLS/ },
    { args: ['up', '--store', 'etcds://127.0.0.1:2379', '--etcd-ca', '/nonexistent/ca.crt'], says: /cannot read \/nonexistent\/ca\.crt: ENOENT/ },
    { args: ['up', '--store', 'etcd://127.0.0.1:2379', '--etcd-ca', new URL(import.meta.url).pathname], says: /--etcd-ca, --etcd-cert and --etcd-key go with an etcds:\/\/HOST:PORT store, not etcd:\/\/127\.0\.0\.1:2379/ },
    { args: ['up', '--store', 'etcds://127.0.0.1:2379', '--etcd-cert', new URL(import.meta.url).pathname], says: /--etcd-cert and --etcd-key go together/ },
    { args: ['start', '--store', 'etcd://'], says: /"etcd:\/\/" is not a store/ },
    { args: ['up', '--frobnicate'], says: /unknown option '--frobnicate'/ },
    { args: ['teleport'], says: /unknown command 'teleport'/ },
  ];
  for (const { args, says } of mistakes) {
    it(`${args.join(' ')}: one line on stderr, a non-zero exit, nothing written`, async () => {
      const cwd = dir('nephele-cli-cwd-');
      const home = join(cwd, 'home');
      const run = await nephele([...args, '--home', home], cwd);
      assert.notEqual(run.code, 0, 'exit code');
      assert.equal(lines(run.stderr).length, 1, `exactly one line on stderr: ${JSON.stringify(run.stderr)}`);
      assert.match(run.stderr, says);
      assert.equal(run.stdout, '');
      assert.deepEqual(readdirSync(cwd), [], 'no home (or .nephele) was created');
    });
  }

  it('up on a port already in use: one line naming the address, exit 1', async () => {
    const busy = await startTestHub({ store: 'memory' });
    try {
      const home = dir('nephele-cli-busy-');
      const run = await nephele(['up', '--home', home, '--store', 'memory', '--listen', `127.0.0.1:${busy.port}`]);
      assert.equal(run.code, 1, run.stderr);
      assert.deepEqual(lines(run.stderr), [`nephele: cannot listen on 127.0.0.1:${busy.port}: the port is in use (pick another with --listen HOST:PORT)`]);
    } finally {
      await busy.close();
    }
  });

  it('kubeconfig without a hub in the home says so and exits 1', async () => {
    const home = join(dir('nephele-cli-nohub-'), 'missing');
    const run = await nephele(['kubeconfig', '--home', home]);
    assert.equal(run.code, 1);
    assert.deepEqual(lines(run.stderr), [`nephele: no kubeconfig at ${join(home, 'kubeconfig')}: start the hub first (npx nephele up --home ${home})`]);
  });

  it('audit verify of a directory without an audit log says so and exits 1', async () => {
    const home = dir('nephele-cli-noaudit-');
    const run = await nephele(['audit', 'verify', '--home', home]);
    assert.equal(run.code, 1);
    assert.equal(lines(run.stderr).length, 1, run.stderr);
    assert.match(run.stderr, /no audit log in .*: pass the hub's home directory with --home DIR/);
  });

  describe('with a hub that served some writes', () => {
    let home: string;
    let hub: TestHub;
    let log: string[];

    before(async () => {
      home = dir('nephele-cli-home-');
      hub = await startTestHub({ home, store: 'memory' });
      const ok = async (args: string[], input?: string) => {
        const r = await hub.kubectl(args, input);
        assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      };
      await ok(['create', 'configmap', 'audited', '--from-literal=a=b']);
      await ok(['patch', 'configmap', 'audited', '--type=merge', '-p', '{"data":{"a":"c"}}']);
      await ok(['label', 'configmap', 'audited', 'tier=gold']);
      await ok(['delete', 'configmap', 'audited']);
      await ok(['apply', '-f', tempFile('ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata: { name: audit-team }\n')]);
      const json = { 'content-type': 'application/json' };
      assert.equal((await hub.call('POST', '/apis/apps/v1/namespaces/audit-team/deployments', { headers: json, body: JSON.stringify({ metadata: { name: 'Bad_Name' } }) })).status, 422);
      assert.equal((await hub.call('POST', '/api/v1/namespaces/default/secrets', { headers: json, body: '{}', token: '' })).status, 401);
      assert.equal((await hub.call('DELETE', '/api/v1/namespaces/audit-team')).status, 202, 'a namespace is deleted after its contents');
      await hub.close();
      log = readFileSync(join(home, 'audit.log'), 'utf8').split('\n').filter(Boolean);
    });

    after(async () => {
      await hub?.close().catch(() => {});
    });

    it('kubeconfig --home prints the hub\'s kubeconfig, and kubectl can use it', async () => {
      const running = await startTestHub({ home, store: 'memory' });
      try {
        const run = await nephele(['kubeconfig', '--home', home]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stderr, '');
        assert.equal(run.stdout, readFileSync(join(home, 'kubeconfig'), 'utf8'));
        assert.match(run.stdout, /^kind: Config$|"kind": ?"Config"/m);
        assert.ok(run.stdout.includes(running.url), `the kubeconfig points at ${running.url}`);
        assert.ok(run.stdout.includes(running.token), 'the kubeconfig carries the admin token');
        const copy = tempFile('kubeconfig', run.stdout);
        const r = await new Promise<{ code: number; out: string }>((resolve) => {
          execFile('kubectl', ['--kubeconfig', copy, 'get', 'namespace', 'default', '-o', 'name'], { timeout: 30_000 }, (err, out) => resolve({ code: err ? 1 : 0, out }));
        });
        assert.equal(r.code, 0);
        assert.equal(r.out.trim(), 'namespace/default');
      } finally {
        await running.close();
      }
    });

    it('the audit log records who changed what, and how it ended', () => {
      const records = log.map((l) => JSON.parse(l) as Record<string, unknown>);
      const find = (want: Record<string, unknown>) => records.find((r) => Object.entries(want).every(([k, v]) => r[k] === v));
      const wanted = [
        { user: 'admin', verb: 'create', resource: 'configmaps', namespace: 'default', name: 'audited', code: 201 },
        { user: 'admin', verb: 'patch', resource: 'configmaps', namespace: 'default', name: 'audited', code: 200 },
        { user: 'admin', verb: 'delete', resource: 'configmaps', namespace: 'default', name: 'audited', code: 200 },
        { user: 'admin', verb: 'create', resource: 'namespaces', name: 'audit-team', code: 201 },
        { user: 'admin', verb: 'create', resource: 'deployments', namespace: 'audit-team', name: 'Bad_Name', code: 422 },
        { user: 'system:anonymous', verb: 'create', code: 401 },
        { user: 'admin', verb: 'delete', resource: 'namespaces', name: 'audit-team', code: 202 },
      ];
      for (const want of wanted) assert.ok(find(want), `no audit record like ${JSON.stringify(want)} in:\n${log.join('\n')}`);
      const patches = records.filter((r) => r.verb === 'patch' && r.name === 'audited');
      assert.equal(patches.length, 2, 'kubectl patch and kubectl label each left a record');
      assert.ok(records.every((r, i) => r.seq === i + 1 && typeof r.time === 'string' && typeof r.hash === 'string'), 'records are numbered, timed and chained');
      assert.ok(!records.some((r) => r.verb === 'get' || r.verb === 'list'), 'reads are not audited');
    });

    it('audit verify says intact and exits 0', async () => {
      const run = await nephele(['audit', 'verify', '--home', home]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), `audit log intact: ${log.length} records`);
    });

    /** A copy of the home's audit files with the log replaced by `lines`. */
    const tampered = (edit: (lines: string[]) => string[]) => {
      const copy = dir('nephele-cli-tampered-');
      copyFileSync(join(home, 'audit.head'), join(copy, 'audit.head'));
      writeFileSync(join(copy, 'audit.log'), edit([...log]).map((l) => `${l}\n`).join(''));
      return copy;
    };

    it('a changed verb in a middle record: exit 1, naming the line', async () => {
      const middle = log.findIndex((l, i) => i > 0 && i < log.length - 1 && l.includes('"verb":"delete"'));
      assert.ok(middle > 0, 'a delete record in the middle of the log');
      const copy = tampered((ls) => ls.map((l, i) => (i === middle ? l.replace('"verb":"delete"', '"verb":"get"') : l)));
      const run = await nephele(['audit', 'verify', '--home', copy]);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stderr, /^audit log damaged: 1 problem\(s\) in \d+ records$/m);
      assert.match(run.stderr, new RegExp(`^  line ${middle + 1}: hash mismatch: the record was changed$`, 'm'));
    });

    it('a changed status code in a middle record: exit 1, naming the line', async () => {
      const middle = Math.floor(log.length / 2);
      const copy = tampered((ls) => ls.map((l, i) => (i === middle ? l.replace(/"code":(\d+)/, (_m, c: string) => `"code":${c === '200' ? 403 : 200}`) : l)));
      const run = await nephele(['audit', 'verify', '--home', copy]);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stderr, new RegExp(`^  line ${middle + 1}: hash mismatch`, 'm'));
    });

    it('a removed middle record: exit 1, naming where the gap is', async () => {
      const middle = Math.floor(log.length / 2);
      const copy = tampered((ls) => ls.filter((_l, i) => i !== middle));
      const run = await nephele(['audit', 'verify', '--home', copy]);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stderr, new RegExp(`^  line ${middle + 1}: seq jumps from ${middle} to ${middle + 2}: 1 record\\(s\\) removed or moved; chain broken`, 'm'));
    });

    it('a removed last record: exit 1', async () => {
      const copy = tampered((ls) => ls.slice(0, -1));
      const run = await nephele(['audit', 'verify', '--home', copy]);
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stderr, /the last 1 record\(s\) were removed/);
    });

    it('verification leaves the files as they were', async () => {
      const before = readFileSync(join(home, 'audit.log'), 'utf8');
      await nephele(['audit', 'verify', '--home', home]);
      assert.equal(readFileSync(join(home, 'audit.log'), 'utf8'), before);
      assert.ok(existsSync(join(home, 'audit.head')));
    });
  });
});
