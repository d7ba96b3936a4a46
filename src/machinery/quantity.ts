/**
 * Kubernetes resource quantities as numbers: `parseQuantity('250m')` is 0.25, `parseQuantity('1Gi')`
 * is 1073741824. CPU is counted in cores and memory in bytes; fractions survive (0.001 core).
 */
const suffixes: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

const pattern = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/** The value of a quantity string or number; throws on anything else, naming the bad text. */
export function parseQuantity(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = pattern.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not a Kubernetes quantity (examples: 500m, 2, 1Gi, 512Mi)`);
  const base = Number(match[1]);
  if (match[2] !== undefined) return base * 10 ** Number(match[2]);
  return base * suffixes[match[3] ?? '']!;
}

/** Like parseQuantity, but undefined (not an exception) when the value is absent or malformed. */
export function quantityOr(value: unknown, fallback: number): number {
  if (typeof value !== 'string' && typeof value !== 'number') return fallback;
  try {
    return parseQuantity(value);
  } catch {
    return fallback;
  }
}

/** Formats cores as Kubernetes would print them: whole cores plainly, the rest in millicores. */
export function formatCpu(cores: number): string {
  const milli = Math.round(cores * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Formats bytes in the largest binary unit that divides them exactly. */
export function formatBytes(bytes: number): string {
  const whole = Math.round(bytes);
  for (const [unit, size] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (whole !== 0 && whole % size === 0) return `${whole / size}${unit}`;
  }
  return String(whole);
}
