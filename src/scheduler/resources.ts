/**
 * Resource amounts as the scheduler counts them: CPU in millicores, memory and ephemeral storage
 * in bytes, a pod count, and extended resources (`nvidia.com/gpu`, hugepages) by name. Pods'
 * requests are worked out once per pod (see PodInfo); nodes keep running sums.
 */
import { quantityOr } from '../machinery/quantity.ts';

export const resourceCpu = 'cpu';
export const resourceMemory = 'memory';
export const resourceEphemeralStorage = 'ephemeral-storage';
export const resourcePods = 'pods';
export const resourceGpu = 'nvidia.com/gpu';

/** What a pod without a CPU request counts as when scoring (not when fitting), as upstream does. */
export const defaultMilliCpuRequest = 100;
/** What a pod without a memory request counts as when scoring: 200 MiB. */
export const defaultMemoryRequest = 200 * 1024 * 1024;

export class Resources {
  milliCpu = 0;
  memory = 0;
  ephemeralStorage = 0;
  /**
   * For allocatable, how many pods the node takes; for a change to a node (FilterPlugin's
   * filterWithDelta), how many pods it adds (negative: removes). `add` leaves it alone.
   */
  pods = 0;
  /** Extended resources by name; null when there are none, which is the common case. */
  scalar: Map<string, number> | null = null;

  /** The amount of `name`, 0 when absent. */
  get(name: string): number {
    switch (name) {
      case resourceCpu: return this.milliCpu;
      case resourceMemory: return this.memory;
      case resourceEphemeralStorage: return this.ephemeralStorage;
      case resourcePods: return this.pods;
      default: return this.scalar?.get(name) ?? 0;
    }
  }

  set(name: string, value: number): void {
    switch (name) {
      case resourceCpu: this.milliCpu = value; return;
      case resourceMemory: this.memory = value; return;
      case resourceEphemeralStorage: this.ephemeralStorage = value; return;
      case resourcePods: this.pods = value; return;
      default:
        if (!this.scalar) this.scalar = new Map();
        this.scalar.set(name, value);
    }
  }

  /** Adds (sign 1) or subtracts (sign -1) `other` into this. */
  add(other: Resources, sign = 1): void {
    this.milliCpu += sign * other.milliCpu;
    this.memory += sign * other.memory;
    this.ephemeralStorage += sign * other.ephemeralStorage;
    // Kept apart so this method stays small enough to inline in the scheduler's hot loops.
    if (other.scalar !== null) this.#addScalar(other.scalar, sign);
  }

  #addScalar(scalar: Map<string, number>, sign: number): void {
    if (!this.scalar) this.scalar = new Map();
    for (const [k, v] of scalar) this.scalar.set(k, (this.scalar.get(k) ?? 0) + sign * v);
  }

  /** Raises each amount to at least the one in `other` (init containers run one at a time). */
  max(other: Resources): void {
    this.milliCpu = Math.max(this.milliCpu, other.milliCpu);
    this.memory = Math.max(this.memory, other.memory);
    this.ephemeralStorage = Math.max(this.ephemeralStorage, other.ephemeralStorage);
    if (other.scalar) {
      if (!this.scalar) this.scalar = new Map();
      for (const [k, v] of other.scalar) this.scalar.set(k, Math.max(this.scalar.get(k) ?? 0, v));
    }
  }

  /** Sets every amount to 0 (no extended resources). */
  clear(): void {
    this.milliCpu = 0;
    this.memory = 0;
    this.ephemeralStorage = 0;
    this.pods = 0;
    this.scalar = null;
  }

  /** Makes this an exact copy of `other`. */
  copyFrom(other: Resources): void {
    this.milliCpu = other.milliCpu;
    this.memory = other.memory;
    this.ephemeralStorage = other.ephemeralStorage;
    this.pods = other.pods;
    this.scalar = other.scalar ? new Map(other.scalar) : null;
  }

  clone(): Resources {
    const copy = new Resources();
    copy.milliCpu = this.milliCpu;
    copy.memory = this.memory;
    copy.ephemeralStorage = this.ephemeralStorage;
    copy.pods = this.pods;
    copy.scalar = this.scalar ? new Map(this.scalar) : null;
    return copy;
  }

  /** Reads a `resources.requests`-style record (`{ cpu: '500m', memory: '1Gi' }`); malformed amounts count as 0. */
  static fromList(list: unknown): Resources {
    const r = new Resources();
    if (list === null || typeof list !== 'object') return r;
    for (const [name, raw] of Object.entries(list as Record<string, unknown>)) {
      const value = quantityOr(raw, 0);
      if (name === resourceCpu) r.milliCpu = Math.round(value * 1000);
      else if (name === resourcePods) r.pods = Math.floor(value);
      else r.set(name, value);
    }
    return r;
  }
}
