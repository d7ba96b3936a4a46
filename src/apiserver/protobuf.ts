/**
 * Reads the Kubernetes protobuf encoding for the kinds kubectl's imperative `create` commands
 * send that way (ConfigMap, Secret, Namespace, Service, ResourceQuota, PriorityClass,
 * Deployment, Job, PodDisruptionBudget), for the pods/eviction and pods/binding bodies that
 * `kubectl drain` and schedulers send (Eviction, Binding), and for the reviews `kubectl auth`
 * sends (SelfSubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview). kubectl's typed clients always encode
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

/**
 * A message schema: field number -> [JSON name, how to read it]. Only the fields kubectl's
 * imperative commands fill in are listed; others are skipped. Zero values are dropped (as
 * Kubernetes' JSON omits them) except for `ptr` fields, where presence means "set".
 */
type Reader = 'string' | 'int' | 'ptr' | 'bool' | 'strings' | 'map' | 'bytesMap' | 'quantityMap' | 'intOrString' | 'meta' | Schema | [Schema];
interface Schema {
  [field: number]: [string, Reader];
}

const labelSelector: Schema = {
  1: ['matchLabels', 'map'],
  2: ['matchExpressions', [{ 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'strings'] }]],
};
const container: Schema = {
  1: ['name', 'string'], 2: ['image', 'string'], 3: ['command', 'strings'], 4: ['args', 'strings'], 5: ['workingDir', 'string'],
  6: ['ports', [{ 1: ['name', 'string'], 2: ['hostPort', 'int'], 3: ['containerPort', 'int'], 4: ['protocol', 'string'], 5: ['hostIP', 'string'] }]],
  7: ['env', [{ 1: ['name', 'string'], 2: ['value', 'string'] }]],
  8: ['resources', { 1: ['limits', 'quantityMap'], 2: ['requests', 'quantityMap'] }],
  13: ['terminationMessagePath', 'string'], 14: ['imagePullPolicy', 'string'], 16: ['stdin', 'bool'], 17: ['stdinOnce', 'bool'], 18: ['tty', 'bool'],
  20: ['terminationMessagePolicy', 'string'],
};
const podSpec: Schema = {
  2: ['containers', [container]], 3: ['restartPolicy', 'string'], 4: ['terminationGracePeriodSeconds', 'ptr'], 6: ['dnsPolicy', 'string'],
  7: ['nodeSelector', 'map'], 8: ['serviceAccountName', 'string'], 9: ['nodeName', 'string'], 16: ['hostname', 'string'],
  17: ['subdomain', 'string'], 19: ['schedulerName', 'string'], 20: ['initContainers', [container]], 24: ['priorityClassName', 'string'],
};
const podTemplate: Schema = { 1: ['metadata', 'meta'], 2: ['spec', podSpec] };

/** The kinds accepted as protobuf, by `apiVersion/kind`: everything but metadata. */
const kinds: Record<string, Schema> = {
  'v1/ConfigMap': { 2: ['data', 'map'], 3: ['binaryData', 'bytesMap'], 4: ['immutable', 'ptr'] },
  'v1/Secret': { 2: ['data', 'bytesMap'], 3: ['type', 'string'], 4: ['stringData', 'map'], 5: ['immutable', 'ptr'] },
  'v1/Namespace': { 2: ['spec', { 1: ['finalizers', 'strings'] }] },
  'v1/Service': {
    2: ['spec', {
      1: ['ports', [{ 1: ['name', 'string'], 2: ['protocol', 'string'], 3: ['port', 'int'], 4: ['targetPort', 'intOrString'], 5: ['nodePort', 'int'] }]],
      2: ['selector', 'map'], 3: ['clusterIP', 'string'], 4: ['type', 'string'], 5: ['externalIPs', 'strings'], 7: ['sessionAffinity', 'string'],
      10: ['externalName', 'string'], 11: ['externalTrafficPolicy', 'string'],
    }],
  },
  'apps/v1/Deployment': {
    2: ['spec', {
      1: ['replicas', 'ptr'], 2: ['selector', labelSelector], 3: ['template', podTemplate],
      4: ['strategy', { 1: ['type', 'string'], 2: ['rollingUpdate', { 1: ['maxUnavailable', 'intOrString'], 2: ['maxSurge', 'intOrString'] }] }],
      5: ['minReadySeconds', 'int'], 6: ['revisionHistoryLimit', 'ptr'], 7: ['paused', 'bool'], 9: ['progressDeadlineSeconds', 'ptr'],
    }],
  },
  'v1/ResourceQuota': { 2: ['spec', { 1: ['hard', 'quantityMap'], 2: ['scopes', 'strings'] }] },
  'scheduling.k8s.io/v1/PriorityClass': { 2: ['value', 'ptr'], 3: ['globalDefault', 'bool'], 4: ['description', 'string'], 5: ['preemptionPolicy', 'string'] },
  'policy/v1/PodDisruptionBudget': {
    2: ['spec', { 1: ['minAvailable', 'intOrString'], 2: ['selector', labelSelector], 3: ['maxUnavailable', 'intOrString'], 4: ['unhealthyPodEvictionPolicy', 'string'] }],
  },
  'policy/v1/Eviction': {
    2: ['deleteOptions', { 1: ['gracePeriodSeconds', 'ptr'], 2: ['preconditions', { 1: ['uid', 'string'], 2: ['resourceVersion', 'string'] }], 4: ['propagationPolicy', 'string'], 5: ['dryRun', 'strings'] }],
  },
  'v1/Binding': { 2: ['target', { 1: ['kind', 'string'], 2: ['namespace', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'] }] },
  // What `kubectl auth can-i` and `kubectl auth whoami` send.
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    2: ['spec', {
      1: ['resourceAttributes', {
        1: ['namespace', 'string'], 2: ['verb', 'string'], 3: ['group', 'string'], 4: ['version', 'string'], 5: ['resource', 'string'],
        6: ['subresource', 'string'], 7: ['name', 'string'],
      }],
      2: ['nonResourceAttributes', { 1: ['path', 'string'], 2: ['verb', 'string'] }],
    }],
  },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': { 2: ['spec', { 1: ['namespace', 'string'] }] },
  'authentication.k8s.io/v1/SelfSubjectReview': {},
  'batch/v1/Job': {
    2: ['spec', {
      1: ['parallelism', 'ptr'], 2: ['completions', 'ptr'], 3: ['activeDeadlineSeconds', 'ptr'], 4: ['selector', labelSelector],
      6: ['template', podTemplate], 7: ['backoffLimit', 'ptr'], 8: ['ttlSecondsAfterFinished', 'ptr'], 9: ['completionMode', 'string'], 10: ['suspend', 'ptr'],
    }],
  },
};

function signedInt(value: bigint | undefined): number {
  return Number(BigInt.asIntN(64, value ?? 0n));
}

function readValue(f: Field, reader: Exclude<Reader, [Schema]>): unknown {
  switch (reader) {
    case 'string': return text(f);
    case 'int':
    case 'ptr': return signedInt(f.varint);
    case 'bool': return f.varint === 1n;
    case 'meta': return objectMeta(f.bytes!);
    case 'intOrString': {
      const parts = readFields(f.bytes!);
      const kind = signedInt(parts.find((p) => p.number === 1)?.varint);
      return kind === 1 ? text(parts.find((p) => p.number === 3) ?? { number: 3, wire: 2, bytes: Buffer.alloc(0) }) : signedInt(parts.find((p) => p.number === 2)?.varint);
    }
    case 'strings':
    case 'map':
    case 'bytesMap':
    case 'quantityMap':
      throw new Error('repeated readers are handled by the caller');
    default:
      return decodeMessage(f.bytes!, reader);
  }
}

function isZero(value: unknown): boolean {
  if (value === '' || value === 0 || value === false) return true;
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

function decodeMessage(buf: Buffer, schema: Schema): Record<string, unknown> {
  const fields = readFields(buf);
  const out: Record<string, unknown> = {};
  for (const [numberText, [name, reader]] of Object.entries(schema)) {
    const number = Number(numberText);
    const matching = fields.filter((f) => f.number === number);
    if (matching.length === 0) continue;
    if (reader === 'strings') out[name] = matching.map(text);
    else if (reader === 'map') out[name] = mapEntries(fields, number, text);
    else if (reader === 'bytesMap') out[name] = mapEntries(fields, number, (v) => v.bytes!.toString('base64'));
    else if (reader === 'quantityMap') out[name] = mapEntries(fields, number, (v) => text(readFields(v.bytes!).find((p) => p.number === 1) ?? v));
    else if (Array.isArray(reader)) out[name] = matching.map((f) => decodeMessage(f.bytes!, reader[0]));
    else {
      const value = readValue(matching[matching.length - 1]!, reader);
      if (reader === 'ptr' || !isZero(value)) out[name] = value;
    }
  }
  return out;
}

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
    const schema = kinds[`${apiVersion}/${kind}`];
    if (!schema || !raw) {
      throw new StatusError('UnsupportedMediaType', `protobuf bodies are accepted for ${Object.keys(kinds).map((k) => k.split('/').pop()).join(', ')} only (got ${apiVersion} ${kind}); send JSON or YAML instead, e.g. kubectl create -f FILE or kubectl apply -f FILE`);
    }
    return { apiVersion, kind, ...decodeMessage(raw, { 1: ['metadata', 'meta'], ...schema }) };
  } catch (err) {
    if (err instanceof StatusError) throw err;
    throw new StatusError('BadRequest', `the protobuf body cannot be read: ${err instanceof Error ? err.message : String(err)}`);
  }
}
