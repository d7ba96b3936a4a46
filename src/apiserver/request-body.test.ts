import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { StatusError } from '../machinery/status-error.ts';
import { maxNestingDepth, parseJson, parseYamlText, readBody } from './request-body.ts';

/** Serves one request with readBody and reports how reading it ended. */
function reader(limit?: number) {
  let outcome: Promise<string> | undefined;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    outcome = readBody(req, limit).then(
      (body) => {
        res.end('ok');
        return `read ${body.length} bytes`;
      },
      (err: unknown) => {
        if (!res.headersSent && !res.destroyed) res.writeHead(err instanceof StatusError ? err.code : 500).end();
        return err instanceof StatusError ? `${err.code} ${err.message}` : `failed: ${(err as Error).message}`;
      },
    );
  };
  const settled = async () => {
    for (let i = 0; i < 200 && outcome === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(outcome, 'the request reached the server');
    return outcome;
  };
  return { handler, settled };
}

async function listen(server: http.Server | http2.Http2Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

describe('readBody', () => {
  it('reads a body sent in several chunks, and refuses one over the limit with a 413', async () => {
    for (const [size, expected] of [[5000, 'read 5000 bytes'], [20_000, '413 the request body is larger than the 10000-byte limit']] as const) {
      const { handler, settled } = reader(10_000);
      const server = http.createServer(handler);
      const port = await listen(server);
      const req = http.request({ port, host: '127.0.0.1', method: 'POST' });
      req.on('error', () => undefined);
      for (let sent = 0; sent < size; sent += 1000) req.write('x'.repeat(1000));
      req.end();
      assert.equal(await settled(), expected);
      server.close();
      server.closeAllConnections();
    }
  });

  it('settles when the client goes away halfway through its body, over HTTP/1.1 and over HTTP/2', async () => {
    const h1 = reader();
    const server1 = http.createServer(h1.handler);
    const port1 = await listen(server1);
    const req = http.request({ port: port1, host: '127.0.0.1', method: 'POST', headers: { 'content-length': '1000' } });
    req.on('error', () => undefined);
    req.write('x'.repeat(10));
    setTimeout(() => req.destroy(), 30);
    assert.match(await h1.settled(), /^failed: /);
    server1.close();

    const h2 = reader();
    const server2 = http2.createServer(h2.handler as never);
    const port2 = await listen(server2);
    const session = http2.connect(`http://127.0.0.1:${port2}`);
    session.on('error', () => undefined);
    const stream = session.request({ ':method': 'POST', 'content-length': '1000' });
    stream.on('error', () => undefined);
    stream.write('x'.repeat(10));
    setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 30);
    assert.equal(await h2.settled(), 'failed: the client closed the connection before its request body was complete');
    session.close();
    server2.close();
  });
});

describe('nesting limit', () => {
  const nested = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth);
  const refusal = { name: 'StatusError', code: 400, message: `the request body nests objects and arrays more than ${maxNestingDepth} levels deep` };

  it('takes JSON nested exactly to the limit and refuses one level more, counting objects and arrays alike', () => {
    const deepest = `{"a":${nested(maxNestingDepth - 1)}}`;
    assert.deepEqual(parseJson(Buffer.from(deepest)), JSON.parse(deepest));
    assert.throws(() => parseJson(Buffer.from(`{"a":${nested(maxNestingDepth)}}`)), refusal);
    assert.throws(() => parseJson(Buffer.from(`{"a":${'{"b":'.repeat(maxNestingDepth)}1${'}'.repeat(maxNestingDepth)}}`)), refusal);
  });

  it('does not count brackets inside JSON strings, escaped quotes and backslashes included', () => {
    const brackets = '[{'.repeat(maxNestingDepth);
    for (const text of [brackets, `"${brackets}`, `\\"${brackets}`, `${brackets}\\`, '\\']) {
      const body = `{"a":${JSON.stringify(text)},"b":${nested(maxNestingDepth - 1)}}`;
      assert.deepEqual(parseJson(Buffer.from(body)), JSON.parse(body), body.slice(0, 40));
    }
    // A string ending in an escaped backslash closes there; the brackets after it count again.
    assert.throws(() => parseJson(Buffer.from(`{"a":${JSON.stringify('x\\')},"b":${nested(maxNestingDepth)}}`)), refusal);
  });

  it('holds YAML to the same limit', () => {
    assert.equal(typeof parseYamlText(Buffer.from(`a: ${nested(maxNestingDepth - 1)}`)), 'object');
    assert.throws(() => parseYamlText(Buffer.from(`a: ${nested(maxNestingDepth)}`)), refusal);
  });
});
