/**
 * JsonInterner makes deep-frozen copies of JSON values in which equal parts are one shared
 * object (hash-consing). Objects a store keeps are mostly alike: pods from one template share
 * their spec, labels, owner references, tolerations, conditions and the managedFields written by
 * the same managers, and each version of an object shares everything that did not change with the
 * version before. Sharing those parts keeps a store's memory near what is actually different.
 *
 * The pool of known parts is generational: a part found in the pool moves to the young
 * generation, and when the young generation is full the old one is dropped. Parts in use are
 * therefore kept for sharing while parts of deleted or superseded objects are forgotten, and the
 * pool never holds more than twice `capacity` parts. Forgetting only loses sharing, never values.
 *
 * What `intern` returns follows JSON: properties whose value is undefined are left out, and values
 * that are not plain objects, arrays, strings, finite numbers, booleans or null are copied as
 * JSON.stringify would write them.
 */

export interface JsonInternerOptions {
  /** Parts per generation of the pool. Default 16,384. */
  capacity?: number;
  /** Strings longer than this are not pooled (they are shared by reference all the same). Default 256. */
  maxPooledString?: number;
}

export class JsonInterner {
  readonly #capacity: number;
  readonly #maxPooledString: number;
  #young = new Map<number, unknown>();
  #old = new Map<number, unknown>();
  #youngStrings = new Map<string, string>();
  #oldStrings = new Map<string, string>();
  /** The hash of the value `#walk` returned last. */
  #hash = 0;
  /** Object shapes (key lists) by the hash of their keys, each with a factory once it recurs. */
  readonly #shapes = new Map<number, Shape>();

  constructor(options: JsonInternerOptions = {}) {
    this.#capacity = options.capacity ?? 16_384;
    this.#maxPooledString = options.maxPooledString ?? 256;
  }

  /** A deep-frozen copy of `value` that shares equal parts with values interned before. */
  intern<T>(value: T): T {
    return this.#walk(value) as T;
  }

  /** How many parts the pool holds now (both generations). */
  get size(): number {
    return this.#young.size + this.#old.size;
  }

  #walk(value: unknown): unknown {
    switch (typeof value) {
      case 'string':
        this.#hash = stringHash(value);
        return this.#string(value);
      case 'number':
        if (!Number.isFinite(value)) {
          this.#hash = 0x9e3779b9;
          return null;
        }
        this.#hash = numberHash(value);
        return value;
      case 'boolean':
        this.#hash = value ? 0x2545f491 : 0x6a09e667;
        return value;
      case 'object':
        if (value === null) {
          this.#hash = 0x1b873593;
          return null;
        }
        if (Array.isArray(value)) return this.#array(value);
        if (isPlain(value)) return this.#object(value as Record<string, unknown>);
        return this.#walk(JSON.parse(JSON.stringify(value)));
      default:
        // undefined, functions and symbols: JSON writes them as null inside arrays.
        this.#hash = 0x1b873593;
        return null;
    }
  }

  #string(value: string): string {
    if (value.length > this.#maxPooledString) return value;
    const young = this.#youngStrings.get(value);
    if (young !== undefined) return young;
    const old = this.#oldStrings.get(value);
    const kept = old ?? value;
    if (this.#youngStrings.size >= this.#capacity) {
      this.#oldStrings = this.#youngStrings;
      this.#youngStrings = new Map();
    }
    this.#youngStrings.set(kept, kept);
    return kept;
  }

  #array(value: unknown[]): unknown {
    const out = new Array<unknown>(value.length);
    let h = 0x3c6ef372 ^ value.length;
    for (let i = 0; i < value.length; i++) {
      out[i] = this.#walk(value[i]);
      h = mix(h, this.#hash);
    }
    h = finish(h);
    const found = this.#lookup(h);
    if (found !== undefined && Array.isArray(found) && sameArray(found, out)) {
      this.#hash = h;
      return found;
    }
    Object.freeze(out);
    this.#remember(h, out);
    this.#hash = h;
    return out;
  }

  #object(value: Record<string, unknown>): unknown {
    let out: Record<string, unknown> = {};
    let h = 0x510e527f;
    let keysHash = 0x3c6ef372;
    let count = 0;
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const child = value[key];
      if (child === undefined || typeof child === 'function' || typeof child === 'symbol') continue;
      const interned = this.#walk(child);
      if (key === '__proto__') Object.defineProperty(out, key, { value: interned, enumerable: true, writable: true, configurable: true });
      else out[key] = interned;
      const kh = stringHash(key);
      keysHash = mix(keysHash, kh);
      h = mix(mix(h, kh), this.#hash);
      count++;
    }
    h = finish(h ^ count);
    const found = this.#lookup(h);
    if (typeof found === 'object' && found !== null && !Array.isArray(found) && sameObject(found as Record<string, unknown>, out, count)) {
      this.#hash = h;
      return found;
    }
    if (count > inObjectSlack) out = this.#compact(out, finish(keysHash ^ count));
    Object.freeze(out);
    this.#remember(h, out);
    this.#hash = h;
    return out;
  }

  /**
   * `out` rebuilt by an object literal of its shape, so that V8 keeps every property inside the
   * object. Built by assignment, an object holds four properties in itself and the rest in a
   * separate property array: for a pod (metadata, spec, status, containers, conditions...) that
   * is about fifteen extra allocations and 0.7 KiB. A shape gets its literal factory the second
   * time it is seen, so one-off shapes (maps with unique keys) cost no code; at most
   * `maxFactories` factories are made.
   */
  #compact(out: Record<string, unknown>, keysHash: number): Record<string, unknown> {
    const keys = Object.keys(out);
    let shape = this.#shapes.get(keysHash);
    if (shape === undefined) {
      if (this.#shapes.size < maxShapes) this.#shapes.set(keysHash, { keys, seen: 1, make: undefined });
      return out;
    }
    if (!sameKeys(shape.keys, keys)) return out;
    if (shape.make === undefined) {
      if (++shape.seen < 2 || factoriesMade >= maxFactories || keys.some((k) => k === '__proto__')) return out;
      shape.make = literalFactory(keys);
    }
    const values = new Array<unknown>(keys.length);
    for (let i = 0; i < keys.length; i++) values[i] = out[keys[i]!];
    return shape.make(values);
  }

  #lookup(hash: number): unknown {
    const young = this.#young.get(hash);
    if (young !== undefined) return young;
    const old = this.#old.get(hash);
    if (old !== undefined) this.#remember(hash, old);
    return old;
  }

  #remember(hash: number, value: unknown): void {
    if (this.#young.size >= this.#capacity) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(hash, value);
  }
}

function isPlain(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Same length and the very same (interned) elements. */
function sameArray(a: unknown[], b: unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Same keys in the same order, with the very same (interned) values. */
function sameObject(a: Record<string, unknown>, b: Record<string, unknown>, count: number): boolean {
  const keysA = Object.keys(a);
  if (keysA.length !== count) return false;
  let i = 0;
  for (const key in b) {
    if (keysA[i] !== key || a[key] !== b[key]) return false;
    i++;
  }
  return true;
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** FNV-1a over the string's UTF-16 code units (long strings: their length, ends and a sample). */
function stringHash(s: string): number {
  let h = 0x811c9dc5 ^ s.length;
  const n = s.length;
  if (n <= 512) {
    for (let i = 0; i < n; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  } else {
    const step = Math.floor(n / 256);
    for (let i = 0; i < 128; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    for (let i = 128; i < n - 128; i += step) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    for (let i = n - 128; i < n; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  }
  return h | 0;
}

function numberHash(value: number): number {
  if (Number.isInteger(value) && Math.abs(value) < 2 ** 31) return Math.imul(value | 0, 0x9e3779b1) ^ 0x7f4a7c15;
  return stringHash(String(value));
}

/** Properties V8 keeps inside an object created as `{}` before it needs a property array. */
const inObjectSlack = 4;
const maxShapes = 65_536;
const maxFactories = 4_096;
let factoriesMade = 0;

interface Shape {
  keys: string[];
  seen: number;
  make: ((values: unknown[]) => Record<string, unknown>) | undefined;
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A function that returns `{ [keys[0]]: values[0], ... }` written as an object literal with the
 * keys as quoted string literals, which V8 lays out with every property in the object. Keys are
 * data, never code: each is written with JSON.stringify. `__proto__` is excluded by the caller
 * (in a literal it would set the prototype).
 */
function literalFactory(keys: string[]): (values: unknown[]) => Record<string, unknown> {
  factoriesMade++;
  const body = `return {${keys.map((k, i) => `${JSON.stringify(k)}: v[${i}]`).join(', ')}};`;
  return new Function('v', body) as (values: unknown[]) => Record<string, unknown>;
}

/** A deep copy of a plain JSON value (objects, arrays, strings, numbers, booleans, null). */
export function copyJson<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyJson(value[i]);
    return out as T;
  }
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const child = copyJson((value as Record<string, unknown>)[key]);
    if (key === '__proto__') Object.defineProperty(out, key, { value: child, enumerable: true, writable: true, configurable: true });
    else out[key] = child;
  }
  return out as T;
}
