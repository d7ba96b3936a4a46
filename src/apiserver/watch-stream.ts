/**
 * The response side of a watch: newline-delimited JSON events in an HTTP/1.1 chunked body.
 *
 * A watch event usually goes to many streams at once (a thousand controllers watching one kind),
 * so the costly parts are done once per event, not once per stream: the line is encoded to bytes
 * and framed as a complete chunk (`<size>\r\n<line>\r\n`) a single time, and every stream writes
 * that same Buffer straight to its socket. Through `ServerResponse.write` each stream would
 * encode the string again and hand four buffers (size, CRLF, data, CRLF) to a corked writev.
 *
 * Events queued in one turn of the event loop leave in one socket write, so a busy hub pays one
 * TLS record and one system call per stream per turn rather than per event.
 *
 * A stream whose client stops reading is cut off once `maxBufferedBytes` wait in its socket,
 * as kube-apiserver drops unresponsive watchers; the client re-watches from its last
 * resourceVersion, and nothing else on the hub waits for it.
 */
import type { ServerResponse } from 'node:http';

const crlf = Buffer.from('\r\n');

/** Frames one line as a complete HTTP/1.1 chunk. */
export function chunkFrame(line: string): Buffer {
  const data = Buffer.from(line, 'utf8');
  const size = Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1');
  return Buffer.concat([size, data, crlf], size.length + data.length + crlf.length);
}

/**
 * Joined batches, keyed by their first frame (and dropped with it). Streams watching the same thing get
 * the same frames in the same turn, so a thousand of them share one joined Buffer instead of
 * copying a thousand; the cache is checked frame by frame, so a different batch never matches.
 */
const joined = new WeakMap<Buffer, { frames: Buffer[]; data: Buffer }>();

function joinFrames(frames: Buffer[], bytes: number): Buffer {
  const cached = joined.get(frames[0]!);
  if (cached && cached.frames.length === frames.length && cached.frames.every((frame, i) => frame === frames[i])) return cached.data;
  const data = Buffer.concat(frames, bytes);
  joined.set(frames[0]!, { frames: [...frames], data });
  return data;
}

export interface WatchStreamOptions {
  /** Bytes allowed to wait in the socket before the stream is cut off (default 16 MiB). */
  maxBufferedBytes?: number;
  /** Called once when the stream is cut off for a client that does not read. */
  onOverflow?: () => void;
}

export class WatchStream {
  readonly #res: ServerResponse;
  readonly #maxBuffered: number;
  readonly #onOverflow: (() => void) | undefined;
  #open = false;
  #closed = false;
  readonly #pending: Buffer[] = [];
  #pendingBytes = 0;
  #flushScheduled = false;

  constructor(res: ServerResponse, options: WatchStreamOptions = {}) {
    this.#res = res;
    this.#maxBuffered = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.#onOverflow = options.onOverflow;
  }

  /** True once the stream has ended or its connection has gone. */
  get closed(): boolean {
    return this.#closed || this.#res.writableEnded || this.#res.destroyed;
  }

  /** Sends the response head (200, chunked) if it has not gone yet. */
  open(): void {
    if (this.#open || this.closed) return;
    this.#open = true;
    this.#res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
    // The head must be on the socket before any chunk this stream writes there itself.
    this.#res.flushHeaders();
  }

  /** Queues one framed chunk (see `chunkFrame`); it leaves at the end of this event-loop turn. */
  send(frame: Buffer): void {
    if (this.closed) return;
    this.open();
    this.#pending.push(frame);
    this.#pendingBytes += frame.length;
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what is queued now. */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#pending.length === 0) return;
    const socket = this.#res.socket;
    if (this.closed || !socket || socket.destroyed) {
      this.#pending.length = 0;
      this.#pendingBytes = 0;
      return;
    }
    const data = this.#pending.length === 1 ? this.#pending[0]! : joinFrames(this.#pending, this.#pendingBytes);
    this.#pending.length = 0;
    this.#pendingBytes = 0;
    if (socket.writableLength + data.length > this.#maxBuffered) {
      this.#closed = true;
      socket.destroy();
      this.#onOverflow?.();
      return;
    }
    socket.write(data);
  }

  /** Flushes, then ends the body (the last chunk comes from ServerResponse itself). */
  end(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#res.writableEnded || this.#res.destroyed) return;
    if (!this.#open) this.#res.writeHead(200, { 'Content-Type': 'application/json' });
    this.#res.end();
  }
}
