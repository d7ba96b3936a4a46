/**
 * A hub running in a child process (bench/hub-main.ts), as the API benchmark drives it.
 * `startHubProcess` resolves once the hub serves; `stop` ends it and waits for the process to exit.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HubProcessOptions {
  /** The hub's home directory (the caller creates and removes it). */
  home: string;
  /** The hub's `--store` value: `sqlite` or `etcd://HOST:PORT`; `bare` starts the bare HTTPS server instead (see hub-main.ts). */
  store: string;
  /** For `bare`: the size of the fixed response body. */
  bodyBytes?: number;
}

export interface HubProcess {
  readonly url: string;
  readonly token: string;
  /** The hub's CA certificate, to verify its serving certificate. */
  readonly caPem: string;
  /** The hub's process id. */
  readonly pid: number;
  /** CPU time (user + system) the hub process has used so far, in milliseconds. */
  cpuMillis(): Promise<number>;
  /** The hub's JavaScript heap in use right after a full garbage collection, in bytes. */
  heapBytes(): Promise<number>;
  /** Starts the hub's V8 CPU profiler. */
  startProfile(): Promise<void>;
  /** Stops the profiler and has the hub write the profile to `file` (a .cpuprofile). */
  stopProfile(file: string): Promise<void>;
  /** Stops the hub and waits for its process to exit. Idempotent. */
  stop(): Promise<void>;
}

const startTimeoutMs = 60_000;

export async function startHubProcess(options: HubProcessOptions): Promise<HubProcess> {
  // The child's output goes to our stderr: stdout belongs to the report (`--json`).
  const child = fork(fileURLToPath(new URL('./hub-main.ts', import.meta.url)), [options.home, options.store, ...(options.bodyBytes === undefined ? [] : [String(options.bodyBytes)])], { execArgv: [], stdio: ['ignore', 2, 2, 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let ready: { url: string; token: string };
  try {
    ready = await waitForReady(child);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  const caPem = readFileSync(join(options.home, 'pki', 'ca.crt'), 'utf8');
  let stopped: Promise<void> | undefined;
  return {
    url: ready.url,
    token: ready.token,
    caPem,
    pid: child.pid!,
    cpuMillis: async () => ((await ask<{ micros: number }>(child, { type: 'cpu' }, 'cpu')).micros) / 1000,
    heapBytes: async () => (await ask<{ bytes: number }>(child, { type: 'heap' }, 'heap')).bytes,
    startProfile: async () => {
      await ask(child, { type: 'profile-start' }, 'profile-started');
    },
    stopProfile: async (file: string) => {
      await ask(child, { type: 'profile-stop', file }, 'profile-stopped');
    },
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.send({ type: 'stop' });
          const killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(killTimer);
        }
      })();
      return stopped;
    },
  };
}

/** Sends `message` to the hub process and resolves with its first answer of type `answer`. */
function ask<T>(child: ChildProcess, message: Record<string, unknown>, answer: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: { type?: string }) => {
      if (reply.type !== answer) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(reply as T);
    };
    const onExit = () => {
      child.off('message', onMessage);
      reject(new Error(`the hub process exited before answering ${String(message.type)}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(message);
  });
}

function waitForReady(child: ChildProcess): Promise<{ url: string; token: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the hub did not start within ${startTimeoutMs / 1000} s`)), startTimeoutMs);
    child.on('message', (message: { type?: string; url?: string; token?: string }) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      resolve({ url: message.url!, token: message.token! });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the hub process exited before it was ready (${code ?? signal})`));
    });
  });
}
