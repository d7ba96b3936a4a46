/**
 * The reading side of the API benchmark's watch phase: many watch streams, read in worker threads
 * so that reading a thousand streams never delays the writes being timed on the main thread.
 *
 * Over HTTP/1.1 each stream is a plain TLS connection carrying one `GET ...?watch=true` request;
 * over HTTP/2 the streams share connections, as the informers of one client-go process do. A reader does
 * not decode JSON: it only looks for the counter every benchmark write puts in its ConfigMap
 * (`"benchSeq":"N"`) and records, in memory shared with the main thread, the wall-clock time the
 * bytes holding it came off the socket. The response head is checked (it must be a 200) before
 * any counter is taken. Keeping the reader this lean is deliberate: what it costs comes out of
 * the same two cores the hub runs on, and the latency it measures is the hub's, not the reader's.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { connect, type TLSSocket } from 'node:tls';
import http2 from 'node:http2';

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

  if (input.http2StreamsPerConnection > 0) {
    // Windows as large as client-go's (4 MiB a stream, more for the connection), so flow control
    // never holds the hub back while this side keeps up.
    const sessions = Array.from({ length: Math.ceil(input.count / input.http2StreamsPerConnection) }, () => {
      const session = http2.connect(input.url, { ca: input.caPem, settings: { initialWindowSize: 4 * 1024 * 1024 } });
      session.on('error', (err) => fail(`HTTP/2 connection: ${err.message}`));
      session.on('connect', () => session.setLocalWindowSize(1 << 30));
      return session;
    });
    for (let i = 0; i < input.count; i++) {
      const watcher = input.first + i;
      const stream = sessions[i % sessions.length]!.request({ ':path': input.path, authorization: `Bearer ${input.token}`, accept: 'application/json' });
      const read = reader(watcher);
      stream.on('response', (headers) => {
        if (headers[':status'] !== 200) fail(`watch ${watcher}: status ${headers[':status']}`);
        else if (--waiting === 0) parentPort!.postMessage({ opened: true });
      });
      stream.on('error', (err) => fail(`watch ${watcher}: ${err.message}`));
      stream.on('data', (chunk: Buffer) => read(chunk, performance.timeOrigin + performance.now()));
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
