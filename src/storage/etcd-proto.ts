/**
 * The protocol buffer messages of etcd's v3 API that the etcd store uses, encoded and decoded by
 * hand: field numbers from etcd's `rpc.proto` and `kv.proto` (package etcdserverpb and mvccpb).
 *
 * A generic protobuf runtime would cost more than the messages are worth: the store sends a few
 * small requests and reads a few kinds of responses, and every one of them is on a hot path (each
 * write is a Txn; each change comes back as a WatchResponse). Integers are revisions and counts,
 * non-negative and within 2^53, so they travel as JavaScript numbers; a field at its default value
 * is left out, as proto3 does, except inside a `oneof`, where being present is the value.
 */

/** Builds one message. Fields are appended in the order written; etcd does not care about order. */
export class ProtoWriter {
  readonly #parts: Buffer[] = [];
  #scratch: number[] = [];

  #tag(field: number, wireType: number): void {
    this.#pushVarint(field * 8 + wireType);
  }

  #pushVarint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`cannot encode ${value} as a protobuf varint here`);
    while (value > 127) {
      this.#scratch.push((value % 128) | 128);
      value = Math.floor(value / 128);
    }
    this.#scratch.push(value);
  }

  /** An integer field (int64, uint64, enum); 0 is left out unless `always`. */
  uint(field: number, value: number | undefined, always = false): this {
    if (value === undefined || (value === 0 && !always)) return this;
    this.#tag(field, 0);
    this.#pushVarint(value);
    return this;
  }

  bool(field: number, value: boolean | undefined): this {
    return value ? this.uint(field, 1) : this;
  }

  /** A bytes, string or nested message field; empty is left out unless `always`. */
  bytes(field: number, value: Buffer | undefined, always = false): this {
    if (value === undefined || (value.length === 0 && !always)) return this;
    this.#tag(field, 2);
    this.#pushVarint(value.length);
    this.#parts.push(Buffer.from(this.#scratch), value);
    this.#scratch = [];
    return this;
  }

  /** A nested message, written even when empty (a nested message's presence can carry meaning). */
  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish(), true);
  }

  finish(): Buffer {
    if (this.#scratch.length > 0) {
      this.#parts.push(Buffer.from(this.#scratch));
      this.#scratch = [];
    }
    return this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts);
  }
}

/** Reads the fields of one message in order; `skip` passes over any field the caller does not want. */
export class ProtoReader {
  readonly #buffer: Buffer;
  #offset: number;
  readonly #end: number;
  /** The wire type of the field whose tag was read last. */
  #wireType = 0;

  constructor(buffer: Buffer, start = 0, end = buffer.length) {
    this.#buffer = buffer;
    this.#offset = start;
    this.#end = end;
  }

  /** The next field's number, or 0 at the end of the message. */
  next(): number {
    if (this.#offset >= this.#end) return 0;
    const tag = this.uint();
    this.#wireType = tag % 8;
    return Math.floor(tag / 8);
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.#offset >= this.#end) throw new Error('etcd sent a truncated protobuf message');
      const byte = this.#buffer[this.#offset++]!;
      value += (byte & 127) * scale;
      if (byte < 128) return value;
      scale *= 128;
      // Past 10 bytes a varint is malformed; past 2^53 precision is gone, which no revision reaches.
      if (scale > 2 ** 63) throw new Error('etcd sent a malformed protobuf varint');
    }
  }

  bool(): boolean {
    return this.uint() !== 0;
  }

  /** A length-delimited field, as a view into the message (no copy). */
  bytes(): Buffer {
    const length = this.uint();
    const start = this.#offset;
    this.#offset += length;
    if (this.#offset > this.#end) throw new Error('etcd sent a truncated protobuf message');
    return this.#buffer.subarray(start, this.#offset);
  }

  string(): string {
    return this.bytes().toString('utf8');
  }

  skip(): void {
    switch (this.#wireType) {
      case 0: this.uint(); return;
      case 1: this.#offset += 8; return;
      case 2: this.bytes(); return;
      case 5: this.#offset += 4; return;
      default: throw new Error(`etcd sent a protobuf field of wire type ${this.#wireType}, which etcd's API does not use`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

export interface RangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  limit?: number;
  revision?: number;
  keysOnly?: boolean;
  countOnly?: boolean;
}

export function encodeRangeRequest(request: RangeRequest): Buffer {
  return rangeRequest(request).finish();
}

function rangeRequest(request: RangeRequest): ProtoWriter {
  return new ProtoWriter()
    .bytes(1, request.key, true)
    .bytes(2, request.rangeEnd)
    .uint(3, request.limit)
    .uint(4, request.revision)
    .bool(8, request.keysOnly)
    .bool(9, request.countOnly);
}

export interface DeleteRangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  prevKv?: boolean;
}

export function encodeDeleteRangeRequest(request: DeleteRangeRequest): Buffer {
  return deleteRangeRequest(request).finish();
}

function deleteRangeRequest(request: DeleteRangeRequest): ProtoWriter {
  return new ProtoWriter().bytes(1, request.key, true).bytes(2, request.rangeEnd).bool(3, request.prevKv);
}

/** What a Compare looks at, and how; the numbers are etcd's enum values. */
export const compareTarget = { version: 0, create: 1, mod: 2, value: 3 } as const;
export const compareResult = { equal: 0, greater: 1, less: 2, notEqual: 3 } as const;

/** One condition of a transaction: `target` of `key` compared with `revision` (create or mod). */
export interface Compare {
  key: Buffer;
  target: typeof compareTarget.create | typeof compareTarget.mod;
  result: (typeof compareResult)[keyof typeof compareResult];
  revision: number;
}

export type RequestOp =
  | { range: RangeRequest }
  | { put: { key: Buffer; value: Buffer } }
  | { deleteRange: DeleteRangeRequest };

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure?: RequestOp[];
}

export function encodeTxnRequest(request: TxnRequest): Buffer {
  const writer = new ProtoWriter();
  for (const compare of request.compare) {
    // The revision sits in a oneof (create_revision = 5, mod_revision = 6): written even when 0.
    writer.message(1, new ProtoWriter()
      .uint(1, compare.result)
      .uint(2, compare.target)
      .bytes(3, compare.key, true)
      .uint(compare.target === compareTarget.create ? 5 : 6, compare.revision, true));
  }
  for (const op of request.success) writer.message(2, requestOp(op));
  for (const op of request.failure ?? []) writer.message(3, requestOp(op));
  return writer.finish();
}

function requestOp(op: RequestOp): ProtoWriter {
  if ('range' in op) return new ProtoWriter().message(1, rangeRequest(op.range));
  if ('put' in op) return new ProtoWriter().message(2, new ProtoWriter().bytes(1, op.put.key, true).bytes(2, op.put.value, true));
  return new ProtoWriter().message(3, deleteRangeRequest(op.deleteRange));
}

export function encodeCompactionRequest(revision: number, physical: boolean): Buffer {
  return new ProtoWriter().uint(1, revision).bool(2, physical).finish();
}

export interface WatchCreateRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  startRevision?: number;
  progressNotify?: boolean;
  prevKv?: boolean;
  watchId: number;
}

export function encodeWatchCreate(request: WatchCreateRequest): Buffer {
  const create = new ProtoWriter()
    .bytes(1, request.key, true)
    .bytes(2, request.rangeEnd)
    .uint(3, request.startRevision)
    .bool(4, request.progressNotify)
    .bool(6, request.prevKv)
    .uint(7, request.watchId);
  return new ProtoWriter().message(1, create).finish();
}

export function encodeWatchCancel(watchId: number): Buffer {
  return new ProtoWriter().message(2, new ProtoWriter().uint(1, watchId, true)).finish();
}

// ---------------------------------------------------------------------------------------------
// Responses

export interface KeyValue {
  key: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Buffer;
}

export interface RangeResponse {
  revision: number;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface DeleteRangeResponse {
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

export interface TxnResponse {
  revision: number;
  succeeded: boolean;
  /** The responses of the ops that ran; only range responses are decoded (the store reads no others). */
  responses: { range?: RangeResponse }[];
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface WatchResponse {
  revision: number;
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  events: WatchEvent[];
}

/** The revision in a ResponseHeader. */
function headerRevision(reader: ProtoReader): number {
  let revision = 0;
  for (let field = reader.next(); field !== 0; field = reader.next()) {
    if (field === 3) revision = reader.uint();
    else reader.skip();
  }
  return revision;
}

function nested(reader: ProtoReader): ProtoReader {
  const bytes = reader.bytes();
  return new ProtoReader(bytes);
}

const emptyBuffer = Buffer.alloc(0);

export function decodeKeyValue(reader: ProtoReader): KeyValue {
  const kv: KeyValue = { key: emptyBuffer, createRevision: 0, modRevision: 0, version: 0, value: emptyBuffer };
  for (let field = reader.next(); field !== 0; field = reader.next()) {
    switch (field) {
      case 1: kv.key = reader.bytes(); break;
      case 2: kv.createRevision = reader.uint(); break;
      case 3: kv.modRevision = reader.uint(); break;
      case 4: kv.version = reader.uint(); break;
      case 5: kv.value = reader.bytes(); break;
      default: reader.skip();
    }
  }
  return kv;
}

export function decodeRangeResponse(reader: ProtoReader): RangeResponse {
  const response: RangeResponse = { revision: 0, kvs: [], more: false, count: 0 };
  for (let field = reader.next(); field !== 0; field = reader.next()) {
    switch (field) {
      case 1: response.revision = headerRevision(nested(reader)); break;
      case 2: response.kvs.push(decodeKeyValue(nested(reader))); break;
      case 3: response.more = reader.bool(); break;
      case 4: response.count = reader.uint(); break;
      default: reader.skip();
    }
  }
  return response;
}

export function decodeDeleteRangeResponse(reader: ProtoReader): DeleteRangeResponse {
  const response: DeleteRangeResponse = { revision: 0, deleted: 0, prevKvs: [] };
  for (let field = reader.next(); field !== 0; field = reader.next()) {
    switch (field) {
      case 1: response.revision = headerRevision(nested(reader)); break;
      case 2: response.deleted = reader.uint(); break;
      case 3: response.prevKvs.push(decodeKeyValue(nested(reader))); break;
      default: reader.skip();
    }
  }
  return response;
}

export function decodeTxnResponse(reader: ProtoReader): TxnResponse {
  const response: TxnResponse = { revision: 0, succeeded: false, responses: [] };
  for (let field = reader.next(); field !== 0; field = reader.next()) {
    switch (field) {
      case 1: response.revision = headerRevision(nested(reader)); break;
      case 2: response.succeeded = reader.bool(); break;
      case 3: {
        const op = nested(reader);
        const decoded: { range?: RangeResponse } = {};
        for (let inner = op.next(); inner !== 0; inner = op.next()) {
          if (inner === 1) decoded.range = decodeRangeResponse(nested(op));
          else op.skip();
        }
        response.responses.push(decoded);
        break;
      }
      default: reader.skip();
    }
  }
  return response;
}

function decodeEvent(reader: ProtoReader): WatchEvent {
  let type: WatchEvent['type'] = 'PUT';
  let kv: KeyValue | undefined;
  let prevKv: KeyValue | undefined;
  for (let field = reader.next(); field !== 0; field = reader.next()) {
    switch (field) {
      case 1: type = reader.uint() === 1 ? 'DELETE' : 'PUT'; break;
      case 2: kv = decodeKeyValue(nested(reader)); break;
      case 3: prevKv = decodeKeyValue(nested(reader)); break;
      default: reader.skip();
    }
  }
  if (!kv) throw new Error('etcd sent a watch event without its key-value');
  const event: WatchEvent = { type, kv };
  if (prevKv) event.prevKv = prevKv;
  return event;
}

export function decodeWatchResponse(reader: ProtoReader): WatchResponse {
  const response: WatchResponse = { revision: 0, watchId: 0, created: false, canceled: false, compactRevision: 0, cancelReason: '', events: [] };
  for (let field = reader.next(); field !== 0; field = reader.next()) {
    switch (field) {
      case 1: response.revision = headerRevision(nested(reader)); break;
      case 2: response.watchId = reader.uint(); break;
      case 3: response.created = reader.bool(); break;
      case 4: response.canceled = reader.bool(); break;
      case 5: response.compactRevision = reader.uint(); break;
      case 6: response.cancelReason = reader.string(); break;
      case 11: response.events.push(decodeEvent(nested(reader))); break;
      default: reader.skip();
    }
  }
  return response;
}
