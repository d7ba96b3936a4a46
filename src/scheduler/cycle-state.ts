/**
 * CycleState carries what plugins compute for one pod in one scheduling cycle: PreFilter and
 * PreScore write it once, Filter and Score read it per node. It dies with the cycle. Values that
 * preemption's dry runs change must have a `clone()` method, so a dry run never touches the
 * cycle's own data.
 */
export interface Cloneable {
  clone(): Cloneable;
}

export class CycleState {
  #data = new Map<string, unknown>();
  /** Filter plugins whose PreFilter returned Skip in this cycle. */
  skipFilter = new Set<string>();
  /** Internal: the Filter plugins left after PreFilter's skips, set by the framework. */
  filters: unknown[] | undefined;
  /** Internal: the PreFilter plugins with addPod/removePod left after the skips, set by the framework. */
  preFilterExtensions: unknown[] | undefined;
  /** Internal: the filters that read placed pods when all judge by arithmetic, else null; set by the framework. */
  podFilters: unknown[] | null | undefined;
  /** Score plugins whose PreScore returned Skip in this cycle. */
  skipScore = new Set<string>();

  /** The value under `key`, or undefined when no plugin wrote one this cycle. */
  read<T>(key: string): T | undefined {
    return this.#data.get(key) as T | undefined;
  }

  write(key: string, value: unknown): void {
    this.#data.set(key, value);
  }

  delete(key: string): void {
    this.#data.delete(key);
  }

  /** A copy whose cloneable values are deep enough that changing the copy leaves this state alone. */
  clone(): CycleState {
    const copy = new CycleState();
    for (const [k, v] of this.#data) {
      copy.#data.set(k, v !== null && typeof v === 'object' && typeof (v as Partial<Cloneable>).clone === 'function' ? (v as Cloneable).clone() : v);
    }
    copy.skipFilter = new Set(this.skipFilter);
    copy.skipScore = new Set(this.skipScore);
    copy.filters = this.filters;
    copy.preFilterExtensions = this.preFilterExtensions;
    copy.podFilters = this.podFilters;
    return copy;
  }
}
