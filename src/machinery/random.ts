/**
 * mulberry32: a small, fast generator of numbers in [0, 1) from a 32-bit seed. Everything that
 * must repeat for a seed (scheduling tie-breaks, what-if answers, benchmark fleets, generated test
 * inputs) draws from it instead of Math.random.
 */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
