/** Percentiles and number formatting shared by every section. */

export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an unsorted list; `NaN` for an empty one. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function distribution(values: readonly number[]): Distribution {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : Number.NaN,
    mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN,
  };
}

/** The middle value (mean of the two middle ones for an even count); `NaN` for an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;
}

/** `12.3` style: fixed digits, `–` for missing. */
export function fixed(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

/** Thousands with a thin separator: `12,345`. */
export function whole(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : Math.round(value).toLocaleString('en-US');
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A small seeded PRNG (mulberry32), so a report's confidence intervals reproduce from its numbers. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Percentile bootstrap confidence interval of the median: resample the values with replacement, take each
 * resample's median, and return the `(1 - level) / 2` and `(1 + level) / 2` quantiles of those medians.
 * `[NaN, NaN]` for fewer than 3 values (an interval from one or two rounds means nothing).
 */
export function medianCI(values: readonly number[], level = 0.95, resamples = 4000): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length < 3) return [Number.NaN, Number.NaN];
  const next = random(0x5eed ^ finite.length);
  const medians: number[] = [];
  const sample = new Array<number>(finite.length);
  for (let i = 0; i < resamples; i++) {
    for (let j = 0; j < finite.length; j++) sample[j] = finite[Math.floor(next() * finite.length)]!;
    medians.push(median(sample));
  }
  medians.sort((a, b) => a - b);
  const at = (q: number) =>
    medians[Math.min(medians.length - 1, Math.max(0, Math.floor(q * medians.length)))]!;
  return [at((1 - level) / 2), at((1 + level) / 2)];
}

/** Where a target `bound` lies against a confidence interval for "at least bound": met, missed or inconclusive. */
export function verdictAtLeast(
  interval: readonly [number, number],
  bound: number,
): 'met' | 'missed' | 'inconclusive' {
  if (!Number.isFinite(interval[0]) || !Number.isFinite(interval[1])) return 'inconclusive';
  if (interval[0] >= bound) return 'met';
  if (interval[1] < bound) return 'missed';
  return 'inconclusive';
}
