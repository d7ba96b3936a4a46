/**
 * End-to-end: the hub serves HTTP/2 to clients that offer it in ALPN (as kubectl, client-go and
 * browsers do) and HTTP/1.1 to the rest, on one port. Over HTTP/2 the same API answers the same
 * way: anonymous requests get a 401 Status, writes land, bad bodies get their 4xx Status, and
 * many watches share one connection, each seeing the changes made over HTTP/1.1.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { startHubOverH2, stopHubOverH2, h2Request, h2Watch } from '../src/testing/http2.ts';
import type { TestHub } from '../src/testing/hub.ts';
import { makeConfigMap } from '../src/testing/config-map.ts';
import { waitFor } from '../src/testing/wait.ts';

describe('the hub over HTTP/2', () => {
  let hub: TestHub;
  let session: ClientHttp2Session;
  before(async () => ({ hub, session } = await startHubOverH2()));
  after(() => stopHubOverH2({ hub, session }));

  it('negotiates h2 for a client that offers it, while HTTP/1.1 clients still get HTTP/1.1', async () => {
    const version = await h2Request(session, 'GET', '/version');
    assert.equal(version.status, 200);
    assert.equal(session.alpnProtocol, 'h2');
    assert.ok(JSON.parse(version.body).gitVersion);
    const overH1 = await hub.call('GET', '/version');
    assert.equal(overH1.status, 200);
    assert.equal(overH1.body, version.body);
  });

  it('answers an anonymous request with a 401 Status', async () => {
    const res = await h2Request(session, 'GET', '/api/v1/namespaces/default/configmaps');
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.body).kind, 'Status');
  });

  it('creates objects, and answers bad bodies with a 4xx Status that says what is wrong', async () => {
    const created = await h2Request(session, 'POST', '/api/v1/namespaces/default/configmaps', { token: hub.token, body: makeConfigMap().name('over-h2').data({ k: 'v' }).json() });
    assert.equal(created.status, 201, created.body);
    const read = await hub.call('GET', '/api/v1/namespaces/default/configmaps/over-h2');
    assert.deepEqual(read.json().data, { k: 'v' });

    const malformed = await h2Request(session, 'POST', '/api/v1/namespaces/default/configmaps', { token: hub.token, body: '{"kind":' });
    assert.equal(malformed.status, 400);
    assert.match(JSON.parse(malformed.body).message, /not valid JSON/);

    const tooLarge = await h2Request(session, 'POST', '/api/v1/namespaces/default/configmaps', { token: hub.token, body: 'x'.repeat(4 * 1024 * 1024) });
    assert.equal(tooLarge.status, 413);
    assert.equal(JSON.parse(tooLarge.body).reason, 'RequestEntityTooLarge');
  });

  it('carries many watches on one connection, each seeing every change in order', async () => {
    const created = await hub.call('POST', '/api/v1/namespaces/default/configmaps', { body: makeConfigMap().name('watched').data({ step: '0' }).json(), headers: { 'content-type': 'application/json' } });
    assert.equal(created.status, 201, created.body);
    const from = created.json().metadata.resourceVersion as string;
    const watches = Array.from({ length: 50 }, () => h2Watch(session, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${from}&fieldSelector=metadata.name%3Dwatched`, hub.token));
    try {
      await waitFor('every watch to open', () => watches.every((w) => w.status() === 200));
      let current = created.json();
      for (let step = 1; step <= 5; step++) {
        current.data = { step: String(step) };
        const updated = await hub.call('PUT', '/api/v1/namespaces/default/configmaps/watched', { body: JSON.stringify(current), headers: { 'content-type': 'application/json' } });
        assert.equal(updated.status, 200, updated.body);
        current = updated.json();
      }
      await waitFor('five events on every watch', () => watches.every((w) => w.events.length >= 5));
      for (const watch of watches) {
        assert.deepEqual(watch.events.map((e) => `${e.type} ${e.object.data?.step}`), ['MODIFIED 1', 'MODIFIED 2', 'MODIFIED 3', 'MODIFIED 4', 'MODIFIED 5']);
      }
    } finally {
      for (const watch of watches) watch.close();
    }
  });
});
