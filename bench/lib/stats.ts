/**
 * Pure statistics of the bench: percentiles (nearest rank), summaries, rates, ratios and
 * counter deltas. No IO; every function is total (empty or invalid input gives null, never
 * NaN or Infinity), so a figure that could not be measured shows up as null in the JSON.
 */

/** A latency/duration summary in the unit of its samples. */
export interface Summary {
  n: number;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** Round to `digits` decimals; null and non-finite values stay null. */
export function round(value: number | null | undefined, digits = 1): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * The p-th percentile (0–100) by the nearest-rank method: the smallest sample such that at
 * least p % of the samples are ≤ it. p = 0 gives the minimum. Samples need not be sorted;
 * non-finite samples are ignored. Null when there is no sample.
 */
export function percentile(samples: readonly number[], p: number): number | null {
  if (!Number.isFinite(p) || p < 0 || p > 100) throw new RangeError(`percentile must be between 0 and 100 (got ${p})`);
  const s = samples.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1];
}

/** The median (nearest rank, so always one of the samples). */
export function median(samples: readonly number[]): number | null {
  return percentile(samples, 50);
}

/** n, min, p50, p90, p99, max and mean of `samples`, rounded to `digits`. */
export function summarize(samples: readonly number[], digits = 1): Summary {
  const s = samples.filter(Number.isFinite);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : null;
  return {
    n: s.length,
    min: round(percentile(s, 0), digits),
    p50: round(percentile(s, 50), digits),
    p90: round(percentile(s, 90), digits),
    p99: round(percentile(s, 99), digits),
    max: round(percentile(s, 100), digits),
    mean: round(mean, digits),
  };
}

/** `count` events in `elapsedMs` as a rate per second; null when the window is empty. */
export function perSecond(count: number, elapsedMs: number): number | null {
  if (!Number.isFinite(count) || !Number.isFinite(elapsedMs) || elapsedMs <= 0) return null;
  return (count / elapsedMs) * 1000;
}

/** a / b; null when either is missing or b is not a positive number. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return a / b;
}

/** after − before for every key of `after` (a key missing in `before` counts from 0). */
export function counterDelta(before: Readonly<Record<string, number>>, after: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) out[k] = v - (before[k] ?? 0);
  return out;
}

/** Every value of `totals` divided by `units`, rounded; empty when there are no units. */
export function perUnit(totals: Readonly<Record<string, number>>, units: number, digits = 3): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  if (!(units > 0)) return out;
  for (const [k, v] of Object.entries(totals)) out[k] = round(v / units, digits);
  return out;
}

/** Per-runner concurrency for a total of `total` in flight over `runners`: rounded up. */
export function perRunnerConcurrency(total: number, runners: number): number {
  if (!(total >= 1) || !(runners >= 1)) throw new RangeError('concurrency and runners must be at least 1');
  return Math.ceil(total / runners);
}

/** A target: the measured value against a bound, in one direction. */
export interface TargetCheck {
  name: string;
  value: number | null;
  /** `max`: value must be ≤ bound; `min`: value must be ≥ bound. */
  kind: 'max' | 'min';
  bound: number;
  unit: string;
}

/** PASS, FAIL, or SKIP when the figure was not measured. */
export function verdict(t: TargetCheck): 'PASS' | 'FAIL' | 'SKIP' {
  if (t.value === null || !Number.isFinite(t.value)) return 'SKIP';
  return (t.kind === 'max' ? t.value <= t.bound : t.value >= t.bound) ? 'PASS' : 'FAIL';
}
