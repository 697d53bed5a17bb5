/**
 * Flow control of starts (issue 13): rate limits and priorities. Pure: options in, resolved
 * settings or a ValidationError out. The SQL that enforces them is in engine/store
 * (rate-limits.ts, executions.ts); see the README sections "Rate limits" and "Priorities".
 */
import { toMs, type Duration } from '../duration';
import { ValidationError } from '../errors';

/** Highest start priority (0 is the default and the lowest). */
export const MAX_PRIORITY = 1000;
/** Default aging step: a start of priority p is ordered as if it had become due p seconds earlier. */
export const DEFAULT_PRIORITY_STEP_MS = 1000;

/** `defineWorkflow({ rateLimit })`: at most `limit` starts per `period` per key. */
export interface RateLimitOptions<I> {
  /** Starts per period (≥ 1). */
  limit: number;
  /** The period (1 ms … 1 day). */
  period: Duration;
  /** Key computed from the input: one limit per key. @default the workflow name (one limit) */
  key?: (input: I) => string;
}

/** A validated rate limit. */
export interface ResolvedRateLimit<I> {
  readonly limit: number;
  readonly periodMs: number;
  readonly key: (input: I) => string;
}

/** The rate limit stored with a start: its key and settings. */
export interface StartRateLimit {
  key: string;
  limit: number;
  periodMs: number;
}

/** Validate `rateLimit` of workflow `name`. */
export function resolveRateLimit<I>(name: string, o: RateLimitOptions<I> | undefined): ResolvedRateLimit<I> | undefined {
  if (o === undefined) return undefined;
  if (!o || typeof o !== 'object') throw new ValidationError(`workflow "${name}": rateLimit must be an object`, 'rateLimit');
  if (!Number.isSafeInteger(o.limit) || o.limit < 1 || o.limit > 1_000_000) {
    throw new ValidationError(`workflow "${name}": rateLimit.limit must be an integer between 1 and 1000000`, 'rateLimit.limit');
  }
  const periodMs = toMs(o.period, 'rateLimit.period');
  if (!(periodMs >= 1 && periodMs <= 86_400_000)) throw new ValidationError(`workflow "${name}": rateLimit.period must be between 1ms and 1d`, 'rateLimit.period');
  const key = o.key ?? (() => name);
  if (typeof key !== 'function') throw new ValidationError(`workflow "${name}": rateLimit.key must be a function of the input`, 'rateLimit.key');
  return Object.freeze({ limit: o.limit, periodMs, key });
}

/** Validate `priorityStep` of workflow `name` (ms). */
export function resolvePriorityStep(name: string, step: Duration | undefined): number {
  if (step === undefined) return DEFAULT_PRIORITY_STEP_MS;
  const ms = toMs(step, 'priorityStep');
  if (!(ms >= 1 && ms <= 3_600_000)) throw new ValidationError(`workflow "${name}": priorityStep must be between 1ms and 1h`, 'priorityStep');
  return ms;
}

/** Validate a start's `priority`: an integer 0 … MAX_PRIORITY. */
export function validatePriority(p: unknown, field = 'priority'): number {
  if (p === undefined) return 0;
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > MAX_PRIORITY) {
    throw new ValidationError(`${field} must be an integer between 0 and ${MAX_PRIORITY} (got ${String(p)})`, field);
  }
  return p;
}
