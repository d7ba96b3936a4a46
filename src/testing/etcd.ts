/**
 * A throwaway etcd for tests: `startEtcd` launches the etcd binary on free loopback ports with a
 * temporary data directory, resolves once it reports healthy, and `stop` kills it and removes the
 * directory. Each call starts its own single-member cluster; nothing is shared between callers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface TestEtcd {
  /** The client URL, e.g. `http://127.0.0.1:40123` (`https://` when started with `tls`). */
  endpoint: string;
  /** Stops etcd and deletes its data. Idempotent. */
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  /**
   * How often etcd tells idle watches how far it got (`--experimental-watch-progress-notify-interval`).
   * Short by default here so store bookmarks advance within a test; production etcd defaults to 10m.
   */
  progressNotifyIntervalMs?: number;
  /** How long to wait for etcd to become healthy. Default 20 s. */
  startTimeoutMs?: number;
  /**
   * Serve clients over TLS with this certificate (PEM), and require each client to present one
   * that chains to `caPem` (`--client-cert-auth`), as a production etcd is run.
   */
  tls?: { caPem: string; certPem: string; keyPem: string };
}

const howToGetEtcd = 'install it with `apt-get install etcd-server` (Debian/Ubuntu), or run `.ci/run`, which installs it; '
  + 'or point ETCD_BIN at an etcd binary';

/** The etcd binary the tests would run: $ETCD_BIN, else `etcd` on PATH, else /usr/bin/etcd. */
export function etcdBinary(): string | undefined {
  const candidates = [
    process.env.ETCD_BIN,
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'etcd')),
    '/usr/bin/etcd',
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not there or not executable: try the next place.
    }
  }
  return undefined;
}

/** True when an etcd binary is installed, so etcd-backed tests can run. */
export function etcdAvailable(): boolean {
  return etcdBinary() !== undefined;
}

export async function startEtcd(options: StartEtcdOptions = {}): Promise<TestEtcd> {
  const binary = etcdBinary();
  if (!binary) throw new Error(`etcd is not installed: ${howToGetEtcd}`);
  const [clientPort, peerPort, metricsPort] = await freePorts(3);
  const endpoint = `${options.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  // Health is asked on a plain metrics listener, so it needs no client certificate.
  const metrics = `http://127.0.0.1:${metricsPort}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'nephele-etcd-'));
  const tlsArgs: string[] = [];
  if (options.tls) {
    const files = { ca: join(dataDir, 'ca.crt'), cert: join(dataDir, 'server.crt'), key: join(dataDir, 'server.key') };
    writeFileSync(files.ca, options.tls.caPem);
    writeFileSync(files.cert, options.tls.certPem);
    writeFileSync(files.key, options.tls.keyPem, { mode: 0o600 });
    tlsArgs.push('--cert-file', files.cert, '--key-file', files.key, '--trusted-ca-file', files.ca, '--client-cert-auth');
  }
  const args = [
    ...tlsArgs,
    '--listen-metrics-urls', metrics,
    '--name', 'test',
    '--data-dir', dataDir,
    '--listen-client-urls', endpoint,
    '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `test=${peer}`,
    '--initial-cluster-state', 'new',
    '--experimental-watch-progress-notify-interval', `${options.progressNotifyIntervalMs ?? 200}ms`,
    '--logger', 'zap',
    '--log-level', 'error',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-4_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await terminate(child, exited);
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await waitHealthy(metrics, child, options.startTimeoutMs ?? 20_000);
  } catch (err) {
    await stop();
    throw new Error(`etcd did not start: ${(err as Error).message}\n${log}`);
  }
  return { endpoint, stop };
}

async function waitHealthy(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`etcd exited (${child.exitCode ?? child.signalCode})`);
    }
    try {
      const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = (await response.json()) as { health?: string };
      if (response.ok && body.health === 'true') return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`not healthy after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killTimer);
}

/**
 * Ports the OS just handed out and released. Another process could take one before etcd binds it;
 * that race is rare enough on a test machine, and etcd then fails loudly rather than misbehaving.
 */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}
