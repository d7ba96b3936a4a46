/**
 * EtcdStore keeps objects in etcd v3, for hubs that run as several replicas or hold more than one
 * machine should. The Store revision is etcd's revision: an object's resourceVersion is its
 * `mod_revision`, stamped on read (the stored JSON has none, since etcd assigns it at commit).
 * Compare-and-swap is an etcd transaction on `mod_revision`; create is one on
 * `create_revision == 0`. Every write is one etcd transaction, so it moves the revision by one.
 *
 * Keys live under `prefix` in etcd, so several hubs (or test cases) can share a cluster.
 */
import type { KubeObject } from '../machinery/object.ts';
import { StatusError } from '../machinery/status-error.ts';
import { decodeContinue, encodeContinue } from './continue-token.ts';
import { EtcdClient, type EtcdTls } from './etcd-client.ts';
import {
  compareResult, compareTarget, decodeDeleteRangeResponse, decodeRangeResponse, decodeTxnResponse, encodeCompactionRequest,
  encodeDeleteRangeRequest, encodeRangeRequest, encodeTxnRequest, type KeyValue, type RangeRequest, type RangeResponse,
  type TxnRequest, type TxnResponse, type WatchCreateRequest, type WatchEvent as EtcdEvent,
} from './etcd-proto.ts';
import { EtcdWatchStream } from './etcd-watch-stream.ts';
import { checkRevision, stampRevision, storeClosedError, storeErrors } from './store-errors.ts';
import type { DeleteOptions, ListOptions, ListResult, Store, Watch, WatchEvent, WatchHandlers, WatchOptions } from './store.ts';
import { WatchChannel } from './watch-channel.ts';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`, or `https://` ones with `tls`. */
  endpoints: string[];
  /** CA and client certificate for `https://` endpoints. */
  tls?: EtcdTls;
  /** Prepended to every key in etcd (e.g. `/nephele`); default none. */
  prefix?: string;
  /** How long a call waits for a connection, in ms. Default 10 s. */
  dialTimeoutMs?: number;
}

/** Keys fetched per range call while listing: big enough to amortise a round trip, small enough for gRPC. */
const listBatch = 500;
/** How long watch() waits for etcd to say from where history was compacted, to word Expired. */
const compactionNoticeTimeoutMs = 2_000;

export function createEtcdStore(options: EtcdStoreOptions): EtcdStore {
  return new EtcdStore(options);
}

export class EtcdStore implements Store {
  readonly backend = 'etcd';
  readonly #client: EtcdClient;
  readonly #prefix: string;
  readonly #watches: EtcdWatchStream;
  readonly #channels = new Set<WatchChannel>();
  #closed = false;

  constructor(options: EtcdStoreOptions) {
    if (options.endpoints.length === 0) throw new Error('the etcd store needs at least one endpoint');
    this.#prefix = options.prefix ?? '';
    this.#client = new EtcdClient({ endpoints: options.endpoints, dialTimeoutMs: options.dialTimeoutMs, tls: options.tls });
    this.#watches = new EtcdWatchStream(this.#client);
  }

  async get(key: string): Promise<KubeObject | undefined> {
    this.#assertOpen();
    const response = await this.#range({ key: this.#etcdKey(key) });
    const kv = response.kvs[0];
    return kv && decode(kv);
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListResult> {
    this.#assertOpen();
    const limit = options.limit ?? 0;
    checkRevision('limit', limit);
    const range = this.#prefixRange(prefix);
    let start = range.key;
    let revision = 0;
    if (options.continue !== undefined) {
      const position = decodeContinue(options.continue, prefix);
      // Later pages read at the first page's revision: one consistent snapshot, as in Kubernetes.
      revision = position.revision;
      start = afterKey(this.#etcdKey(position.key));
    }
    const items: KubeObject[] = [];
    let lastKey: string | undefined;
    let more = false;
    scan: for (;;) {
      const wanted = limit > 0 && !options.predicate ? limit - items.length + 1 : listBatch;
      let response: RangeResponse;
      try {
        response = await this.#range({ key: start, rangeEnd: range.rangeEnd, limit: Math.min(wanted, listBatch), revision });
      } catch (err) {
        if (isCompactedError(err)) throw storeErrors.staleContinue();
        // Only a forged token can name a revision etcd has not reached.
        if (isFutureRevisionError(err)) throw storeErrors.invalidContinue();
        throw err;
      }
      if (revision === 0) revision = response.revision;
      for (const kv of response.kvs) {
        const object = decode(kv);
        if (options.predicate && !options.predicate(object)) continue;
        if (limit > 0 && items.length === limit) {
          more = true;
          break scan;
        }
        items.push(object);
        lastKey = this.#storeKey(kv.key);
      }
      const last = response.kvs[response.kvs.length - 1];
      if (!response.more || !last) break;
      start = afterKey(last.key);
    }
    const result: ListResult = { items, revision };
    if (more && lastKey !== undefined) result.continue = encodeContinue({ key: lastKey, revision });
    return result;
  }

  async create(key: string, obj: KubeObject): Promise<KubeObject> {
    this.#assertOpen();
    const etcdKey = this.#etcdKey(key);
    const value = encode(obj);
    const response = await this.#txn({
      compare: [{ key: etcdKey, target: compareTarget.create, result: compareResult.equal, revision: 0 }],
      success: [{ put: { key: etcdKey, value } }],
    });
    if (!response.succeeded) throw storeErrors.alreadyExists(key);
    return decodeValue(value, response.revision);
  }

  async update(key: string, obj: KubeObject, expectedRevision?: number): Promise<KubeObject> {
    this.#assertOpen();
    checkRevision('expectedRevision', expectedRevision);
    const etcdKey = this.#etcdKey(key);
    const value = encode(obj);
    const response = await this.#txn({
      // "Exists" is checked even with a revision: a missing key has mod_revision 0, and an update
      // expecting 0 must not create it.
      compare: [
        { key: etcdKey, target: compareTarget.create, result: compareResult.greater, revision: 0 },
        ...(expectedRevision === undefined ? [] : [{ key: etcdKey, target: compareTarget.mod, result: compareResult.equal, revision: expectedRevision }]),
      ],
      success: [{ put: { key: etcdKey, value } }],
      failure: [{ range: { key: etcdKey, keysOnly: true } }],
    });
    if (!response.succeeded) {
      const exists = (response.responses[0]?.range?.kvs.length ?? 0) > 0;
      throw exists ? storeErrors.modified(key) : storeErrors.notFound(key);
    }
    return decodeValue(value, response.revision);
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<KubeObject> {
    this.#assertOpen();
    checkRevision('expectedRevision', options.expectedRevision);
    const etcdKey = this.#etcdKey(key);
    if (options.expectedRevision === undefined && options.expectedUid === undefined) {
      const response = decodeDeleteRangeResponse(await this.#client.call('deleteRange', encodeDeleteRangeRequest({ key: etcdKey, prevKv: true })));
      const previous = response.prevKvs[0];
      if (!previous) throw storeErrors.notFound(key);
      return decodeValue(previous.value, response.revision);
    }
    // A uid lives inside the value, which etcd cannot compare: read, check here, then delete only
    // if the key still holds what was checked. Lose that race and the checks run again.
    for (;;) {
      const current = (await this.#range({ key: etcdKey })).kvs[0];
      if (!current) throw storeErrors.notFound(key);
      const revision = current.modRevision;
      if (options.expectedRevision !== undefined && revision !== options.expectedRevision) {
        throw storeErrors.revisionPrecondition(key, options.expectedRevision, revision);
      }
      const uid = decode(current).metadata.uid;
      if (options.expectedUid !== undefined && uid !== options.expectedUid) {
        throw storeErrors.uidPrecondition(key, options.expectedUid, uid);
      }
      const response = await this.#txn({
        compare: [{ key: etcdKey, target: compareTarget.mod, result: compareResult.equal, revision }],
        success: [{ deleteRange: { key: etcdKey } }],
      });
      if (response.succeeded) return decodeValue(current.value, response.revision);
    }
  }

  async watch(prefix: string, options: WatchOptions, handlers: WatchHandlers): Promise<Watch> {
    this.#assertOpen();
    const from = options.fromRevision ?? 0;
    checkRevision('fromRevision', from);
    /** Every change up to here has been pushed to the channel: what a bookmark may promise. */
    let delivered = from;
    let id: number | undefined;
    /** While watch() has not returned, a cancellation becomes its rejection, not onError. */
    let setup: { cancellation?: StatusError | Error; notify?: () => void } | undefined = {};
    const channel = new WatchChannel({
      handlers,
      bookmarkIntervalMs: options.bookmarkIntervalMs,
      bookmarkRevision: () => delivered,
      onClose: () => {
        this.#channels.delete(channel);
        if (id !== undefined) this.#watches.cancel(id);
      },
    });
    const ended = (err: Error): void => {
      if (setup) {
        setup.cancellation = err;
        setup.notify?.();
      } else {
        channel.fail(err);
      }
    };
    const request: Omit<WatchCreateRequest, 'watchId'> = { ...this.#prefixRange(prefix), prevKv: true, progressNotify: true };
    if (from > 0) request.startRevision = from + 1;
    const creating = this.#watches.create(request, {
      onResponse: (response) => {
        if (response.canceled) {
          const compacted = response.compactRevision;
          ended(compacted > 0
            ? storeErrors.tooOld(from, compacted - 1)
            : new Error(`etcd cancelled the watch: ${response.cancelReason || 'no reason given'}`));
          return;
        }
        if (response.events.length === 0) {
          // A progress notification: etcd sends it only to a watch that is caught up.
          delivered = Math.max(delivered, response.revision);
          return;
        }
        for (const event of response.events) {
          const converted = this.#watchEvent(event);
          if (converted instanceof Error) {
            ended(converted);
            return;
          }
          channel.push(converted);
          delivered = Math.max(delivered, converted.revision);
        }
      },
      onLost: (err) => ended(err),
    });
    let created: Awaited<typeof creating>;
    try {
      created = await creating;
    } catch (err) {
      channel.stop();
      throw err;
    }
    id = created.id;
    if (from === 0) delivered = created.created.revision;
    this.#channels.add(channel);
    try {
      // etcd reports a compacted start revision only after `created`; ask directly so that
      // watch() itself rejects, then wait briefly for the cancellation that says from where.
      if (from > 0 && !setup.cancellation && await this.#isCompacted(from + 1)) {
        const state = setup;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, compactionNoticeTimeoutMs);
          state.notify = () => {
            clearTimeout(timer);
            resolve();
          };
          if (state.cancellation) state.notify();
        });
        setup.cancellation ??= storeErrors.tooOld(from, undefined);
      }
    } catch (err) {
      setup.cancellation ??= err as Error;
    }
    const cancellation = setup.cancellation;
    setup = undefined;
    if (cancellation) {
      channel.stop();
      throw cancellation;
    }
    return channel;
  }

  async currentRevision(): Promise<number> {
    this.#assertOpen();
    const response = await this.#range({ key: this.#anyKey(), countOnly: true });
    return response.revision;
  }

  async compact(revision: number): Promise<void> {
    this.#assertOpen();
    checkRevision('revision', revision);
    // Nothing precedes revision 1, and etcd refuses to compact at 0.
    if (revision <= 1) return;
    try {
      await this.#client.call('compact', encodeCompactionRequest(revision, true));
    } catch (err) {
      if (isCompactedError(err)) return;
      if (isFutureRevisionError(err)) throw storeErrors.futureCompaction(revision, await this.currentRevision());
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = storeClosedError(this.backend);
    for (const channel of this.#channels) channel.fail(closed);
    this.#channels.clear();
    this.#watches.close(closed);
    this.#client.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosedError(this.backend);
  }

  #etcdKey(key: string): Buffer {
    return Buffer.from(this.#prefix + key, 'utf8');
  }

  /** Some key to aim a range at when only the response header matters (etcd refuses an empty key). */
  #anyKey(): Buffer {
    return this.#etcdKey('/');
  }

  #storeKey(etcdKey: Buffer): string {
    return etcdKey.toString('utf8').slice(this.#prefix.length);
  }

  /** The etcd range holding every key that starts with `prefix`. */
  #prefixRange(prefix: string): { key: Buffer; rangeEnd: Buffer } {
    const key = this.#etcdKey(prefix);
    // An empty key with range_end "\0" is etcd's way of saying "every key".
    if (key.length === 0) return { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };
    return { key, rangeEnd: prefixEnd(key) };
  }

  async #range(request: RangeRequest): Promise<RangeResponse> {
    return decodeRangeResponse(await this.#client.call('range', encodeRangeRequest(request)));
  }

  async #txn(request: TxnRequest): Promise<TxnResponse> {
    return decodeTxnResponse(await this.#client.call('txn', encodeTxnRequest(request)));
  }

  #watchEvent(event: EtcdEvent): WatchEvent | Error {
    const key = this.#storeKey(event.kv.key);
    const revision = event.kv.modRevision;
    if (event.type === 'DELETE') {
      if (!event.prevKv) return new Error(`etcd sent the delete of ${key} at ${revision} without its last state`);
      return { type: 'DELETED', key, revision, object: decodeValue(event.prevKv.value, revision), previous: decode(event.prevKv) };
    }
    const object = decode(event.kv);
    if (event.kv.createRevision === event.kv.modRevision) return { type: 'ADDED', key, revision, object };
    const modified: WatchEvent = { type: 'MODIFIED', key, revision, object };
    if (event.prevKv) modified.previous = decode(event.prevKv);
    return modified;
  }

  /** True when etcd no longer holds history at `revision`; false for a revision not reached yet. */
  async #isCompacted(revision: number): Promise<boolean> {
    try {
      await this.#range({ key: this.#anyKey(), countOnly: true, revision });
      return false;
    } catch (err) {
      if (isCompactedError(err)) return true;
      if (isFutureRevisionError(err)) return false;
      throw err;
    }
  }
}

/** The JSON etcd keeps: the object without resourceVersion, which is etcd's mod_revision. */
function encode(obj: KubeObject): Buffer {
  const metadata = { ...obj.metadata };
  delete metadata.resourceVersion;
  return Buffer.from(JSON.stringify({ ...obj, metadata }), 'utf8');
}

function decodeValue(value: Buffer, revision: number): KubeObject {
  return stampRevision(JSON.parse(value.toString('utf8')) as KubeObject, revision);
}

function decode(kv: KeyValue): KubeObject {
  return decodeValue(kv.value, kv.modRevision);
}

/** The first key after `key` in etcd's byte order. */
function afterKey(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.from([0])]);
}

/** The end of the range of keys that start with `prefix`: the prefix with its last byte raised. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  // Every byte is 0xff: the range runs to the end of the keyspace.
  return Buffer.from([0]);
}

function isCompactedError(err: unknown): boolean {
  return err instanceof Error && err.message.includes('required revision has been compacted');
}

function isFutureRevisionError(err: unknown): boolean {
  return err instanceof Error && err.message.includes('required revision is a future revision');
}
