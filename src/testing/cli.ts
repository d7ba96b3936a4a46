/**
 * Runs the `nephele` command as a user would (bin/nephele.js under this Node), without blocking
 * the event loop, so a hub in the same test process keeps serving while the command talks to it.
 */
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

export const cliPath = fileURLToPath(new URL('../../bin/nephele.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in `cwd` (a temporary directory by default); resolves with its exit code (-1 when killed) and output. */
export function runCli(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { cwd: options.cwd ?? tmpdir(), timeout: options.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? Number((err as { code?: unknown }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
