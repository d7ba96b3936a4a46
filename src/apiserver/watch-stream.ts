/**
 * The response side of a watch: newline-delimited JSON events, as an HTTP/1.1 chunked body or as
 * the DATA of an HTTP/2 stream.
 *
 * A watch event usually goes to many streams at once (a thousand controllers watching one kind),
 * so the costly parts are done once per event, not once per stream: the line is encoded to bytes
 * and framed as a complete HTTP/1.1 chunk (`<size>\r\n<line>\r\n`) a single time; an HTTP/1.1
 * stream writes that same Buffer straight to its socket, an HTTP/2 stream the line inside it.
 * Through `ServerResponse.write` each stream would encode the string again and hand four buffers
 * (size, CRLF, data, CRLF) to a corked writev.
 *
 * Events queued in one synchronous run leave together as soon as it ends (a microtask), one
 * write per stream, and one pass flushes every stream that has something to send. A group commit
 * publishes its whole batch in one run, so a busy hub pays one TLS record and one system call per
 * HTTP/1.1 stream per batch rather than per event; over HTTP/2, where many watches share one
 * connection (as client-go's informers do), the frames of all of them leave in one socket write
 * per connection. Waiting for the next turn instead (setImmediate) would put the whole poll phase,
 * with its thousand write completions, between a commit and its delivery. Only the first pass of
 * a turn goes at once, though: events published later in the same turn wait for its end and
 * leave together, so a hub that falls behind merges events instead of writing each separately.
 *
 * A stream whose client stops reading is cut off once `maxBufferedBytes` wait unsent,
 * as kube-apiserver drops unresponsive watchers; the client re-watches from its last
 * resourceVersion, and nothing else on the hub waits for it.
 */
import type { ServerResponse } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';

const crlf = Buffer.from('\r\n');

/** One event line, encoded once: as a complete HTTP/1.1 chunk, and as the bare line HTTP/2 carries. */
export interface WatchFrame {
  readonly chunk: Buffer;
  /** A view into `chunk`, not a copy. */
  readonly line: Buffer;
}

/** Frames one line as a complete HTTP/1.1 chunk (`<size>\r\n<line>\r\n`). */
export function chunkFrame(line: string): WatchFrame {
  const data = Buffer.from(line, 'utf8');
  const size = Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1');
  const chunk = Buffer.concat([size, data, crlf], size.length + data.length + crlf.length);
  return { chunk, line: chunk.subarray(size.length, size.length + data.length) };
}

/**
 * Joined batches, keyed by their first frame (and dropped with it). Streams watching the same
 * thing get the same frames in the same run, so a thousand of them share one joined Buffer
 * instead of copying a thousand; the cache is checked frame by frame, so a different batch never
 * matches. HTTP/1.1 batches keep the chunk framing, HTTP/2 batches are the bare lines.
 */
interface Joined { frames: WatchFrame[]; data: Buffer }
const joinedChunks = new WeakMap<WatchFrame, Joined>();
const joinedLines = new WeakMap<WatchFrame, Joined>();

function joinFrames(frames: readonly WatchFrame[], framed: boolean): Buffer {
  const first = frames[0]!;
  // The usual case, one event per write, needs no joining at all.
  if (frames.length === 1) return framed ? first.chunk : first.line;
  const cache = framed ? joinedChunks : joinedLines;
  const cached = cache.get(first);
  if (cached && cached.frames.length === frames.length && cached.frames.every((frame, i) => frame === frames[i])) return cached.data;
  const data = Buffer.concat(frames.map((frame) => (framed ? frame.chunk : frame.line)));
  cache.set(first, { frames: [...frames], data });
  return data;
}

/** Streams with events queued in this run, flushed together by one microtask at its end. */
const queued: WatchStream[] = [];
let flushScheduled = false;

/** A flush pass ran in this turn of the event loop (reset by an immediate at the turn's end). */
let flushedThisTurn = false;
const endTurn = () => {
  flushedThisTurn = false;
};

function flushQueued(): void {
  flushScheduled = false;
  if (!flushedThisTurn) {
    flushedThisTurn = true;
    setImmediate(endTurn);
  }
  const streams = queued.splice(0);
  for (const stream of streams) stream.flush();
}

export interface WatchStreamOptions {
  /** Bytes allowed to wait unsent before the stream is cut off (default 16 MiB). */
  maxBufferedBytes?: number;
  /** Called once when the stream is cut off for a client that does not read. */
  onOverflow?: () => void;
}

export class WatchStream {
  readonly #res: ServerResponse;
  readonly #maxBuffered: number;
  readonly #onOverflow: (() => void) | undefined;
  /** The HTTP/2 stream under the response, when the request came over HTTP/2. */
  readonly #h2: ServerHttp2Stream | undefined;
  #open = false;
  /** Ended by us, or the connection went away. */
  #closed = false;
  readonly #pending: WatchFrame[] = [];

  constructor(res: ServerResponse, options: WatchStreamOptions = {}) {
    this.#res = res;
    this.#maxBuffered = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.#onOverflow = options.onOverflow;
    this.#h2 = (res as unknown as { stream?: ServerHttp2Stream }).stream;
    res.once('close', () => {
      this.#closed = true;
    });
  }

  /** True once the stream has ended or its connection has gone. */
  get closed(): boolean {
    return this.#closed || this.#res.writableEnded || this.#res.destroyed;
  }

  /** Sends the response head (200; chunked over HTTP/1.1) if it has not gone yet. */
  open(): void {
    if (this.#open || this.closed) return;
    this.#open = true;
    // HTTP/2 frames the body itself and forbids the Transfer-Encoding header.
    this.#res.writeHead(200, this.#h2
      ? { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' }
      : { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    // The head must be on the wire before any data this stream writes there itself.
    this.#res.flushHeaders();
  }

  /** Queues one event (see `chunkFrame`); it leaves when the current synchronous run ends. */
  send(frame: WatchFrame): void {
    if (this.#closed) return;
    if (!this.#open) this.open();
    if (this.#pending.push(frame) > 1) return;
    queued.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      // The first pass of a turn goes at once; events that keep coming in the same turn (a hub
      // behind on a store's watch stream reads several of its messages in one poll phase) wait
      // for the turn's end and leave together, so a lagging hub writes less per event, not more.
      if (flushedThisTurn) setImmediate(flushQueued);
      else queueMicrotask(flushQueued);
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const target = this.#h2 ?? this.#res.socket;
    if (this.closed || !target || target.destroyed) {
      this.#pending.length = 0;
      return;
    }
    const data = joinFrames(this.#pending, this.#h2 === undefined);
    this.#pending.length = 0;
    if (target.writableLength + data.length > this.#maxBuffered) {
      this.#closed = true;
      target.destroy();
      this.#onOverflow?.();
      return;
    }
    target.write(data);
  }

  /** Flushes, then ends the body (the last chunk comes from the response itself). */
  end(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#res.writableEnded || this.#res.destroyed) return;
    if (!this.#open) this.#res.writeHead(200, { 'Content-Type': 'application/json' });
    this.#res.end();
  }
}
