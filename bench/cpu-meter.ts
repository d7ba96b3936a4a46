/**
 * CPU meters: how much CPU time each process taking part in a benchmark used during a phase, so a
 * report can say which one was saturated (the thing under test, the load generator, or etcd).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface CpuMeter {
  /** Who is measured, as the report names it: `hub`, `load generator`, `etcd`. */
  name: string;
  /** CPU time (user + system) used so far, in milliseconds. */
  millis(): Promise<number>;
}

/** This process. */
export const selfCpuMeter: CpuMeter = {
  name: 'load generator',
  millis: async () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  },
};

/**
 * The etcd serving `endpoint`, found by its command line in /proc; undefined where there is no
 * /proc (not Linux) or no such process. Best effort: it only adds a column to the report.
 */
export function etcdCpuMeter(endpoint: string): CpuMeter | undefined {
  const pid = findProcess((args) => args.some((arg, i) => arg === '--listen-client-urls' && args[i + 1] === endpoint));
  if (pid === undefined) return undefined;
  const ticksPerSecond = clockTicks();
  return {
    name: 'etcd',
    millis: async () => {
      // Fields after the command name, which is in parentheses and may hold spaces.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
    },
  };
}

/**
 * How long a process's main thread has so far waited, runnable, for a CPU, in milliseconds (the
 * second field of Linux's schedstat); undefined where the kernel does not say. Time the hub was
 * ready to work but another process (the load generator, etcd) held both cores shows up here,
 * not in its CPU time, and it adds directly to every latency measured meanwhile.
 */
export function runQueueWaitMillis(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ');
    const waitedNs = Number(fields[1]);
    return Number.isFinite(waitedNs) ? waitedNs / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** Every meter's reading, in order. */
export async function readMeters(meters: CpuMeter[]): Promise<number[]> {
  return Promise.all(meters.map((m) => m.millis()));
}

/** Each meter's use between two readings, in % of one core over `elapsedMs`. */
export function cpuPercent(before: number[], after: number[], elapsedMs: number): number[] {
  return before.map((b, i) => ((after[i]! - b) / elapsedMs) * 100);
}

function findProcess(matches: (args: string[]) => boolean): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (matches(args)) return Number(entry);
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return undefined;
}

function clockTicks(): number {
  const run = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number(run.stdout?.trim());
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
}
