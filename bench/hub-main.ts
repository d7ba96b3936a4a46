/**
 * Entry point of the hub under benchmark, run by `startHubProcess` in a process of its own so that
 * the load generator's TLS and JSON work never shares the hub's event loop. Arguments: the home
 * directory and the `--store` value. Over IPC it sends `{ type: 'ready', url, token }` once the hub
 * serves, answers `{ type: 'cpu' }` with its CPU time so far, and on `{ type: 'stop' }` (or when
 * the parent goes away) stops the hub and exits. `{ type: 'profile-start' }` starts the V8 CPU
 * profiler and `{ type: 'profile-stop', file }` writes what it sampled to `file` (a .cpuprofile for
 * Chrome DevTools), answering `{ type: 'profile-stopped' }`: one profile per benchmark phase.
 * `{ type: 'heap' }` runs a full garbage collection and answers `{ type: 'heap', bytes }`, the
 * JavaScript heap then in use: what the live objects take, without the garbage of the moment.
 *
 * With the store `bare` it starts no hub but the least an HTTPS API server can be: Node's HTTPS
 * server with the hub's kind of certificate and keep-alive settings, reading each request's body
 * and answering with a fixed JSON body of `BODY_BYTES` bytes (the third argument). The benchmark
 * measures it as the floor under any API on this machine and runtime.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createServer } from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startHub } from '../src/hub/hub.ts';
import { ensureServingCertificates } from '../src/hub/security/tls.ts';

const [home, store, bodyBytes] = process.argv.slice(2);
if (!home || !store || !process.send) {
  console.error('usage: node bench/hub-main.ts HOME STORE (started by bench/hub-process.ts with an IPC channel)');
  process.exit(2);
}

const hub = store === 'bare' ? await startBareServer(home, Number(bodyBytes ?? 600)) : await startHub({ home, port: 0, store });

async function startBareServer(dir: string, bytes: number): Promise<{ url: string; token: string; stop(): Promise<void> }> {
  const certs = await ensureServingCertificates(dir, ['127.0.0.1']);
  const body = JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: {}, data: { payload: 'x'.repeat(Math.max(0, bytes - 70)) } });
  const server = createServer({ cert: certs.certPem, key: certs.keyPem, keepAlive: true }, (req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'Content-Type': 'application/json' });
      res.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token: 'unused',
    stop: async () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
let stopping = false;
const stop = async (code: number): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await hub.stop().catch((err: unknown) => console.error('hub stop failed:', err));
  // process.exit rather than waiting for the loop to drain: --cpu-prof writes its profile on exit.
  process.exit(code);
};

let profiler: Session | undefined;

async function startProfile(): Promise<void> {
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}

async function stopProfile(file: string): Promise<void> {
  if (!profiler) throw new Error('the profiler was not started');
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(file, JSON.stringify(profile));
  profiler.disconnect();
  profiler = undefined;
}

async function heapInUse(): Promise<number> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.collectGarbage');
  } finally {
    session.disconnect();
  }
  return process.memoryUsage().heapUsed;
}

process.on('message', (message: { type?: string; file?: string }) => {
  if (message.type === 'profile-start') {
    startProfile().then(() => process.send!({ type: 'profile-started' }), (err: unknown) => console.error('profile start failed:', err));
  } else if (message.type === 'profile-stop') {
    stopProfile(message.file!).then(() => process.send!({ type: 'profile-stopped' }), (err: unknown) => console.error('profile stop failed:', err));
  } else if (message.type === 'heap') {
    heapInUse().then((bytes) => process.send!({ type: 'heap', bytes }), (err: unknown) => console.error('heap measurement failed:', err));
  } else if (message.type === 'cpu') {
    const usage = process.cpuUsage();
    process.send!({ type: 'cpu', micros: usage.user + usage.system });
  } else if (message.type === 'stop') {
    void stop(0);
  }
});
process.on('disconnect', () => void stop(0));
process.send({ type: 'ready', url: hub.url, token: hub.token });
