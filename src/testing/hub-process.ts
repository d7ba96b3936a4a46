/**
 * Test fixtures for a hub in its own process: `nephele up` spawned as a child (so tests can kill
 * it with SIGKILL or SIGTERM, and restart it on the same home), and an HTTPS client for it that
 * trusts the hub's CA and sends its admin token.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { waitFor } from './wait.ts';

const nepheleBin = resolve(fileURLToPath(import.meta.url), '../../../bin/nephele.js');

/** A TCP port that was free a moment ago on 127.0.0.1 (the OS picks it; nothing holds it now). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export interface HubProcessOptions {
  home: string;
  port: number;
  /** The `--store` flag; default `sqlite`. */
  store?: string;
  /** More flags for `up` (e.g. `--etcd-ca FILE`). */
  extraArgs?: string[];
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface HubProcess {
  readonly child: ChildProcess;
  readonly home: string;
  readonly port: number;
  readonly url: string;
  /** Settles when the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>;
  /** Everything the process printed so far. */
  output(): { stdout: string; stderr: string };
  /**
   * Resolves once GET /readyz answers 200 over HTTPS with the hub's CA; rejects if the process
   * exits first or `timeoutMs` passes.
   */
  ready(timeoutMs?: number): Promise<void>;
  /** Waits for the process to exit; rejects after `timeoutMs` (default 10 s). */
  waitForExit(timeoutMs?: number): Promise<ProcessExit>;
  /** Sends a signal (unless the process has exited) and waits for the exit, as `waitForExit`. */
  kill(signal: NodeJS.Signals, timeoutMs?: number): Promise<ProcessExit>;
}

/** Spawns `node bin/nephele.js up --home HOME --listen 127.0.0.1:PORT --store STORE [extraArgs...]`. */
export function spawnHubProcess(options: HubProcessOptions): HubProcess {
  const args = [nepheleBin, 'up', '--home', options.home, '--listen', `127.0.0.1:${options.port}`, '--store', options.store ?? 'sqlite', ...(options.extraArgs ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => { stdout += text; });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => { stderr += text; });
  let exit: ProcessExit | undefined;
  const exited = new Promise<ProcessExit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolveExit(exit);
    });
  });
  const url = `https://127.0.0.1:${options.port}`;
  const describe = () => `exit ${JSON.stringify(exit)}, stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`;
  return {
    child,
    home: options.home,
    port: options.port,
    url,
    exited,
    output: () => ({ stdout, stderr }),
    async ready(timeoutMs = 15_000) {
      await waitFor('the hub process to answer /readyz with 200', async () => {
        if (exit) throw new Error(`the hub process exited before it was ready: ${describe()}`);
        let ca: string;
        try {
          ca = readFileSync(join(options.home, 'pki', 'ca.crt'), 'utf8');
        } catch {
          return false;
        }
        const agent = new Agent({ ca, keepAlive: false });
        try {
          const res = await httpsRequest(agent, 'GET', `${url}/readyz`, {});
          return res.status === 200;
        } catch {
          return false;
        } finally {
          agent.destroy();
        }
      }, { timeoutMs, intervalMs: 50, describe });
    },
    waitForExit,
    kill(signal, timeoutMs) {
      if (!exit) child.kill(signal);
      return waitForExit(timeoutMs);
    },
  };

  async function waitForExit(timeoutMs = 10_000): Promise<ProcessExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the hub process did not exit within ${timeoutMs} ms: ${describe()}`)), timeoutMs);
    });
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface HubResponse {
  status: number;
  body: string;
  json(): any;
}

/**
 * An HTTPS client for a hub's home: trusts `home/pki/ca.crt` and sends the admin token from
 * `home/kubeconfig`. Each client has its own connection pool (`maxSockets` connections, kept
 * alive), so several clients are several concurrent writers.
 */
export interface HubClient {
  call(method: string, path: string, body?: unknown): Promise<HubResponse>;
  close(): void;
}

export function hubClient(home: string, url: string, options: { maxSockets?: number } = {}): HubClient {
  const ca = readFileSync(join(home, 'pki', 'ca.crt'), 'utf8');
  const token = adminToken(home);
  const agent = new Agent({ ca, keepAlive: true, maxSockets: options.maxSockets ?? 1 });
  return {
    call(method, path, body) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      let text: string | undefined;
      if (body !== undefined) {
        text = typeof body === 'string' ? body : JSON.stringify(body);
        headers['content-type'] = 'application/json';
      }
      return httpsRequest(agent, method, `${url}${path}`, headers, text);
    },
    close: () => agent.destroy(),
  };
}

/** The bearer token of the admin user in `home/kubeconfig`. */
export function adminToken(home: string): string {
  const config = parseYaml(readFileSync(join(home, 'kubeconfig'), 'utf8')) as { users?: { user?: { token?: string } }[] };
  const token = config.users?.[0]?.user?.token;
  if (!token) throw new Error(`no token in ${join(home, 'kubeconfig')}`);
  return token;
}

function httpsRequest(agent: Agent, method: string, url: string, headers: Record<string, string>, body?: string): Promise<HubResponse> {
  return new Promise((resolveResponse, reject) => {
    const req = request(url, { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolveResponse({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
