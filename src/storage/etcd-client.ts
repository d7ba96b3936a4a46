/**
 * EtcdClient speaks etcd's v3 gRPC API over node:http2: the few calls the etcd store makes (Range,
 * Txn, DeleteRange, Compact, and the Watch stream), each a POST of length-prefixed protobuf
 * messages (see etcd-proto.ts) with the status in the trailers, as gRPC defines.
 *
 * It replaces a general gRPC stack because every store call is on a hot path: a general client
 * spent about three times the CPU of this one per call (resolver, load balancer, retry and
 * interceptor layers, a reflective protobuf codec), and on a hub that CPU is taken from serving
 * the API. What a store needs of a connection is kept: one HTTP/2 connection multiplexes every
 * call; a call that cannot connect tries the next endpoint; a connection that fails is dropped and
 * the next call dials again. A call that was sent is never retried here, since it may have been
 * applied; the store's callers decide.
 */
import {
  connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type ClientSessionRequestOptions, type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { ProtoReader } from './etcd-proto.ts';

/** What a TLS connection to etcd needs (PEM text); an `https://` endpoint without it trusts the system's CAs. */
export interface EtcdTls {
  /** The authority etcd's serving certificate chains to. */
  ca?: string;
  /** A client certificate and its key, for an etcd that asks for one (`--client-cert-auth`). */
  cert?: string;
  key?: string;
}

export interface EtcdClientOptions {
  /** Client URLs, e.g. `http://127.0.0.1:2379`, or `https://` ones to speak TLS. */
  endpoints: string[];
  tls?: EtcdTls;
  /** How long connecting to one endpoint may take, in ms. Default 10 s. */
  dialTimeoutMs?: number;
  /**
   * How often an idle-looking connection is checked with an HTTP/2 PING, in ms (default 30 s),
   * and how long the answer may take (default 10 s). A connection whose peer went silent (a
   * network partition, a frozen host) is given up, so its watches fail and their owners start
   * over instead of waiting forever for events.
   */
  keepAliveIntervalMs?: number;
  keepAliveTimeoutMs?: number;
  /**
   * How long one call (Range, Txn, ...) may wait for its answer, in ms (default 60 s, as
   * kube-apiserver allows an etcd request); past it the call is cancelled and fails with an
   * error that says so. Watches have no deadline: they live as long as their watcher.
   */
  callTimeoutMs?: number;
}

/** A call etcd answered with a gRPC status other than OK. */
export class EtcdError extends Error {
  /** The gRPC status code (e.g. 11 OUT_OF_RANGE for a compacted revision, 14 UNAVAILABLE). */
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'EtcdError';
    this.code = code;
  }
}

/** Largest message accepted from etcd: a list page of large objects can be big. */
const maxMessageBytes = 256 * 1024 * 1024;

/** One gRPC message: a zero compression flag and a 4-byte big-endian length, then the bytes. */
export function grpcFrame(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

/** Splits a stream of gRPC frames, arriving in arbitrary chunks, into messages. */
export class FrameReader {
  readonly #onMessage: (message: Buffer) => void;
  #pending: Buffer | undefined;
  constructor(onMessage: (message: Buffer) => void) {
    this.#onMessage = onMessage;
  }

  push(chunk: Buffer): void {
    let data = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    while (data.length >= 5) {
      if (data[0] !== 0) throw new Error('etcd sent a compressed gRPC message, which was not asked for');
      const length = data.readUInt32BE(1);
      if (length > maxMessageBytes) throw new Error(`etcd sent a ${length}-byte message, over the ${maxMessageBytes}-byte limit`);
      if (data.length < 5 + length) break;
      this.#onMessage(data.subarray(5, 5 + length));
      data = data.subarray(5 + length);
    }
    if (data.length > 0) this.#pending = data;
  }

  get incomplete(): boolean {
    return this.#pending !== undefined;
  }
}

/** The gRPC status in a header block (trailers, or the headers of a trailers-only answer). */
function statusOf(headers: IncomingHttpHeaders): { code: number; message: string } | undefined {
  const code = headers['grpc-status'];
  if (code === undefined) return undefined;
  const raw = headers['grpc-message'];
  let message = typeof raw === 'string' ? raw : '';
  try {
    message = decodeURIComponent(message);
  } catch {
    // Not percent-encoded after all: keep it as sent.
  }
  return { code: Number(code), message };
}

const grpcHeaders = (path: string) => ({
  [constants.HTTP2_HEADER_METHOD]: 'POST',
  [constants.HTTP2_HEADER_PATH]: path,
  [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
  te: 'trailers',
});

/** The paths of the methods used, with their request headers made once. */
const methods = {
  range: grpcHeaders('/etcdserverpb.KV/Range'),
  txn: grpcHeaders('/etcdserverpb.KV/Txn'),
  deleteRange: grpcHeaders('/etcdserverpb.KV/DeleteRange'),
  compact: grpcHeaders('/etcdserverpb.KV/Compact'),
  watch: grpcHeaders('/etcdserverpb.Watch/Watch'),
};
export type EtcdMethod = Exclude<keyof typeof methods, 'watch'>;

/** A bidirectional call: messages go out with `send`, come in through the handlers given to `stream`. */
export interface EtcdStream {
  send(message: Buffer): void;
  /** Ends the call from this side; the handlers hear nothing more. */
  cancel(): void;
}

export interface EtcdStreamHandlers {
  onMessage(reader: ProtoReader): void;
  /** The call ended: etcd closed it, the connection failed, or it was refused. Not called after cancel. */
  onEnd(err: Error): void;
}

export class EtcdClient {
  readonly #endpoints: string[];
  readonly #dialTimeoutMs: number;
  readonly #tls: EtcdTls | undefined;
  readonly #keepAliveIntervalMs: number;
  readonly #keepAliveTimeoutMs: number;
  readonly #callTimeoutMs: number;
  /** The endpoint the next dial starts from: the one that worked last. */
  #current = 0;
  /** The connection being dialled or in use; `#live` is the same once it is up. */
  #session: Promise<ClientHttp2Session> | undefined;
  #live: ClientHttp2Session | undefined;
  #closed = false;

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new Error('the etcd client needs at least one endpoint');
    for (const endpoint of options.endpoints) {
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        throw new Error(`etcd endpoint ${JSON.stringify(endpoint)} is not a URL; write it as http://HOST:PORT`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`etcd endpoint ${endpoint}: use http:// (plain gRPC) or https:// (TLS)`);
      if (url.protocol === 'http:' && options.tls) throw new Error(`etcd endpoint ${endpoint}: TLS settings were given, so write it as https://`);
    }
    if ((options.tls?.cert === undefined) !== (options.tls?.key === undefined)) {
      throw new Error('an etcd client certificate needs its key, and a key its certificate');
    }
    this.#tls = options.tls;
    this.#endpoints = [...options.endpoints];
    this.#dialTimeoutMs = options.dialTimeoutMs ?? 10_000;
    this.#keepAliveIntervalMs = options.keepAliveIntervalMs ?? 30_000;
    this.#keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? 10_000;
    this.#callTimeoutMs = options.callTimeoutMs ?? 60_000;
  }

  /** One request, one response: the response message, or an EtcdError with etcd's status. */
  async call(method: EtcdMethod, request: Buffer): Promise<ProtoReader> {
    const stream = this.#request(await this.#connected(), method, methods[method]);
    return new Promise((resolve, reject) => {
      let response: Buffer | undefined;
      const reply = readReply(stream, method, (message) => {
        response ??= message;
      }, (incomplete) => {
        clearTimeout(deadline);
        const { failure, status } = reply;
        if (failure) reject(failure);
        else if (status && status.code !== 0) reject(new EtcdError(status.code, status.message || `etcd failed ${method} with gRPC status ${status.code}`));
        else if (!status) reject(new Error(`etcd ended ${method} without a gRPC status (stream reset with code ${stream.rstCode})`));
        else if (!response || incomplete) reject(new Error(`etcd answered ${method} without a complete message`));
        else resolve(new ProtoReader(response));
      });
      // A call that was sent may have been applied; the error says it timed out, not that it failed.
      const deadline = setTimeout(() => {
        reply.failure ??= new Error(`etcd did not answer ${method} within ${this.#callTimeoutMs} ms; it may or may not have been applied`);
        stream.close(constants.NGHTTP2_CANCEL);
      }, this.#callTimeoutMs);
      stream.end(grpcFrame(request));
    });
  }

  /** Opens a bidirectional call (etcd's Watch), resolving once the connection is there. */
  async stream(handlers: EtcdStreamHandlers): Promise<EtcdStream> {
    const stream = this.#request(await this.#connected(), 'watch', methods.watch, { endStream: false });
    let ended = false;
    const reply = readReply(stream, 'watch', (message) => {
      if (!ended) handlers.onMessage(new ProtoReader(message));
    }, () => {
      if (ended) return;
      ended = true;
      const { failure, status } = reply;
      handlers.onEnd(failure ?? (status && status.code !== 0
        ? new EtcdError(status.code, status.message || `etcd ended the watch with gRPC status ${status.code}`)
        : new Error('etcd ended the watch stream')));
    });
    return {
      send: (message) => {
        if (!ended && !stream.destroyed) stream.write(grpcFrame(message));
      },
      cancel: () => {
        ended = true;
        if (!stream.destroyed) stream.close(constants.NGHTTP2_CANCEL);
      },
    };
  }

  /** Starts a call on `session`; a session that can no longer start one is retired. */
  #request(session: ClientHttp2Session, method: string, headers: OutgoingHttpHeaders, options?: ClientSessionRequestOptions): ClientHttp2Stream {
    try {
      return session.request(headers, options);
    } catch (err) {
      this.#forget(session);
      throw callError(method, err);
    }
  }

  /** Closes the connection; calls in flight fail, and later ones are refused. */
  close(): void {
    this.#closed = true;
    const session = this.#session;
    this.#session = undefined;
    this.#live = undefined;
    void session?.then((s) => s.destroy(), () => undefined);
  }

  #connected(): Promise<ClientHttp2Session> {
    if (this.#closed) return Promise.reject(new Error('the etcd client is closed'));
    this.#session ??= this.#dialAny();
    return this.#session;
  }

  /** Dials the endpoints in turn from the last good one; fails only when none answers. */
  async #dialAny(): Promise<ClientHttp2Session> {
    const failures: string[] = [];
    for (let i = 0; i < this.#endpoints.length; i++) {
      const index = (this.#current + i) % this.#endpoints.length;
      const endpoint = this.#endpoints[index]!;
      try {
        const session = await this.#dial(endpoint);
        this.#current = index;
        this.#live = session;
        return session;
      } catch (err) {
        failures.push(`${endpoint}: ${(err as Error).message}`);
      }
    }
    this.#session = undefined;
    throw new Error(`cannot reach etcd (${failures.join('; ')})`);
  }

  #dial(endpoint: string): Promise<ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      // Large windows, so that a big list page is not paced by window updates.
      const session = connect(endpoint, {
        maxSessionMemory: 64,
        settings: { initialWindowSize: 8 * 1024 * 1024 },
        ...(this.#tls ? { ca: this.#tls.ca, cert: this.#tls.cert, key: this.#tls.key } : {}),
      });
      const timer = setTimeout(() => {
        session.destroy();
        reject(new Error(`no connection within ${this.#dialTimeoutMs} ms`));
      }, this.#dialTimeoutMs);
      const failed = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      // `on`, not `once`: a second error before the connection is up must not go unhandled.
      session.on('error', failed);
      session.once('connect', () => {
        clearTimeout(timer);
        session.off('error', failed);
        session.setLocalWindowSize(64 * 1024 * 1024);
        if (this.#closed) {
          session.destroy();
          reject(new Error('the etcd client is closed'));
          return;
        }
        // Once connected, a failure or a goaway only retires the connection: the calls on it fail
        // on their own streams, and the next call dials again.
        const retire = () => this.#forget(session);
        session.on('error', retire);
        session.on('goaway', retire);
        session.on('close', retire);
        this.#keepAlive(session, endpoint);
        resolve(session);
      });
    });
  }

  /** Pings the connection now and then; one that does not answer in time is destroyed. */
  #keepAlive(session: ClientHttp2Session, endpoint: string): void {
    const timer = setInterval(() => {
      if (session.destroyed) return;
      const deadline = setTimeout(() => {
        session.destroy(new Error(`etcd at ${endpoint} did not answer a ping within ${this.#keepAliveTimeoutMs} ms`));
      }, this.#keepAliveTimeoutMs);
      deadline.unref();
      const sent = session.ping((err) => {
        clearTimeout(deadline);
        if (err && !session.destroyed) session.destroy(err);
      });
      // A ping still unanswered from last time: its own deadline is running.
      if (!sent) clearTimeout(deadline);
    }, this.#keepAliveIntervalMs);
    timer.unref();
    session.once('close', () => clearInterval(timer));
  }

  #forget(session: ClientHttp2Session): void {
    if (this.#live === session) {
      this.#live = undefined;
      this.#session = undefined;
    }
    if (!session.destroyed && !session.closed) session.close();
  }
}

/** What a gRPC answer said about itself: the first thing that went wrong on the stream, and the status. */
interface Reply {
  failure: Error | undefined;
  status: { code: number; message: string } | undefined;
}

/**
 * Reads a gRPC answer on `stream`: each whole message goes to `onMessage` until something fails
 * (an HTTP status other than 200, a malformed frame, a stream error), and `onClose` runs once the
 * stream is closed, with the reply filled in and whether a message was left half-read.
 */
function readReply(stream: ClientHttp2Stream, method: string, onMessage: (message: Buffer) => void, onClose: (incomplete: boolean) => void): Reply {
  const reply: Reply = { failure: undefined, status: undefined };
  const frames = new FrameReader((message) => {
    if (!reply.failure) onMessage(message);
  });
  stream.on('response', (headers) => {
    if (headers[':status'] !== 200) reply.failure ??= new Error(`etcd answered ${method} with HTTP status ${headers[':status']}`);
    reply.status ??= statusOf(headers);
  });
  stream.on('data', (chunk: Buffer) => {
    try {
      frames.push(chunk);
    } catch (err) {
      reply.failure ??= err as Error;
      stream.close(constants.NGHTTP2_CANCEL);
    }
  });
  stream.on('trailers', (trailers) => {
    reply.status = statusOf(trailers) ?? reply.status;
  });
  stream.on('error', (err) => {
    reply.failure ??= callError(method, err);
  });
  stream.on('close', () => onClose(frames.incomplete));
  return reply;
}

function callError(method: string, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  // With TLS 1.3 a refused client certificate shows only as an alert on the first read.
  const alert = /tls alert (bad certificate|certificate required|unknown ca|certificate unknown)/i.exec(message);
  if (alert) {
    return new Error(`etcd ${method} call failed: etcd did not accept this client's certificate (TLS alert "${alert[1]!.toLowerCase()}"); `
      + 'it wants one signed by a CA it trusts (--etcd-cert and --etcd-key)', { cause: err });
  }
  return new Error(`etcd ${method} call failed: ${message}`, { cause: err });
}
