import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, get, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { createServer as createH2Server, connect as connectH2, type Http2Server } from 'node:http2';
import { WatchStream, chunkFrame } from './watch-stream.ts';

async function serve(onResponse: (res: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => onResponse(res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** The raw bytes of one response, head included, read until the server closes the connection. */
async function rawResponse(port: number): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.write('GET /watch HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'close');
  return Buffer.concat(chunks).toString('utf8');
}

/** An HTTP/2 (cleartext) server whose compatibility responses go to `onResponse`, as the hub's do. */
async function serveH2(onResponse: (res: ServerResponse) => void): Promise<{ server: Http2Server; url: string }> {
  const server = createH2Server((_req, res) => onResponse(res as unknown as ServerResponse));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/**
 * A response handler that keeps sending 16 KiB lines to a WatchStream with a 256 KiB limit until
 * the stream is cut off or 10,000 lines went; `cutOff` waits for the cut and checks it came early.
 */
function flooder() {
  let overflowed = 0;
  let sent = 0;
  const onResponse = (res: ServerResponse) => {
    const stream = new WatchStream(res, { maxBufferedBytes: 256 * 1024, onOverflow: () => overflowed++ });
    const line = chunkFrame(`${JSON.stringify({ pad: 'x'.repeat(16 * 1024) })}\n`);
    const timer = setInterval(() => {
      if (stream.closed || sent > 10_000) {
        clearInterval(timer);
        return;
      }
      for (let i = 0; i < 20; i++) stream.send(line);
      sent += 20;
    }, 1);
  };
  const cutOff = async () => {
    for (let waited = 0; overflowed === 0 && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(overflowed, 1);
    assert.ok(sent < 10_000, `the stream was cut off (after ${sent} lines)`);
  };
  return { onResponse, cutOff };
}

describe('WatchStream', () => {
  it('frames each line as one chunk, sized in bytes, and ends the body with the last chunk', async () => {
    const { server, port } = await serve((res) => {
      const stream = new WatchStream(res);
      stream.open();
      stream.send(chunkFrame('{"type":"ADDED","n":1}\n'));
      stream.send(chunkFrame('{"type":"MODIFIED","n":"é"}\n'));
      setTimeout(() => stream.end(), 20);
    });
    try {
      const raw = await rawResponse(port);
      const headEnd = raw.indexOf('\r\n\r\n');
      const head = raw.slice(0, headEnd);
      const body = raw.slice(headEnd + 4);
      assert.match(head, /^HTTP\/1\.1 200/);
      assert.match(head, /transfer-encoding: chunked/i);
      // Sizes are in bytes: "é" is two.
      assert.equal(body, '17\r\n{"type":"ADDED","n":1}\n\r\n1d\r\n{"type":"MODIFIED","n":"é"}\n\r\n0\r\n\r\n');
    } finally {
      server.close();
    }
  });

  it('is read as a normal chunked body by an HTTP client, events in order', async () => {
    const { server, port } = await serve((res) => {
      const stream = new WatchStream(res);
      let n = 0;
      const timer = setInterval(() => {
        stream.send(chunkFrame(`${JSON.stringify({ n: n++ })}\n`));
        if (n === 50) {
          clearInterval(timer);
          stream.end();
        }
      }, 1);
    });
    try {
      const res = await new Promise<import('node:http').IncomingMessage>((resolve) => get({ port, host: '127.0.0.1', path: '/' }, resolve));
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      await once(res, 'end');
      const seen = text.trim().split('\n').map((line) => (JSON.parse(line) as { n: number }).n);
      assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i));
    } finally {
      server.close();
    }
  });

  it('cuts off a client that stops reading once too much waits in its socket', async () => {
    const flood = flooder();
    const { server, port } = await serve(flood.onResponse);
    try {
      const socket = connect(port, '127.0.0.1');
      socket.write('GET /watch HTTP/1.1\r\nHost: x\r\n\r\n');
      socket.on('error', () => undefined);
      socket.pause();
      try {
        await flood.cutOff();
      } finally {
        socket.destroy();
      }
    } finally {
      server.close();
    }
  });

  it('over HTTP/2 sends the bare lines (HTTP/2 frames them) and no Transfer-Encoding, to many streams on one connection', async () => {
    const streams: WatchStream[] = [];
    const { server, url } = await serveH2((res) => {
      streams.push(new WatchStream(res));
      if (streams.length < 3) return;
      // One event loop turn's events leave together, every stream getting every line.
      for (let n = 0; n < 20; n++) for (const stream of streams) stream.send(chunkFrame(`${JSON.stringify({ n })}\n`));
      setTimeout(() => {
        for (const stream of streams) stream.send(chunkFrame('{"n":"last"}\n'));
        for (const stream of streams) stream.end();
      }, 10);
    });
    const session = connectH2(url);
    try {
      const bodies = await Promise.all([0, 1, 2].map(() => new Promise<{ status: unknown; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
        const req = session.request({ ':path': '/watch' });
        let text = '';
        let head: Record<string, unknown> = {};
        req.on('response', (headers) => (head = headers));
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (text += chunk));
        req.on('end', () => resolve({ status: head[':status'], headers: head, text }));
        req.on('error', reject);
      })));
      for (const body of bodies) {
        assert.equal(body.status, 200);
        assert.equal(body.headers['transfer-encoding'], undefined);
        const seen = body.text.trim().split('\n').map((line) => (JSON.parse(line) as { n: unknown }).n);
        assert.deepEqual(seen, [...Array.from({ length: 20 }, (_, i) => i), 'last']);
      }
    } finally {
      session.close();
      server.close();
    }
  });

  it('over HTTP/2 cuts off a stream whose client stops reading', async () => {
    const flood = flooder();
    const { server, url } = await serveH2(flood.onResponse);
    const session = connectH2(url);
    session.on('error', () => undefined);
    try {
      const req = session.request({ ':path': '/watch' });
      req.on('error', () => undefined);
      // Never read: HTTP/2 flow control stops the server sending, and the rest waits in the stream.
      req.pause();
      await flood.cutOff();
    } finally {
      session.destroy();
      server.close();
    }
  });
});

describe('WatchStream scheduling', () => {
  /** Just enough of a ServerResponse over HTTP/1.1 for WatchStream: what it writes to the socket is recorded. */
  function recordingResponse() {
    const writes: string[] = [];
    const socket = { destroyed: false, writableLength: 0, write: (data: Buffer) => writes.push(data.toString('utf8')) };
    const res = { writableEnded: false, destroyed: false, socket, once: () => res, writeHead: () => res, flushHeaders: () => {} };
    return { res: res as unknown as ServerResponse, writes };
  }
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it('writes what one run queued as one write as soon as the run ends, and merges later passes of the same turn', async () => {
    const { res, writes } = recordingResponse();
    const stream = new WatchStream(res);
    await nextTurn();
    for (const n of [1, 2, 3]) stream.send(chunkFrame(`${n}\n`));
    assert.equal(writes.length, 0, 'nothing leaves while the run is going on');
    await Promise.resolve();
    assert.deepEqual(writes, ['2\r\n1\n\r\n2\r\n2\n\r\n2\r\n3\n\r\n'], 'one write, at the end of the run, before the turn ends');
    // Still the same turn: a second pass would write once per event again, so these wait for its end.
    stream.send(chunkFrame('4\n'));
    await Promise.resolve();
    stream.send(chunkFrame('5\n'));
    await Promise.resolve();
    assert.equal(writes.length, 1);
    await nextTurn();
    assert.deepEqual(writes.slice(1), ['2\r\n4\n\r\n2\r\n5\n\r\n']);
    // A new turn starts fresh: its first run's events leave at once again.
    await nextTurn();
    stream.send(chunkFrame('6\n'));
    await Promise.resolve();
    assert.deepEqual(writes.slice(2), ['2\r\n6\n\r\n']);
  });
});
