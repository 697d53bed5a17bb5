/**
 * Human durations at the edge ('500ms', '15s', '5m', '1h', '7d', '1h30m') → milliseconds.
 * Pure. Malformed values throw a ValidationError that names the option.
 */
import { ValidationError } from './errors';

/** A duration: milliseconds as a number, or a string like '15s', '5m', '1h30m'. */
export type Duration = number | string;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

/** Parse a duration into milliseconds; `field` names the option in the error. */
export function toMs(value: Duration, field = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new ValidationError(`${field} must be a finite, non-negative number of milliseconds (got ${value})`, field);
    return value;
  }
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a number of milliseconds or a string like '15s' (got ${typeof value})`, field);
  const s = value.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  let total = 0;
  let pos = 0;
  PART.lastIndex = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) throw new ValidationError(`${field} "${value}" is not a duration (use e.g. '500ms', '15s', '5m', '1h30m', '7d')`, field);
    total += Number(m[1]) * UNITS[m[2]];
    pos = PART.lastIndex;
  }
  if (s.length === 0) throw new ValidationError(`${field} is empty`, field);
  return total;
}

/** Like toMs, but undefined gives `fallback`. */
export function toMsOr(value: Duration | undefined, fallback: number, field: string): number {
  return value === undefined ? fallback : toMs(value, field);
}

/** Format milliseconds for people: 1500 → '1.5s'. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(2)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(2)}m`;
  return `${+(ms / 3_600_000).toFixed(2)}h`;
}
