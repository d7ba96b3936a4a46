/**
 * Waiting on a condition in tests, with a deadline instead of a fixed sleep.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this long; default 10 s. */
  timeoutMs?: number;
  /** Pause between probes; default 25 ms. */
  intervalMs?: number;
  /** Describes the state seen last, for the timeout message. */
  describe?: () => string;
}

/**
 * Resolves with the first value `probe` returns that is neither undefined nor false. Throws,
 * naming `what` (and `describe()`), once `timeoutMs` passes without one. A probe that throws
 * fails the wait at once.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${options.describe ? `; last seen: ${options.describe()}` : ''}`);
    }
    await sleep(options.intervalMs ?? 25);
  }
}
