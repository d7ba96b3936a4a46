/**
 * Clock is the one source of time. The hub runs on the real clock; simulations and tests inject a
 * manual or accelerated one, so timeouts, lease expiry and schedules are tested without sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** RFC 3339 timestamp with second precision, as Kubernetes writes metadata times. */
  nowIso(): string;
}

/** The last second formatted: a busy hub stamps many objects within one second. */
let formattedSecond = Number.NaN;
let formatted = '';

export function toKubeTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== formattedSecond) {
    formatted = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
    formattedSecond = second;
  }
  return formatted;
}

export const realClock: Clock = {
  now: () => Date.now(),
  nowIso: () => toKubeTime(Date.now()),
};

/** A clock that moves only when told to; `advance` is for tests and simulations. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  nowIso(): string {
    return toKubeTime(this.#now);
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}
