/**
 * A lean HTTPS client for the hub's REST API, as a benchmark needs it: keep-alive connections from
 * one Agent, the bearer token on every request, and the body handed back as text so the caller
 * parses only what it uses.
 */
import { Agent, request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';

export interface HubResponse {
  status: number;
  text: string;
}

export class HubClient {
  readonly agent: Agent;
  readonly #base: RequestOptions;

  /** `maxSockets` bounds the connections, so it is also the most requests in flight at once. */
  constructor(url: string, token: string, caPem: string, maxSockets: number) {
    const { hostname, port } = new URL(url);
    this.agent = new Agent({ ca: caPem, keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    this.#base = { hostname, port: Number(port), agent: this.agent, headers: { authorization: `Bearer ${token}`, accept: 'application/json' } };
  }

  /** Sends one request and resolves with its status and body; `onSent` runs just before the body goes out. */
  send(method: string, path: string, body?: string, onSent?: () => void): Promise<HubResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...(this.#base.headers as Record<string, string>) };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = request({ ...this.#base, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      onSent?.();
      req.end(body);
    });
  }

  /** Like `send`, but a status other than `expected` is an error that quotes the response. */
  async expect(expected: number, method: string, path: string, body?: string, onSent?: () => void): Promise<string> {
    const response = await this.send(method, path, body, onSent);
    if (response.status !== expected) {
      throw new Error(`${method} ${path}: expected ${expected}, got ${response.status}: ${response.text.slice(0, 500)}`);
    }
    return response.text;
  }

  /** Opens a streaming GET (a watch) and resolves with the response once its headers arrive. */
  stream(path: string, agent: Agent): Promise<{ res: IncomingMessage; close(): void }> {
    return new Promise((resolve, reject) => {
      const req = request({ ...this.#base, agent, method: 'GET', path }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`GET ${path}: expected 200, got ${res.statusCode}`));
          return;
        }
        resolve({ res, close: () => req.destroy() });
      });
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
