/**
 * Reads the Kubernetes protobuf encoding for the few kinds kubectl's imperative `create`
 * commands send that way (ConfigMap, Secret, Namespace). kubectl's typed clients always encode
 * request bodies as protobuf, so without this `kubectl create configmap` could not work. There is
 * no maintained JavaScript package with the Kubernetes .proto schemas, hence this small reader;
 * other kinds answer 415 with a message pointing at `kubectl apply -f` or `create -f`, which send
 * JSON. Responses are always JSON, which kubectl also accepts.
 */
import { StatusError } from '../machinery/status-error.ts';

const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

interface Field {
  number: number;
  wire: number;
  varint?: bigint;
  bytes?: Buffer;
}

function readVarint(buf: Buffer, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const byte = buf[pos++]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, pos];
    shift += 7n;
    if (shift > 70n) throw new Error('varint too long');
  }
}

/** Splits a protobuf message into its fields (wire types 0, 1, 2 and 5). */
export function readFields(buf: Buffer): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const [tag, afterTag] = readVarint(buf, pos);
    pos = afterTag;
    const number = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (wire === 0) {
      const [value, next] = readVarint(buf, pos);
      fields.push({ number, wire, varint: value });
      pos = next;
    } else if (wire === 2) {
      const [length, next] = readVarint(buf, pos);
      const end = next + Number(length);
      if (end > buf.length) throw new Error('truncated field');
      fields.push({ number, wire, bytes: buf.subarray(next, end) });
      pos = end;
    } else if (wire === 1) {
      fields.push({ number, wire, bytes: buf.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wire === 5) {
      fields.push({ number, wire, bytes: buf.subarray(pos, pos + 4) });
      pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return fields;
}

const text = (f: Field) => f.bytes!.toString('utf8');

function mapEntries(fields: Field[], number: number, value: (f: Field) => string): Record<string, string> | undefined {
  const entries = fields.filter((f) => f.number === number);
  if (entries.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const parts = readFields(entry.bytes!);
    const key = parts.find((p) => p.number === 1);
    const val = parts.find((p) => p.number === 2);
    out[key ? text(key) : ''] = val ? value(val) : '';
  }
  return out;
}

function time(f: Field): string {
  const parts = readFields(f.bytes!);
  const seconds = Number(parts.find((p) => p.number === 1)?.varint ?? 0n);
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

function objectMeta(buf: Buffer): Record<string, unknown> {
  const fields = readFields(buf);
  const meta: Record<string, unknown> = {};
  const strings: Record<number, string> = { 1: 'name', 2: 'generateName', 3: 'namespace', 5: 'uid', 6: 'resourceVersion' };
  for (const f of fields) {
    if (strings[f.number] && f.bytes && f.bytes.length > 0) meta[strings[f.number]!] = text(f);
    if (f.number === 7 && f.varint !== undefined) meta.generation = Number(f.varint);
    if (f.number === 8 && f.bytes) meta.creationTimestamp = time(f);
  }
  const labels = mapEntries(fields, 11, text);
  if (labels) meta.labels = labels;
  const annotations = mapEntries(fields, 12, text);
  if (annotations) meta.annotations = annotations;
  const finalizers = fields.filter((f) => f.number === 14).map(text);
  if (finalizers.length) meta.finalizers = finalizers;
  const owners = fields.filter((f) => f.number === 13).map((f) => {
    const parts = readFields(f.bytes!);
    const get = (n: number) => parts.find((p) => p.number === n);
    return {
      apiVersion: get(5) ? text(get(5)!) : '',
      kind: get(1) ? text(get(1)!) : '',
      name: get(3) ? text(get(3)!) : '',
      uid: get(4) ? text(get(4)!) : '',
      ...(get(6) ? { controller: get(6)!.varint === 1n } : {}),
      ...(get(7) ? { blockOwnerDeletion: get(7)!.varint === 1n } : {}),
    };
  });
  if (owners.length) meta.ownerReferences = owners;
  return meta;
}

type Decoder = (fields: Field[]) => Record<string, unknown>;

const decoders: Record<string, Decoder> = {
  'v1/ConfigMap': (fields) => {
    const out: Record<string, unknown> = {};
    const data = mapEntries(fields, 2, text);
    if (data) out.data = data;
    const binary = mapEntries(fields, 3, (f) => f.bytes!.toString('base64'));
    if (binary) out.binaryData = binary;
    const immutable = fields.find((f) => f.number === 4);
    if (immutable) out.immutable = immutable.varint === 1n;
    return out;
  },
  'v1/Secret': (fields) => {
    const out: Record<string, unknown> = {};
    const data = mapEntries(fields, 2, (f) => f.bytes!.toString('base64'));
    if (data) out.data = data;
    const type = fields.find((f) => f.number === 3);
    if (type) out.type = text(type);
    const stringData = mapEntries(fields, 4, text);
    if (stringData) out.stringData = stringData;
    const immutable = fields.find((f) => f.number === 5);
    if (immutable) out.immutable = immutable.varint === 1n;
    return out;
  },
  'v1/Namespace': (fields) => {
    const spec = fields.find((f) => f.number === 2);
    const finalizers = spec ? readFields(spec.bytes!).filter((f) => f.number === 1).map(text) : [];
    return finalizers.length ? { spec: { finalizers } } : {};
  },
};

/** Decodes a `application/vnd.kubernetes.protobuf` body into the JSON form of the object. */
export function decodeKubeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(magic)) {
    throw new StatusError('BadRequest', 'the protobuf body lacks the Kubernetes envelope prefix');
  }
  let apiVersion = '';
  let kind = '';
  let raw: Buffer | undefined;
  try {
    for (const f of readFields(body.subarray(4))) {
      if (f.number === 1 && f.bytes) {
        for (const t of readFields(f.bytes)) {
          if (t.number === 1) apiVersion = text(t);
          if (t.number === 2) kind = text(t);
        }
      }
      if (f.number === 2 && f.bytes) raw = f.bytes;
    }
    const decode = decoders[`${apiVersion}/${kind}`];
    if (!decode || !raw) {
      throw new StatusError('UnsupportedMediaType', `protobuf bodies are accepted for ConfigMap, Secret and Namespace only (got ${apiVersion} ${kind}); send JSON or YAML instead, e.g. kubectl create -f FILE or kubectl apply -f FILE`);
    }
    const fields = readFields(raw);
    const metaField = fields.find((f) => f.number === 1);
    return { apiVersion, kind, metadata: metaField ? objectMeta(metaField.bytes!) : {}, ...decode(fields) };
  } catch (err) {
    if (err instanceof StatusError) throw err;
    throw new StatusError('BadRequest', `the protobuf body cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
}
