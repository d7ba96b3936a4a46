import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect as connectTcp, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createCertificateSet } from '../hub/security/tls.ts';
import { etcdAvailable, startEtcd, type TestEtcd } from '../testing/index.ts';
import { EtcdClient, EtcdError, FrameReader, grpcFrame } from './etcd-client.ts';
import {
  ProtoReader, ProtoWriter, compareResult, compareTarget, decodeRangeResponse, decodeTxnResponse, encodeCompactionRequest,
  encodeRangeRequest, encodeTxnRequest,
} from './etcd-proto.ts';

describe('etcd protobuf codec', () => {
  it('round-trips integers across varint byte boundaries up to 2^53 - 1', () => {
    const values = [1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32 + 5, 2 ** 49 + 3, Number.MAX_SAFE_INTEGER];
    const writer = new ProtoWriter();
    values.forEach((value, i) => writer.uint(i + 1, value));
    const reader = new ProtoReader(writer.finish());
    const read: number[] = [];
    for (let field = reader.next(); field !== 0; field = reader.next()) {
      assert.equal(field, read.length + 1);
      read.push(reader.uint());
    }
    assert.deepEqual(read, values);
  });

  it('leaves default values out unless told to keep them, and refuses what it cannot encode', () => {
    assert.equal(new ProtoWriter().uint(1, 0).bool(2, false).bytes(3, Buffer.alloc(0)).finish().length, 0);
    // Field 5, varint 0: a oneof member set to its default is still present.
    assert.deepEqual([...new ProtoWriter().uint(5, 0, true).finish()], [0x28, 0]);
    assert.throws(() => new ProtoWriter().uint(1, -1), /cannot encode -1/);
    assert.throws(() => new ProtoWriter().uint(1, 2 ** 53), /cannot encode/);
  });

  it('skips fields it does not read, of every wire type etcd uses, and rejects a truncated message', () => {
    const unknown = Buffer.from([
      0x08, 0x96, 0x01, // field 1, varint 150
      0x11, 1, 2, 3, 4, 5, 6, 7, 8, // field 2, 64-bit
      0x1a, 0x02, 0x61, 0x62, // field 3, bytes "ab"
      0x25, 1, 2, 3, 4, // field 4, 32-bit
      0x2a, 0x01, 0x7a, // field 5, bytes "z"
    ]);
    const reader = new ProtoReader(unknown);
    const seen: number[] = [];
    for (let field = reader.next(); field !== 0; field = reader.next()) {
      if (field === 5) assert.equal(reader.string(), 'z');
      else reader.skip();
      seen.push(field);
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.throws(() => decodeRangeResponse(new ProtoReader(Buffer.from([0x12, 0x05, 0x0a]))), /truncated/);
  });

  it('decodes a txn response with a range inside, as etcd nests it', () => {
    const kv = new ProtoWriter().bytes(1, Buffer.from('/k')).uint(2, 7).uint(3, 9).uint(4, 2).bytes(5, Buffer.from('{}'));
    const range = new ProtoWriter().message(1, new ProtoWriter().uint(3, 12)).message(2, kv).bool(3, true).uint(4, 1);
    const txn = new ProtoWriter().message(1, new ProtoWriter().uint(1, 99).uint(3, 12)).message(3, new ProtoWriter().message(1, range)).finish();
    const decoded = decodeTxnResponse(new ProtoReader(txn));
    assert.equal(decoded.revision, 12);
    assert.equal(decoded.succeeded, false);
    const inner = decoded.responses[0]?.range;
    assert.equal(inner?.more, true);
    assert.equal(inner?.count, 1);
    assert.deepEqual({ ...inner!.kvs[0]!, key: inner!.kvs[0]!.key.toString(), value: inner!.kvs[0]!.value.toString() },
      { key: '/k', createRevision: 7, modRevision: 9, version: 2, value: '{}' });
  });
});

describe('gRPC framing', () => {
  it('reads messages split across chunks and several in one chunk', () => {
    const messages = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('x'.repeat(300))];
    const wire = Buffer.concat(messages.map(grpcFrame));
    for (const cut of [1, 3, 5, 7, 11, wire.length]) {
      const got: string[] = [];
      const reader = new FrameReader((message) => got.push(message.toString()));
      for (let at = 0; at < wire.length; at += cut) reader.push(wire.subarray(at, at + cut));
      assert.deepEqual(got, messages.map(String), `chunks of ${cut} bytes`);
      assert.equal(reader.incomplete, false);
    }
    const partial = new FrameReader(() => assert.fail('no whole message yet'));
    partial.push(grpcFrame(Buffer.from('abc')).subarray(0, 6));
    assert.equal(partial.incomplete, true);
  });

  it('refuses a compressed message, which it never asks for', () => {
    const frame = grpcFrame(Buffer.from('abc'));
    frame[0] = 1;
    assert.throws(() => new FrameReader(() => undefined).push(frame), /compressed/);
  });
});

describe('EtcdClient endpoints', () => {
  it('refuses an endpoint it cannot speak to, with the form it wants', () => {
    assert.throws(() => new EtcdClient({ endpoints: ['127.0.0.1:2379'] }), /not a URL; write it as http:\/\/HOST:PORT/);
    assert.throws(() => new EtcdClient({ endpoints: ['grpc://127.0.0.1:2379'] }), /use http:\/\/ \(plain gRPC\) or https:\/\/ \(TLS\)/);
    assert.throws(() => new EtcdClient({ endpoints: ['http://127.0.0.1:2379'], tls: { ca: 'x' } }), /TLS settings were given, so write it as https:\/\//);
    assert.throws(() => new EtcdClient({ endpoints: ['https://127.0.0.1:2379'], tls: { cert: 'x' } }), /needs its key/);
    assert.throws(() => new EtcdClient({ endpoints: [] }), /at least one endpoint/);
  });

  it('says which endpoints it tried when none answers', async () => {
    const port = await closedPort();
    const client = new EtcdClient({ endpoints: [`http://127.0.0.1:${port}`] });
    try {
      await assert.rejects(client.call('range', encodeRangeRequest({ key: Buffer.from('/k') })),
        new RegExp(`cannot reach etcd \\(http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    } finally {
      client.close();
    }
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

const skip = !etcdAvailable() && !process.env.CI
  ? 'etcd is not installed: apt-get install etcd-server (or run .ci/run) to run the etcd client tests'
  : false;

describe('EtcdClient against etcd', { skip }, () => {
  let etcd: TestEtcd | undefined;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  const key = (name: string) => Buffer.from(`/client-test-${process.pid}/${name}`);

  it('writes with a transaction and reads back, with revisions from the response headers', async () => {
    const client = new EtcdClient({ endpoints: [etcd!.endpoint] });
    try {
      const put = (value: string) => client.call('txn', encodeTxnRequest({
        compare: [{ key: key('a'), target: compareTarget.create, result: compareResult.equal, revision: 0 }],
        success: [{ put: { key: key('a'), value: Buffer.from(value) } }],
        failure: [{ range: { key: key('a') } }],
      })).then((reader) => decodeTxnResponse(reader));
      const first = await put('one');
      assert.equal(first.succeeded, true);
      const second = await put('two');
      assert.equal(second.succeeded, false, 'the key exists now, so the create compare fails');
      const current = second.responses[0]?.range?.kvs[0];
      assert.equal(current?.value.toString(), 'one');
      assert.equal(current?.modRevision, first.revision);
      assert.equal(current?.createRevision, first.revision);
    } finally {
      client.close();
    }
  });

  it("turns etcd's refusal into an EtcdError with its gRPC code and message", async () => {
    const client = new EtcdClient({ endpoints: [etcd!.endpoint] });
    try {
      const range = decodeRangeResponse(await client.call('range', encodeRangeRequest({ key: key('b'), countOnly: true })));
      await assert.rejects(client.call('range', encodeRangeRequest({ key: key('b'), revision: range.revision + 1_000 })), (err: unknown) => {
        assert.ok(err instanceof EtcdError);
        assert.equal(err.code, 11, 'OUT_OF_RANGE');
        assert.match(err.message, /required revision is a future revision/);
        return true;
      });
      // Compacting where it already is refuses the same way, and the client still works after.
      await client.call('compact', encodeCompactionRequest(range.revision, false));
      await assert.rejects(client.call('compact', encodeCompactionRequest(range.revision - 1, false)), /required revision has been compacted/);
      assert.ok(decodeRangeResponse(await client.call('range', encodeRangeRequest({ key: key('b'), countOnly: true }))).revision >= range.revision);
    } finally {
      client.close();
    }
  });

  it('tries the next endpoint when one does not answer', async () => {
    const client = new EtcdClient({ endpoints: [`http://127.0.0.1:${await closedPort()}`, etcd!.endpoint] });
    try {
      const response = decodeRangeResponse(await client.call('range', encodeRangeRequest({ key: key('c'), countOnly: true })));
      assert.ok(response.revision > 0);
    } finally {
      client.close();
    }
  });

  /** A relay in front of etcd that can go quiet without closing anything, as a partitioned network does. */
  async function silencingRelay() {
    const target = new URL(etcd!.endpoint);
    const sockets: Socket[] = [];
    const state = { silent: false };
    const relay = createServer((inbound) => {
      const outbound = connectTcp(Number(target.port), target.hostname);
      sockets.push(inbound, outbound);
      inbound.on('data', (chunk: Buffer) => void (state.silent || outbound.write(chunk)));
      outbound.on('data', (chunk: Buffer) => void (state.silent || inbound.write(chunk)));
      for (const socket of [inbound, outbound]) socket.on('error', () => undefined).on('close', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }).listen(0, '127.0.0.1');
    await once(relay, 'listening');
    return {
      state,
      endpoint: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
      close: () => {
        relay.close();
        for (const socket of sockets) socket.destroy();
      },
    };
  }

  it('fails a call that gets no answer within its deadline, saying it may have been applied', { timeout: 10_000 }, async () => {
    const relay = await silencingRelay();
    const client = new EtcdClient({ endpoints: [relay.endpoint], callTimeoutMs: 300, keepAliveIntervalMs: 60_000 });
    try {
      await client.call('range', encodeRangeRequest({ key: key('f'), countOnly: true }));
      relay.state.silent = true;
      const started = Date.now();
      await assert.rejects(client.call('range', encodeRangeRequest({ key: key('f'), countOnly: true })),
        /etcd did not answer range within 300 ms; it may or may not have been applied/);
      assert.ok(Date.now() - started < 5_000);
    } finally {
      client.close();
      relay.close();
    }
  });

  it('gives up a connection that stops answering, ending its watch stream with an error that says so', { timeout: 10_000 }, async () => {
    const relay = await silencingRelay();
    const client = new EtcdClient({ endpoints: [relay.endpoint], keepAliveIntervalMs: 50, keepAliveTimeoutMs: 200 });
    try {
      const ended = new Promise<Error>((resolve) => {
        void client.stream({ onMessage: () => undefined, onEnd: resolve });
      });
      await client.call('range', encodeRangeRequest({ key: key('e'), countOnly: true }));
      relay.state.silent = true;
      const started = Date.now();
      const err = await ended;
      assert.match(err.message, /did not answer a ping within 200 ms/);
      assert.ok(Date.now() - started < 5_000);
    } finally {
      client.close();
      relay.close();
    }
  });

  it('dials again after the connection is lost: one new connection, not one per call', async () => {
    // A TCP relay in front of etcd, so the test can cut the connection under the client.
    const sockets = new Set<Socket>();
    const target = new URL(etcd!.endpoint);
    const relay = createServer((inbound) => {
      const outbound = connectTcp(Number(target.port), target.hostname);
      sockets.add(inbound).add(outbound);
      inbound.pipe(outbound).pipe(inbound);
      const close = () => {
        inbound.destroy();
        outbound.destroy();
      };
      inbound.on('error', close).on('close', close);
      outbound.on('error', close).on('close', close);
    }).listen(0, '127.0.0.1');
    await once(relay, 'listening');
    let connections = 0;
    relay.on('connection', () => connections++);
    const client = new EtcdClient({ endpoints: [`http://127.0.0.1:${(relay.address() as AddressInfo).port}`] });
    try {
      const ask = () => client.call('range', encodeRangeRequest({ key: key('d'), countOnly: true }));
      await ask();
      assert.equal(connections, 1);
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      // The loss may be noticed by the next call itself; by the one after, the client has dialled again.
      await ask().catch(() => undefined);
      await ask();
      assert.equal(connections, 2, 'one new connection, not one per call');
    } finally {
      client.close();
      relay.close();
      for (const socket of sockets) socket.destroy();
    }
  });
});

describe('EtcdClient against etcd over TLS', { skip }, () => {
  let etcd: TestEtcd | undefined;
  let pki: Awaited<ReturnType<typeof createCertificateSet>>;
  before(async () => {
    // One certificate for both ends: etcd serves with it and the client presents it.
    pki = await createCertificateSet(['127.0.0.1'], { clientAuth: true });
    etcd = await startEtcd({ tls: { caPem: pki.caPem, certPem: pki.certPem, keyPem: pki.keyPem } });
  });
  after(async () => {
    await etcd?.stop();
  });
  const count = (client: EtcdClient) => client.call('range', encodeRangeRequest({ key: Buffer.from('/tls'), countOnly: true }));

  it('calls an etcd that requires client certificates, with the CA and a certificate', async () => {
    assert.match(etcd!.endpoint, /^https:/);
    const client = new EtcdClient({ endpoints: [etcd!.endpoint], tls: { ca: pki.caPem, cert: pki.certPem, key: pki.keyPem } });
    try {
      assert.ok(decodeRangeResponse(await count(client)).revision > 0);
    } finally {
      client.close();
    }
  });

  it('fails with a message naming the endpoint when the CA is not given, and when no certificate is', async () => {
    const untrusting = new EtcdClient({ endpoints: [etcd!.endpoint], tls: {} });
    try {
      await assert.rejects(count(untrusting), new RegExp(`cannot reach etcd \\(${etcd!.endpoint.replace(/[.]/g, '\\.')}: .*certificate`));
    } finally {
      untrusting.close();
    }
    const anonymous = new EtcdClient({ endpoints: [etcd!.endpoint], tls: { ca: pki.caPem } });
    try {
      await assert.rejects(count(anonymous), /etcd did not accept this client's certificate \(TLS alert "(bad certificate|certificate required)"\)/);
    } finally {
      anonymous.close();
    }
  });
});
