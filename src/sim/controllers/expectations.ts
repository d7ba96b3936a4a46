/**
 * Expectations, as Kubernetes' workload controllers keep them: after a controller creates or
 * deletes pods it waits until its informer has seen those changes before it counts pods again, so
 * a cache that lags the API never makes it create or delete twice. Expectations expire after
 * `ttlMs` in case an event is lost.
 */
export class Expectations {
  readonly #pending = new Map<string, { adds: number; deletes: Set<string>; at: number }>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(now: () => number, ttlMs = 5 * 60_000) {
    this.#now = now;
    this.#ttlMs = ttlMs;
  }

  /** True when the owner's cache reflects everything it asked for (or the wait expired). */
  satisfied(owner: string): boolean {
    const e = this.#pending.get(owner);
    if (!e) return true;
    if ((e.adds <= 0 && e.deletes.size === 0) || this.#now() - e.at > this.#ttlMs) {
      this.#pending.delete(owner);
      return true;
    }
    return false;
  }

  expectAdds(owner: string, count: number): void {
    this.#entry(owner).adds += count;
  }

  expectDeletes(owner: string, podKeys: string[]): void {
    const e = this.#entry(owner);
    for (const key of podKeys) e.deletes.add(key);
  }

  /** A create that failed will never be observed. */
  addFailed(owner: string): void {
    this.observedAdd(owner);
  }

  observedAdd(owner: string): void {
    const e = this.#pending.get(owner);
    if (e) e.adds--;
  }

  observedDelete(owner: string, podKey: string): void {
    this.#pending.get(owner)?.deletes.delete(podKey);
  }

  forget(owner: string): void {
    this.#pending.delete(owner);
  }

  #entry(owner: string): { adds: number; deletes: Set<string>; at: number } {
    let e = this.#pending.get(owner);
    if (!e) {
      e = { adds: 0, deletes: new Set(), at: this.#now() };
      this.#pending.set(owner, e);
    }
    e.at = this.#now();
    return e;
  }
}
