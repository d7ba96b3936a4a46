/**
 * The reading side of the API benchmark's watch phase: many watch streams, read in worker threads
 * so that reading a thousand streams never delays the writes being timed on the main thread.
 *
 * Over HTTP/1.1 each stream is a plain TLS connection carrying one `GET ...?watch=true` request;
 * over HTTP/2 the streams share connections, as the informers of one client-go process do, and
 * the frames are read straight off the TLS socket rather than through node:http2's client, whose
 * per-frame work took about 30% of a core more on the same two cores as the hub. A reader does
 * not decode JSON: it only looks for the counter every benchmark write puts in its ConfigMap
 * (`"benchSeq":"N"`) and records, in memory shared with the main thread, the wall-clock time the
 * bytes holding it came off the socket. The response head is checked (it must be a 200) before
 * any counter is taken. Keeping the reader this lean is deliberate: what it costs comes out of
 * the same two cores the hub runs on, and the latency it measures is the hub's, not the reader's.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { connect, type TLSSocket } from 'node:tls';

export interface WatchReadersOptions {
  url: string;
  token: string;
  caPem: string;
  /** The watch request's path and query. */
  path: string;
  watchers: number;
  /** Counters run from 0 to `updates - 1`. */
  updates: number;
  threads: number;
  /** With this, the watches go over HTTP/2, this many to a connection; without, each has its own HTTP/1.1 connection. */
  http2StreamsPerConnection?: number;
}

export interface WatchReaders {
  /** Arrival time of counter `seq` at watcher `w` at index `seq * watchers + w`, as `performance.timeOrigin + performance.now()`; NaN until it arrives. */
  readonly arrivals: Float64Array;
  /** Counters that have arrived so far, over all watchers. */
  received(): number;
  /** Worker threads reading. */
  readonly threads: number;
  close(): Promise<void>;
}

interface WorkerInput {
  url: string;
  token: string;
  caPem: string;
  path: string;
  first: number;
  count: number;
  watchers: number;
  updates: number;
  arrivals: SharedArrayBuffer;
  counter: SharedArrayBuffer;
  /** 0 for HTTP/1.1. */
  http2StreamsPerConnection: number;
}

/** Opens the streams across `threads` workers and resolves once every stream has its 200 head. */
export async function startWatchReaders(options: WatchReadersOptions): Promise<WatchReaders> {
  const arrivalsBuffer = new SharedArrayBuffer(options.updates * options.watchers * 8);
  const arrivals = new Float64Array(arrivalsBuffer).fill(Number.NaN);
  const counterBuffer = new SharedArrayBuffer(4);
  const counter = new Int32Array(counterBuffer);
  const perConnection = options.http2StreamsPerConnection ?? 0;
  // A connection is read by one thread, so there are no more threads than connections.
  const connections = perConnection > 0 ? Math.ceil(options.watchers / perConnection) : options.watchers;
  const threads = Math.max(1, Math.min(options.threads, connections));
  const workers: Worker[] = [];
  const opened: Array<Promise<void>> = [];
  for (let t = 0; t < threads; t++) {
    const first = Math.floor((t * options.watchers) / threads);
    const count = Math.floor(((t + 1) * options.watchers) / threads) - first;
    const input: WorkerInput = { url: options.url, token: options.token, caPem: options.caPem, path: options.path, first, count, watchers: options.watchers, updates: options.updates, arrivals: arrivalsBuffer, counter: counterBuffer, http2StreamsPerConnection: perConnection };
    const worker = new Worker(new URL(import.meta.url), { workerData: input });
    workers.push(worker);
    opened.push(new Promise<void>((resolve, reject) => {
      worker.once('message', (message: { opened?: true; error?: string }) => (message.error ? reject(new Error(message.error)) : resolve()));
      worker.once('error', reject);
    }));
  }
  const close = async () => {
    await Promise.all(workers.map((worker) => worker.terminate()));
  };
  try {
    await Promise.all(opened);
  } catch (err) {
    await close();
    throw err;
  }
  return { arrivals, received: () => Atomics.load(counter, 0), threads, close };
}

const marker = Buffer.from('"benchSeq":"');
const quote = 0x22;
const newline = 0x0a;
/** Bytes kept from the end of one read so a counter split across two reads is still found. */
const carryBytes = marker.length + 12;

const frameType = { data: 0x0, headers: 0x1, rstStream: 0x3, settings: 0x4, ping: 0x6, goaway: 0x7, windowUpdate: 0x8 } as const;
const endStream = 0x1;
const ackFlag = 0x1;
const endHeaders = 0x4;
const paddedFlag = 0x8;
const priorityFlag = 0x20;
/** HPACK static table entry 8, `:status: 200`, as an indexed header field. */
const indexedStatus200 = 0x88;
const defaultWindow = 65_535;
const maxWindow = 2 ** 31 - 1;
/** Bytes read on a stream or the connection before its window is topped up again. */
const refillAfter = 2 ** 30;

function h2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

function windowUpdate(streamId: number, increment: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(increment, 0);
  return h2Frame(frameType.windowUpdate, 0, streamId, payload);
}

/** A DATA or HEADERS payload without its padding. */
function unpad(payload: Buffer, flags: number): Buffer {
  return flags & paddedFlag ? payload.subarray(1, payload.length - payload[0]!) : payload;
}

/** An HPACK integer with an N-bit prefix, the prefix's other bits taken from `high`. */
function hpackInteger(value: number, prefixBits: number, high: number): number[] {
  const limit = (1 << prefixBits) - 1;
  if (value < limit) return [high | value];
  const bytes = [high | limit];
  for (value -= limit; value >= 128; value = Math.floor(value / 128)) bytes.push((value % 128) | 128);
  bytes.push(value);
  return bytes;
}

/** A literal header field without indexing, its name taken from static table entry `nameIndex`. */
function hpackLiteral(nameIndex: number, value: string): number[] {
  const bytes = Buffer.from(value, 'latin1');
  return [...hpackInteger(nameIndex, 4, 0), ...hpackInteger(bytes.length, 7, 0), ...bytes];
}

/** The request head of a watch, HPACK-encoded without Huffman coding or the dynamic table. */
function requestHeaderBlock(authority: string, path: string, authorization: string): Buffer {
  return Buffer.from([
    0x82, // :method GET
    0x87, // :scheme https
    ...hpackLiteral(1, authority),
    ...hpackLiteral(4, path),
    ...hpackLiteral(23, authorization),
    ...hpackLiteral(19, 'application/json'), // accept
  ]);
}

function runWorker(input: WorkerInput): void {
  const arrivals = new Float64Array(input.arrivals);
  const counter = new Int32Array(input.counter);
  const { hostname, port } = new URL(input.url);
  const request = `GET ${input.path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${input.token}\r\nAccept: application/json\r\n\r\n`;
  const sockets: TLSSocket[] = [];
  let waiting = input.count;
  let failed = false;
  const fail = (message: string) => {
    if (failed) return;
    failed = true;
    parentPort!.postMessage({ error: message });
  };

  const record = (watcher: number, data: Buffer, now: number) => {
    for (let at = data.indexOf(marker); at >= 0; at = data.indexOf(marker, at + 1)) {
      let seq = 0;
      let digits = 0;
      let i = at + marker.length;
      for (; i < data.length && data[i] !== quote; i++, digits++) seq = seq * 10 + (data[i]! - 0x30);
      if (i === data.length) return;
      if (!(digits > 0 && seq < input.updates)) continue;
      const slot = seq * input.watchers + watcher;
      if (Number.isNaN(arrivals[slot]!)) {
        arrivals[slot] = now;
        Atomics.add(counter, 0, 1);
      }
    }
  };

  /**
   * Reads one stream's body chunk by chunk. A chunk usually ends with a whole event line; when
   * one does not, a counter may be split across it and the next, so it is looked for in a small
   * joined window over the boundary (the tail kept from the last chunk and the head of this one);
   * one found twice, in the window and in the chunk, is recorded once.
   */
  const reader = (watcher: number) => {
    let tail: Buffer | undefined;
    return (chunk: Buffer, now: number) => {
      if (tail) record(watcher, Buffer.concat([tail, chunk.subarray(0, carryBytes)]), now);
      record(watcher, chunk, now);
      tail = chunk.length > 0 && chunk[chunk.length - 1] !== newline ? Buffer.from(chunk.subarray(Math.max(0, chunk.length - carryBytes))) : undefined;
    };
  };

  /**
   * One HTTP/2 connection carrying a watch per entry of `watchers`, spoken directly over TLS:
   * the preface and settings, one HEADERS frame per watch, then DATA frames read as they come.
   * Stream `2i + 1` is watcher `watchers[i]`. Windows are opened to the maximum at the start and
   * topped up as data is read, so flow control never holds the hub back; SETTINGS and PING get
   * the acknowledgement the protocol requires. A response is accepted only when its header block
   * starts with HPACK's indexed `:status: 200` (how nghttp2 always encodes it); a GOAWAY or a
   * reset stream fails the run.
   */
  const openHttp2Watches = (watchers: number[]): TLSSocket => {
    const socket = connect({ host: hostname, port: Number(port), ca: input.caPem, ALPNProtocols: ['h2'] });
    const readers = watchers.map((watcher) => reader(watcher));
    const opened = new Uint8Array(watchers.length);
    const unacknowledged = new Float64Array(watchers.length + 1);
    let pending: Buffer | undefined;
    socket.on('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') {
        fail(`HTTP/2 connection: the hub did not agree to h2 (ALPN ${String(socket.alpnProtocol)})`);
        return;
      }
      const block = requestHeaderBlock(`${hostname}:${port}`, input.path, `Bearer ${input.token}`);
      const frames = [
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
        // ENABLE_PUSH 0, INITIAL_WINDOW_SIZE at its maximum.
        h2Frame(frameType.settings, 0, 0, Buffer.from([0, 2, 0, 0, 0, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff])),
        windowUpdate(0, maxWindow - defaultWindow),
        ...watchers.map((_, i) => h2Frame(frameType.headers, endStream | endHeaders, 2 * i + 1, block)),
      ];
      socket.write(Buffer.concat(frames));
    });
    socket.on('error', (err) => fail(`HTTP/2 connection: ${err.message}`));
    socket.on('data', (chunk: Buffer) => {
      const now = performance.timeOrigin + performance.now();
      const data = pending ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      while (data.length - at >= 9) {
        const length = data.readUIntBE(at, 3);
        if (data.length - at < 9 + length) break;
        const type = data[at + 3]!;
        const flags = data[at + 4]!;
        const id = data.readUInt32BE(at + 5) & 0x7fffffff;
        const payload = data.subarray(at + 9, at + 9 + length);
        at += 9 + length;
        const index = (id - 1) / 2;
        if (type === frameType.data) {
          if (id % 2 === 1 && index < watchers.length) readers[index]!(unpad(payload, flags), now);
          // Count what was consumed, and give it back long before a window could run dry.
          unacknowledged[0]! += length;
          if (unacknowledged[0]! > refillAfter) {
            socket.write(windowUpdate(0, unacknowledged[0]!));
            unacknowledged[0] = 0;
          }
          if (index < watchers.length && (unacknowledged[index + 1]! += length) > refillAfter) {
            socket.write(windowUpdate(id, unacknowledged[index + 1]!));
            unacknowledged[index + 1] = 0;
          }
        } else if (type === frameType.headers) {
          if (index >= watchers.length || opened[index]) continue;
          let block = unpad(payload, flags);
          if (flags & priorityFlag) block = block.subarray(5);
          if (block[0] !== indexedStatus200) {
            fail(`watch ${watchers[index]}: the response status is not 200 (header block ${block.subarray(0, 8).toString('hex')})`);
            continue;
          }
          opened[index] = 1;
          if (--waiting === 0) parentPort!.postMessage({ opened: true });
        } else if (type === frameType.settings) {
          if (!(flags & ackFlag)) socket.write(h2Frame(frameType.settings, ackFlag, 0, Buffer.alloc(0)));
        } else if (type === frameType.ping) {
          if (!(flags & ackFlag)) socket.write(h2Frame(frameType.ping, ackFlag, 0, payload));
        } else if (type === frameType.rstStream) {
          fail(`watch ${watchers[index]}: the hub reset its stream (error code ${payload.readUInt32BE(0)})`);
        } else if (type === frameType.goaway) {
          fail(`HTTP/2 connection: the hub sent GOAWAY (error code ${payload.readUInt32BE(4)})`);
        }
      }
      pending = at < data.length ? data.subarray(at) : undefined;
    });
    return socket;
  };

  if (input.http2StreamsPerConnection > 0) {
    const perConnection = input.http2StreamsPerConnection;
    for (let first = 0; first < input.count; first += perConnection) {
      const watchers = Array.from({ length: Math.min(perConnection, input.count - first) }, (_, i) => input.first + first + i);
      sockets.push(openHttp2Watches(watchers));
    }
    return;
  }
  for (let i = 0; i < input.count; i++) {
    const watcher = input.first + i;
    const socket = connect({ host: hostname, port: Number(port), ca: input.caPem });
    sockets.push(socket);
    let head = true;
    let headText = '';
    const read = reader(watcher);
    socket.on('secureConnect', () => socket.write(request));
    socket.on('error', (err) => fail(`watch ${watcher}: ${err.message}`));
    socket.on('data', (chunk: Buffer) => {
      const now = performance.timeOrigin + performance.now();
      if (head) {
        headText += chunk.toString('latin1');
        const end = headText.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!headText.startsWith('HTTP/1.1 200')) {
          fail(`watch ${watcher}: ${headText.slice(0, headText.indexOf('\r\n'))}`);
          return;
        }
        head = false;
        chunk = Buffer.from(headText.slice(end + 4), 'latin1');
        if (--waiting === 0) parentPort!.postMessage({ opened: true });
      }
      read(chunk, now);
    });
  }
}

if (!isMainThread && parentPort && (workerData as WorkerInput | undefined)?.arrivals) runWorker(workerData as WorkerInput);
