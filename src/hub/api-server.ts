/**
 * The TLS server a hub (or a simulated member) serves its API on. It speaks HTTP/2 to clients
 * that offer it in ALPN (kubectl, client-go, browsers), so that many requests and watches share
 * one connection as they do with kube-apiserver, and HTTP/1.1 to every other client.
 */
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ApiServer {
  readonly server: Http2SecureServer;
  /** Drops every open connection, whatever it is doing (for shutdown, after `close`). */
  closeAllConnections(): void;
}

/**
 * Streams one client may have open on one HTTP/2 connection: kube-apiserver's default for
 * `--http2-max-streams-per-connection`, enough for a process's informers to share a connection.
 */
export const maxStreamsPerConnection = 1000;

export function createApiServer(tls: { cert: string; key: string }, handle: (req: IncomingMessage, res: ServerResponse) => void): ApiServer {
  // Node's HTTP/2 compatibility request and response implement what the handler uses of the
  // HTTP/1.1 pair (headers, status, write, end, 'close'); where a watch writes below the
  // response it tells the two apart itself (see WatchStream).
  const server = createSecureServer({
    cert: tls.cert,
    key: tls.key,
    allowHTTP1: true,
    // A thousand watches on one connection may queue a lot for a slow reader; each watch
    // is cut off on its own past its limit, well before this one.
    maxSessionMemory: 64,
    settings: { maxConcurrentStreams: maxStreamsPerConnection },
  }, handle as unknown as (req: unknown, res: unknown) => void);
  // The HTTP/1.1 side reads its limits from the server, as an https.Server would have them.
  Object.assign(server, { keepAliveTimeout: 65_000, headersTimeout: 70_000, requestTimeout: 60_000, maxHeaderSize: 64 * 1024 });
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: Socket) => {
    socket.setKeepAlive(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    server,
    closeAllConnections() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
