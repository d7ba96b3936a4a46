import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKubeProtobuf } from './protobuf.ts';
import { StatusError } from '../machinery/status-error.ts';

/** Minimal protobuf writer for the test: enough to build the envelopes kubectl sends. */
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}
const str = (field: number, value: string | Buffer) => {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
};
const num = (field: number, value: number) => Buffer.concat([varint(field << 3), varint(value)]);
const entry = (field: number, key: string, value: string) => str(field, Buffer.concat([str(1, key), str(2, value)]));
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), str(1, Buffer.concat([str(1, apiVersion), str(2, kind)])), str(2, raw)]);

describe('Kubernetes protobuf bodies', () => {
  it('decodes a ConfigMap with metadata, dropping empty strings', () => {
    const meta = Buffer.concat([str(1, 'cfg'), str(2, ''), entry(11, 'app', 'web')]);
    const obj = decodeKubeProtobuf(envelope('v1', 'ConfigMap', Buffer.concat([str(1, meta), entry(2, 'k', 'v')])));
    assert.deepEqual(obj, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', labels: { app: 'web' } }, data: { k: 'v' } });
  });

  it('keeps explicit zeros of pointer fields (replicas: 0)', () => {
    const spec = Buffer.concat([num(1, 0), str(2, entry(1, 'app', 'x'))]);
    const obj = decodeKubeProtobuf(envelope('apps/v1', 'Deployment', Buffer.concat([str(1, str(1, 'x')), str(2, spec)])));
    assert.deepEqual(obj.spec, { replicas: 0, selector: { matchLabels: { app: 'x' } } });
  });

  it('answers 415 for kinds it does not read and 400 for garbage', () => {
    assert.throws(() => decodeKubeProtobuf(envelope('v1', 'Pod', Buffer.alloc(0))), (err: unknown) => err instanceof StatusError && err.code === 415 && /apply -f/.test(err.message));
    assert.throws(() => decodeKubeProtobuf(Buffer.from('not protobuf')), (err: unknown) => err instanceof StatusError && err.code === 400);
    assert.throws(() => decodeKubeProtobuf(Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0xff])])), (err: unknown) => err instanceof StatusError && err.code === 400);
  });
});
