/**
 * Entry point of the hub under benchmark, run by `startHubProcess` in a process of its own so that
 * the load generator's TLS and JSON work never shares the hub's event loop. Arguments: the home
 * directory and the `--store` value. Over IPC it sends `{ type: 'ready', url, token }` once the hub
 * serves, answers `{ type: 'cpu' }` with its CPU time so far, and on `{ type: 'stop' }` (or when
 * the parent goes away) stops the hub and exits. `{ type: 'profile-start' }` starts the V8 CPU
 * profiler and `{ type: 'profile-stop', file }` writes what it sampled to `file` (a .cpuprofile for
 * Chrome DevTools), answering `{ type: 'profile-stopped' }`: one profile per benchmark phase.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startHub } from '../src/hub/hub.ts';

const [home, store] = process.argv.slice(2);
if (!home || !store || !process.send) {
  console.error('usage: node bench/hub-main.ts HOME STORE (started by bench/hub-process.ts with an IPC channel)');
  process.exit(2);
}

const hub = await startHub({ home, port: 0, store });
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

process.on('message', (message: { type?: string; file?: string }) => {
  if (message.type === 'profile-start') {
    startProfile().then(() => process.send!({ type: 'profile-started' }), (err: unknown) => console.error('profile start failed:', err));
  } else if (message.type === 'profile-stop') {
    stopProfile(message.file!).then(() => process.send!({ type: 'profile-stopped' }), (err: unknown) => console.error('profile stop failed:', err));
  } else if (message.type === 'cpu') {
    const usage = process.cpuUsage();
    process.send!({ type: 'cpu', micros: usage.user + usage.system });
  } else if (message.type === 'stop') {
    void stop(0);
  }
});
process.on('disconnect', () => void stop(0));
process.send({ type: 'ready', url: hub.url, token: hub.token });
