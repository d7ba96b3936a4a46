/**
 * HttpClient details the shared suite cannot reach through a real hub: watch lines split across
 * chunks, answers that are not Status objects, and the end of a stream after stop(). A small
 * HTTPS server borrows a test hub's serving certificate so the client trusts it as it would
 * the hub.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { StatusError } from '../machinery/status-error.ts';
import { startTestHub, type TestHub } from '../testing/hub.ts';
import { waitFor } from '../testing/wait.ts';
import { HttpClient, statusErrorOf, type ClientWatchEvent, type ResourceRef } from './index.ts';

const configMaps: ResourceRef = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };

describe('statusErrorOf', () => {
  it('keeps the reason, message and details of a Status body', () => {
    const err = statusErrorOf(409, JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'AlreadyExists', message: 'x exists', code: 409, details: { name: 'x' } }));
    assert.equal(err.reason, 'AlreadyExists');
    assert.equal(err.message, 'x exists');
    assert.deepEqual(err.details, { name: 'x' });
  });

  it('derives a reason from the code when the body is not a Status', () => {
    assert.equal(statusErrorOf(404, '<html>nope</html>').reason, 'NotFound');
    assert.equal(statusErrorOf(503, '').reason, 'ServiceUnavailable');
    assert.equal(statusErrorOf(418, 'teapot').reason, 'BadRequest');
    assert.equal(statusErrorOf(500, '{"kind":"Other"}').reason, 'InternalError');
    assert.match(statusErrorOf(502, 'bad gateway').message, /502: bad gateway/);
  });
});

describe('HttpClient against a scripted server', () => {
  let hub: TestHub;
  let server: Server;
  let client: HttpClient;
  /** What the server does with the next request. */
  let script: (res: import('node:http').ServerResponse, url: URL) => void = () => undefined;

  before(async () => {
    hub = await startTestHub({ store: 'memory' });
    const pki = join(hub.home, 'pki');
    server = createServer({ cert: readFileSync(join(pki, 'server.crt')), key: readFileSync(join(pki, 'server.key')) }, (req, res) => {
      script(res, new URL(req.url ?? '/', 'https://localhost'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    client = new HttpClient({ server: `https://127.0.0.1:${port}`, caPem: readFileSync(join(pki, 'ca.crt'), 'utf8'), token: 't' });
  });
  after(async () => {
    client.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await hub.close();
  });

  it('reassembles watch lines split across chunks, and calls onEnd once when the stream ends', async () => {
    let query: URLSearchParams | undefined;
    script = (res, url) => {
      query = url.searchParams;
      res.writeHead(200, { 'content-type': 'application/json' });
      const text = [
        JSON.stringify({ type: 'ADDED', object: { kind: 'ConfigMap', metadata: { name: 'ä-one', resourceVersion: '2' } } }),
        JSON.stringify({ type: 'BOOKMARK', object: { kind: 'ConfigMap', metadata: { resourceVersion: '3' } } }),
        JSON.stringify({ type: 'DELETED', object: { kind: 'ConfigMap', metadata: { name: 'two', resourceVersion: '4' } } }),
      ].join('\n') + '\n';
      // Split every few bytes, including inside the two-byte 'ä'.
      const bytes = Buffer.from(text);
      let at = 0;
      const next = () => {
        if (at >= bytes.length) return void res.end();
        res.write(bytes.subarray(at, at + 7));
        at += 7;
        setImmediate(next);
      };
      next();
    };
    const events: ClientWatchEvent[] = [];
    const ends: Array<Error | undefined> = [];
    await client.watch(configMaps, 'ns', { resourceVersion: '1', allowWatchBookmarks: true, labelSelector: 'a=b', timeoutSeconds: 30 }, (e) => events.push(e), (err) => ends.push(err));
    await waitFor('the stream to end', () => ends.length > 0);
    assert.deepEqual(events.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion]), [['ADDED', 'ä-one', '2'], ['BOOKMARK', undefined, '3'], ['DELETED', 'two', '4']]);
    assert.deepEqual(ends, [undefined]);
    assert.equal(query?.get('watch'), 'true');
    assert.equal(query?.get('resourceVersion'), '1');
    assert.equal(query?.get('allowWatchBookmarks'), 'true');
    assert.equal(query?.get('labelSelector'), 'a=b');
    assert.equal(query?.get('timeoutSeconds'), '30');
  });

  it('does not call onEnd after stop()', async () => {
    let closedOnServer = false;
    script = (res) => {
      res.on('close', () => { closedOnServer = true; });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '2' } } }) + '\n');
    };
    const events: ClientWatchEvent[] = [];
    let ends = 0;
    const watch = await client.watch(configMaps, 'ns', {}, (e) => events.push(e), () => ends++);
    await waitFor('the first event', () => events.length === 1);
    watch.stop();
    watch.stop();
    // Once the server has seen the connection go, the client's socket has long been destroyed.
    await waitFor('the server to see the watch close', () => closedOnServer);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ends, 0);
  });

  it('rejects a watch the server refuses, and turns a non-Status answer into a StatusError', async () => {
    script = (res) => {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('go away');
    };
    await assert.rejects(client.watch(configMaps, 'ns', {}, () => undefined, () => undefined), (err: unknown) => err instanceof StatusError && err.reason === 'Forbidden' && /go away/.test(err.message));
    await assert.rejects(client.get(configMaps, 'ns', 'x'), (err: unknown) => err instanceof StatusError && err.code === 403);
  });
});
