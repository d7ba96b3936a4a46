/** HTTP/2 requests and watches against a hub, for tests: what client-go does over one connection. */
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { startTestHub, type TestHub } from './hub.ts';

/** A test hub and an HTTP/2 session to it, trusting the CA in its home; connection errors are left to the requests. */
export async function startHubOverH2(): Promise<{ hub: TestHub; session: ClientHttp2Session }> {
  const hub = await startTestHub();
  const session = connect(hub.url, { ca: readFileSync(join(hub.home, 'pki', 'ca.crt'), 'utf8') });
  session.on('error', () => undefined);
  return { hub, session };
}

export async function stopHubOverH2(running: { hub: TestHub; session: ClientHttp2Session }): Promise<void> {
  running.session.close();
  await running.hub.close();
}

export interface H2Response { status: number; headers: Record<string, unknown>; body: string }

export function h2Request(session: ClientHttp2Session, method: string, path: string, options: { token?: string; body?: string; contentType?: string } = {}): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': method,
      ':path': path,
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
    });
    let headers: Record<string, unknown> = {};
    let body = '';
    req.on('response', (h) => (headers = h));
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface H2WatchEvent {
  type: string;
  object: { kind?: string; metadata: { name: string; resourceVersion?: string }; data?: Record<string, string>; rows?: unknown[] };
}

/** Opens a watch over HTTP/2 and collects its events as they come. */
export function h2Watch(session: ClientHttp2Session, path: string, token: string, headers: Record<string, string> = {}) {
  const events: H2WatchEvent[] = [];
  let status = 0;
  let rest = '';
  const req = session.request({ ':path': path, authorization: `Bearer ${token}`, ...headers });
  req.on('response', (h) => (status = Number(h[':status'])));
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => {
    rest += chunk;
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
      events.push(JSON.parse(rest.slice(0, nl)));
      rest = rest.slice(nl + 1);
    }
  });
  req.on('error', () => undefined);
  return { events, status: () => status, close: () => req.close() };
}
