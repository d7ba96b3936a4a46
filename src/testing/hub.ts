/**
 * Test fixtures for a running hub: a hub in this process on a free port with a temporary home,
 * and small helpers to call it with kubectl or fetch.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:https';
import { startHub, type Hub, type HubOptions } from '../hub/hub.ts';

export interface TestHub extends Hub {
  /** Runs kubectl against the hub; resolves with stdout, stderr and the exit code (never rejects). */
  kubectl(args: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }>;
  /** An HTTPS request to the hub with the admin token (unless `token` is given as ''). */
  call(method: string, path: string, options?: { body?: string | Buffer; headers?: Record<string, string>; token?: string }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string; json(): any }>;
  /** Stops the hub and removes its home (unless `keepHome`). */
  close(keepHome?: boolean): Promise<void>;
}

export async function startTestHub(options: Partial<HubOptions> = {}): Promise<TestHub> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'nephele-hub-'));
  const hub = await startHub({ home, port: 0, store: 'memory', ...options });
  const ca = (await import('node:fs')).readFileSync(join(home, 'pki', 'ca.crt'), 'utf8');
  const agent = new Agent({ ca, keepAlive: true, maxSockets: 64 });
  return {
    ...hub,
    kubectl(args: string[], input?: string) {
      return new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
        const child = execFile('kubectl', ['--kubeconfig', hub.kubeconfigPath, ...args], { timeout: 60_000, maxBuffer: 32 * 1024 * 1024, env: { ...process.env, KUBECACHEDIR: join(home, 'kube-cache') } }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? Number((err as { code?: unknown }).code) : 1) : 0;
          resolve({ stdout, stderr, code });
        });
        if (input !== undefined) child.stdin?.end(input);
      });
    },
    call(method: string, path: string, opts: { body?: string | Buffer; headers?: Record<string, string>; token?: string } = {}) {
      return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string; json(): any }>((resolve, reject) => {
        const headers: Record<string, string> = { ...(opts.headers ?? {}) };
        const token = opts.token ?? hub.token;
        if (token) headers.authorization = `Bearer ${token}`;
        if (opts.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = String(Buffer.byteLength(opts.body));
        const req = request(`${hub.url}${path}`, { method, agent, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(opts.body);
      });
    },
    async close(keepHome = false) {
      agent.destroy();
      await hub.stop();
      if (!keepHome && !options.home) rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Writes text to a temporary file and returns its path (for `kubectl -f`). */
export function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nephele-file-'));
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
