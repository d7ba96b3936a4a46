/**
 * End to end: a simulated member cluster calls admission webhooks as kube-apiserver does. The
 * webhooks are a real HTTPS server in this process with a CA of its own; configurations are
 * applied, and objects created, with the real kubectl.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimulatedCluster, type SimulatedCluster } from '../src/sim/index.ts';
import { ensureServingCertificates } from '../src/hub/security/index.ts';
import type { WebhookAdmission, WebhookMutatingPlugin } from '../src/apiserver/webhook-admission.ts';
import { waitFor } from '../src/testing/wait.ts';

interface Call {
  path: string;
  query: URLSearchParams;
  review: any;
}

/** The webhook server: each path is one behaviour; every review it receives is recorded. */
function webhookServer(certPem: string, keyPem: string, calls: Call[]): Server {
  const answer = (res: import('node:http').ServerResponse, uid: string, response: Record<string, unknown>) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...response } }));
  };
  const jsonPatch = (ops: unknown[]) => ({ patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') });
  return createServer({ cert: certPem, key: keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'https://webhook');
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      calls.push({ path: url.pathname, query: url.searchParams, review });
      const { uid, object } = review.request;
      switch (url.pathname) {
        case '/label': {
          const ops = object.metadata.labels
            ? [{ op: 'add', path: '/metadata/labels/webhook.example.com~1seen', value: 'yes' }]
            : [{ op: 'add', path: '/metadata/labels', value: { 'webhook.example.com/seen': 'yes' } }];
          return answer(res, uid, { allowed: true, ...jsonPatch(ops), warnings: ['labelled by the test webhook'] });
        }
        case '/annotate-first': {
          // Records what it saw of the later webhook's label, to show it ran again after it.
          const seen = object.metadata.labels?.['second'] ?? 'absent';
          const ops = [{ op: object.metadata.annotations ? 'replace' : 'add', path: '/metadata/annotations', value: { 'first-saw-second': seen } }];
          return answer(res, uid, { allowed: true, ...jsonPatch(ops) });
        }
        case '/label-second':
          return answer(res, uid, { allowed: true, ...jsonPatch([{ op: 'add', path: '/metadata/labels/second', value: 'set' }]) });
        case '/deny':
          return answer(res, uid, { allowed: false, status: { code: 403, message: 'configmaps labelled case=deny are not allowed' } });
        case '/wrong-uid':
          return answer(res, 'not-the-uid', { allowed: true });
        case '/slow':
          await sleep(3000);
          return answer(res, uid, { allowed: true });
        default:
          return answer(res, uid, { allowed: true });
      }
    });
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('admission webhooks on a simulated cluster', () => {
  let cluster: SimulatedCluster;
  let server: Server;
  let port: number;
  let downPort: number;
  let caBundle: string;
  let webhooks: WebhookAdmission;
  const calls: Call[] = [];
  const certHome = mkdtempSync(join(tmpdir(), 'nephele-webhook-certs-'));

  const kubectl = (args: string[], input?: string) => new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', cluster.kubeconfigPath, ...args], { timeout: 30_000, env: { ...process.env, KUBECACHEDIR: join(cluster.home, 'kube-cache') } }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? (typeof (err as { code?: unknown }).code === 'number' ? Number((err as { code?: unknown }).code) : 1) : 0 });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
  const ok = async (args: string[], input?: string) => {
    const r = await kubectl(args, input);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  /** Applies a webhook configuration with kubectl and waits until admission uses that version. */
  const configure = async (kind: 'MutatingWebhookConfiguration' | 'ValidatingWebhookConfiguration', name: string, hooks: Array<Record<string, unknown>>) => {
    const body = { apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name }, webhooks: hooks };
    const rv = await ok(['apply', '-f', '-', '-o', 'jsonpath={.metadata.resourceVersion}'], JSON.stringify(body));
    const phase = kind === 'MutatingWebhookConfiguration' ? 'mutating' : 'validating';
    await waitFor(`${name} in effect`, () => webhooks.configurations(phase).some((c) => c.metadata.name === name && c.metadata.resourceVersion === rv));
  };
  /** A webhook on the test server for ConfigMaps carrying the label `case=CASE`. */
  const hook = (name: string, path: string, testCase: string, extra: Record<string, unknown> = {}) => ({
    name,
    clientConfig: { url: `https://127.0.0.1:${port}${path}`, caBundle },
    rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'] }],
    objectSelector: { matchLabels: { case: testCase } },
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    ...extra,
  });
  const configMap = (name: string, testCase: string, namespace = 'default') =>
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels: { case: testCase } }, data: { k: 'v' } });
  const callsTo = (path: string) => calls.filter((c) => c.path === path);

  before(async () => {
    cluster = await startSimulatedCluster({ name: 'hooks' });
    const plugin = cluster.admission.mutating.find((p) => p.name === 'MutatingAdmissionWebhook') as WebhookMutatingPlugin | undefined;
    assert.ok(plugin, 'the cluster has the webhook admission plugin');
    webhooks = plugin.webhooks;
    const certs = await ensureServingCertificates(certHome, []);
    caBundle = Buffer.from(certs.caPem).toString('base64');
    server = webhookServer(certs.certPem, certs.keyPem, calls);
    port = await listen(server);
    // A webhook server that was started and stopped: nothing listens on its port any more.
    const stopped = webhookServer(certs.certPem, certs.keyPem, calls);
    downPort = await listen(stopped);
    await new Promise((done) => stopped.close(done));
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise((done) => server ? server.close(done) : done(undefined));
    await cluster?.stop();
    rmSync(certHome, { recursive: true, force: true });
  });

  it('sends a mutating webhook an AdmissionReview v1 and applies its JSON patch', async () => {
    await configure('MutatingWebhookConfiguration', 'label-adder', [hook('label.example.com', '/label', 'mutate', {
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['default'] }] },
    })]);
    const created = await kubectl(['create', '-f', '-'], configMap('m1', 'mutate'));
    assert.equal(created.code, 0, created.stderr);
    // The webhook's warnings reach the client as Warning headers, which kubectl prints.
    assert.match(created.stderr, /^Warning: labelled by the test webhook$/m);

    const [call] = callsTo('/label');
    assert.ok(call, 'the webhook was called');
    assert.equal(call.query.get('timeout'), '10s', 'the timeout is on the URL, as upstream sends it');
    const { review } = call;
    assert.equal(review.apiVersion, 'admission.k8s.io/v1');
    assert.equal(review.kind, 'AdmissionReview');
    const request = review.request;
    assert.match(request.uid, /^[0-9a-f-]{36}$/);
    assert.deepEqual(request.kind, { group: '', version: 'v1', kind: 'ConfigMap' });
    assert.deepEqual(request.resource, { group: '', version: 'v1', resource: 'configmaps' });
    assert.deepEqual(request.requestKind, request.kind);
    assert.deepEqual(request.requestResource, request.resource);
    assert.equal(request.subResource, undefined);
    assert.equal(request.name, 'm1');
    assert.equal(request.namespace, 'default');
    assert.equal(request.operation, 'CREATE');
    assert.equal(request.userInfo.username, 'admin');
    assert.ok(Array.isArray(request.userInfo.groups));
    assert.deepEqual(request.object.data, { k: 'v' });
    assert.equal(request.object.metadata.labels.case, 'mutate');
    assert.equal(request.oldObject, null);
    assert.equal(request.dryRun, false);
    assert.equal(request.options.kind, 'CreateOptions');

    const stored = JSON.parse(await ok(['get', 'configmap', 'm1', '-o', 'json']));
    assert.equal(stored.metadata.labels['webhook.example.com/seen'], 'yes', 'the patch was applied before the write');
    assert.equal(stored.metadata.labels.case, 'mutate');

    // An update carries the old object too.
    await ok(['label', 'configmap', 'm1', 'extra=1']);
    const update = callsTo('/label').at(-1)!.review.request;
    assert.equal(update.operation, 'UPDATE');
    assert.equal(update.oldObject.metadata.labels['webhook.example.com/seen'], 'yes');
    assert.equal(update.object.metadata.labels.extra, '1');
    assert.equal(update.options.kind, 'UpdateOptions');

    // The namespaceSelector leaves other namespaces alone.
    const before = callsTo('/label').length;
    await ok(['create', '-f', '-'], configMap('m2', 'mutate', 'kube-public'));
    assert.equal(callsTo('/label').length, before, 'no call for kube-public');
    const other = JSON.parse(await ok(['-n', 'kube-public', 'get', 'configmap', 'm2', '-o', 'json']));
    assert.equal(other.metadata.labels['webhook.example.com/seen'], undefined);
  });

  it('reinvokes a webhook with reinvocationPolicy IfNeeded after a later one changed the object', async () => {
    await configure('MutatingWebhookConfiguration', 'a-first', [hook('first.example.com', '/annotate-first', 'reinvoke', { reinvocationPolicy: 'IfNeeded' })]);
    await configure('MutatingWebhookConfiguration', 'b-second', [hook('second.example.com', '/label-second', 'reinvoke')]);
    await ok(['create', '-f', '-'], configMap('r1', 'reinvoke'));
    assert.equal(callsTo('/annotate-first').length, 2, 'the first webhook ran again');
    assert.equal(callsTo('/label-second').length, 1, 'the second, with Never, ran once');
    const stored = JSON.parse(await ok(['get', 'configmap', 'r1', '-o', 'json']));
    assert.equal(stored.metadata.labels.second, 'set');
    assert.equal(stored.metadata.annotations['first-saw-second'], 'set', 'on its second call the first webhook saw the second one\'s change');
  });

  it('rejects with the message of a validating webhook that denies', async () => {
    await configure('ValidatingWebhookConfiguration', 'denier', [hook('deny.example.com', '/deny', 'deny')]);
    const denied = await kubectl(['create', '-f', '-'], configMap('d1', 'deny'));
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /admission webhook "deny\.example\.com" denied the request: configmaps labelled case=deny are not allowed/);
    assert.match(denied.stderr, /Forbidden/);
    const missing = await kubectl(['get', 'configmap', 'd1']);
    assert.notEqual(missing.code, 0, 'nothing was stored');
    assert.equal(callsTo('/deny')[0]!.review.request.operation, 'CREATE');
  });

  it('calls a webhook only when all its matchConditions hold; one that cannot be evaluated follows failurePolicy', async () => {
    await configure('ValidatingWebhookConfiguration', 'conditional', [hook('cond.example.com', '/deny', 'cond', {
      matchConditions: [
        { name: 'create-only', expression: "request.operation == 'CREATE'" },
        { name: 'flagged', expression: "has(object.data.flag) && object.data.flag == 'deny'" },
      ],
    })]);
    const before = callsTo('/deny').length;
    await ok(['create', '-f', '-'], configMap('c1', 'cond'));
    assert.equal(callsTo('/deny').length, before, 'a false condition skips the webhook');
    const flagged = (name: string, testCase: string) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels: { case: testCase } }, data: { flag: 'deny' } });
    const denied = await kubectl(['create', '-f', '-'], flagged('c2', 'cond'));
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /admission webhook "cond\.example\.com" denied the request/);
    assert.equal(callsTo('/deny').length, before + 1);

    const missingKey = (name: string, failurePolicy: string) => hook(name, '/allow', `broken-${failurePolicy.toLowerCase()}`, {
      failurePolicy, matchConditions: [{ name: 'missing', expression: "object.data.nothere == 'x'" }],
    });
    await configure('ValidatingWebhookConfiguration', 'broken-conditions', [missingKey('fail.example.com', 'Fail'), missingKey('ignore.example.com', 'Ignore')]);
    const failed = await kubectl(['create', '-f', '-'], configMap('c3', 'broken-fail'));
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /failed calling webhook "fail\.example\.com": failed to evaluate match condition "missing": No such key: nothere/);
    await ok(['create', '-f', '-'], configMap('c4', 'broken-ignore'));

    const invalid = await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'uncompilable' },
      webhooks: [hook('bad.example.com', '/allow', 'never', { matchConditions: [{ name: 'half', expression: '1 +' }, { name: 'half', expression: 'true' }] })],
    }));
    assert.notEqual(invalid.code, 0);
    assert.match(invalid.stderr, /webhooks\[0\]\.matchConditions\[0\]\.expression: Invalid value: .*compilation failed/);
    assert.match(invalid.stderr, /webhooks\[0\]\.matchConditions\[1\]\.name: Duplicate value/);
  });

  it('sends validating webhooks the object as mutated, and deletes with the old object', async () => {
    await configure('MutatingWebhookConfiguration', 'label-for-validation', [hook('label2.example.com', '/label', 'observe')]);
    await configure('ValidatingWebhookConfiguration', 'observer', [hook('observe.example.com', '/allow', 'observe', {
      rules: [{ operations: ['*'], apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], scope: 'Namespaced' }],
    })]);
    await ok(['create', '-f', '-'], configMap('o1', 'observe'));
    const seen = callsTo('/allow').at(-1)!.review.request;
    assert.equal(seen.object.metadata.labels['webhook.example.com/seen'], 'yes', 'validation comes after mutation');
    await ok(['delete', 'configmap', 'o1']);
    const deleted = callsTo('/allow').at(-1)!.review.request;
    assert.equal(deleted.operation, 'DELETE');
    assert.equal(deleted.object, null);
    assert.equal(deleted.oldObject.metadata.name, 'o1');
    assert.equal(deleted.options.kind, 'DeleteOptions');
  });

  it('fails closed (failurePolicy Fail) and open (Ignore) when the webhook server is down', async () => {
    const down = (name: string, testCase: string, failurePolicy: string) => ({
      ...hook(name, '/allow', testCase, { failurePolicy }),
      clientConfig: { url: `https://127.0.0.1:${downPort}/allow`, caBundle },
    });
    await configure('ValidatingWebhookConfiguration', 'down-fail', [down('down-fail.example.com', 'fail-closed', 'Fail')]);
    await configure('ValidatingWebhookConfiguration', 'down-ignore', [down('down-ignore.example.com', 'fail-open', 'Ignore')]);
    const closed = await kubectl(['create', '-f', '-'], configMap('f1', 'fail-closed'));
    assert.notEqual(closed.code, 0);
    assert.match(closed.stderr, /InternalError/);
    assert.match(closed.stderr, /failed calling webhook "down-fail\.example\.com": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/allow\?timeout=10s": .*ECONNREFUSED/);
    const open = await kubectl(['create', '-f', '-'], configMap('f2', 'fail-open'));
    assert.equal(open.code, 0, open.stderr);
    await ok(['get', 'configmap', 'f2']);

    // Deleting the configuration takes its webhook out of the path.
    await ok(['delete', 'validatingwebhookconfiguration', 'down-fail']);
    await waitFor('down-fail gone', () => !webhooks.configurations('validating').some((c) => c.metadata.name === 'down-fail'));
    await ok(['create', '-f', '-'], configMap('f1', 'fail-closed'));
  });

  it('treats a webhook slower than its timeoutSeconds as failed', async () => {
    await configure('ValidatingWebhookConfiguration', 'slowpoke', [hook('slow.example.com', '/slow', 'slow', { timeoutSeconds: 1 })]);
    const slow = await kubectl(['create', '-f', '-'], configMap('s1', 'slow'));
    assert.notEqual(slow.code, 0);
    assert.match(slow.stderr, /failed calling webhook "slow\.example\.com": .*timeout=1s.*deadline exceeded/);
    assert.equal(callsTo('/slow')[0]!.query.get('timeout'), '1s');
  });

  it('treats an answer for another request (wrong uid) and an untrusted certificate as failed calls', async () => {
    await configure('ValidatingWebhookConfiguration', 'confused', [hook('uid.example.com', '/wrong-uid', 'uid')]);
    const wrong = await kubectl(['create', '-f', '-'], configMap('u1', 'uid'));
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /failed calling webhook "uid\.example\.com": expected response\.uid=/);

    const otherCa = Buffer.from((await ensureServingCertificates(mkdtempSync(join(certHome, 'other-')), [])).caPem).toString('base64');
    await configure('ValidatingWebhookConfiguration', 'untrusted', [{ ...hook('tls.example.com', '/allow', 'tls'), clientConfig: { url: `https://127.0.0.1:${port}/allow`, caBundle: otherCa } }]);
    const untrusted = await kubectl(['create', '-f', '-'], configMap('t1', 'tls'));
    assert.notEqual(untrusted.code, 0);
    assert.match(untrusted.stderr, /failed calling webhook "tls\.example\.com": failed to call webhook: .*(certificate|self.signed)/i);
  });

  it('refuses a dry run that would reach a webhook with side effects', async () => {
    await configure('ValidatingWebhookConfiguration', 'effects', [hook('effects.example.com', '/allow', 'effects', { sideEffects: 'Some' })]);
    const before = callsTo('/allow').length;
    const dry = await kubectl(['create', '--dry-run=server', '-f', '-'], configMap('e1', 'effects'));
    assert.notEqual(dry.code, 0);
    assert.match(dry.stderr, /admission webhook "effects\.example\.com" does not support dry run/);
    assert.equal(callsTo('/allow').length, before, 'the webhook was not called');
    await ok(['create', '-f', '-'], configMap('e2', 'effects'));
    assert.equal(callsTo('/allow').length, before + 1, 'a real write does call it');
  });

  it('resolves an ExternalName service reference, checking the certificate for NAME.NAMESPACE.svc, and fails clearly otherwise', async () => {
    const svcCerts = await ensureServingCertificates(mkdtempSync(join(certHome, 'svc-')), ['hook.default.svc']);
    const svcCalls: Call[] = [];
    const svcServer = webhookServer(svcCerts.certPem, svcCerts.keyPem, svcCalls);
    const svcPort = await listen(svcServer);
    try {
      await ok(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'hook' }, spec: { type: 'ExternalName', externalName: 'localhost' } }));
      await ok(['create', 'service', 'clusterip', 'plain', '--tcp', '443:8443']);
      const viaService = (name: string, service: string, testCase: string) => ({
        ...hook(name, '/allow', testCase),
        clientConfig: { service: { namespace: 'default', name: service, port: svcPort, path: '/allow' }, caBundle: Buffer.from(svcCerts.caPem).toString('base64') },
      });
      await configure('ValidatingWebhookConfiguration', 'by-service', [viaService('svc.example.com', 'hook', 'svc'), viaService('plain.example.com', 'plain', 'plain')]);
      await ok(['create', '-f', '-'], configMap('v1', 'svc'));
      assert.equal(svcCalls.length, 1, 'the webhook behind the service was called');
      const plain = await kubectl(['create', '-f', '-'], configMap('v2', 'plain'));
      assert.notEqual(plain.code, 0);
      assert.match(plain.stderr, /failed calling webhook "plain\.example\.com": service "default\/plain" cannot be reached from here/);
    } finally {
      svcServer.closeAllConnections();
      await new Promise((done) => svcServer.close(done));
    }
  });

  it('never sends the webhook configurations themselves to webhooks', async () => {
    await configure('ValidatingWebhookConfiguration', 'deny-everything', [{
      ...hook('deny-all.example.com', '/deny', 'unused'),
      rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'] }],
      objectSelector: {},
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'nowhere' } },
    }]);
    // It would deny every cluster-scoped write; it can still be removed.
    await ok(['delete', 'validatingwebhookconfiguration', 'deny-everything']);
  });
});

describe('docs/webhooks.md', () => {
  it('has an example that runs and prints what the doc says', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const doc = readFileSync(join(root, 'docs', 'webhooks.md'), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(code, 'the doc has a TypeScript example');
    const dir = mkdtempSync(join(tmpdir(), 'nephele-webhook-doc-'));
    try {
      const script = join(dir, 'webhook-demo.ts');
      writeFileSync(script, code.replaceAll("from './src/", `from '${join(root, 'src')}/`));
      const run = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
        execFile(process.execPath, [script], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? 1 : 0 }));
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.trim(), 'platform');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
