/**
 * Step retry policy: exponential backoff with jitter, bounded attempts, non-retryable error
 * names. Pure: time and randomness come in as arguments.
 */
import { toMs, type Duration } from '../duration';
import { ValidationError, type RecordedError } from '../errors';

/** How a failing step is retried. */
export interface RetryPolicy {
  /** Total attempts including the first; 1 = no retry. @default 3 */
  maxAttempts?: number;
  /** Delay before the first retry. @default '1s' */
  initialInterval?: Duration;
  /** Multiplier per further retry. @default 2 */
  backoffCoefficient?: number;
  /** Upper bound of one delay. @default '1m' */
  maxInterval?: Duration;
  /** Random spread of each delay, as a fraction (0.2 = ±20 %). @default 0.2 */
  jitter?: number;
  /** Error names (or codes) that stop retrying at once. @default [] */
  nonRetryable?: string[];
}

/** A policy with every field resolved. */
export interface ResolvedRetryPolicy {
  maxAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maxIntervalMs: number;
  jitter: number;
  nonRetryable: readonly string[];
}

/** The defaults, used when neither the step nor the workflow says otherwise. */
export const DEFAULT_RETRY: ResolvedRetryPolicy = Object.freeze({
  maxAttempts: 3, initialIntervalMs: 1000, backoffCoefficient: 2, maxIntervalMs: 60_000, jitter: 0.2, nonRetryable: [],
});

/** Layer `override` over `base`, validating every field (errors name the field). */
export function resolveRetryPolicy(override: RetryPolicy | undefined, base: ResolvedRetryPolicy = DEFAULT_RETRY, field = 'retry'): ResolvedRetryPolicy {
  if (override === undefined) return base;
  if (typeof override !== 'object' || override === null) throw new ValidationError(`${field} must be an object`, field);
  const out: ResolvedRetryPolicy = {
    maxAttempts: override.maxAttempts ?? base.maxAttempts,
    initialIntervalMs: override.initialInterval === undefined ? base.initialIntervalMs : toMs(override.initialInterval, `${field}.initialInterval`),
    backoffCoefficient: override.backoffCoefficient ?? base.backoffCoefficient,
    maxIntervalMs: override.maxInterval === undefined ? base.maxIntervalMs : toMs(override.maxInterval, `${field}.maxInterval`),
    jitter: override.jitter ?? base.jitter,
    nonRetryable: override.nonRetryable ?? base.nonRetryable,
  };
  if (!Number.isInteger(out.maxAttempts) || out.maxAttempts < 1) throw new ValidationError(`${field}.maxAttempts must be an integer ≥ 1 (got ${out.maxAttempts})`, `${field}.maxAttempts`);
  if (!(out.backoffCoefficient >= 1)) throw new ValidationError(`${field}.backoffCoefficient must be ≥ 1 (got ${out.backoffCoefficient})`, `${field}.backoffCoefficient`);
  if (!(out.jitter >= 0 && out.jitter <= 1)) throw new ValidationError(`${field}.jitter must be between 0 and 1 (got ${out.jitter})`, `${field}.jitter`);
  if (!Array.isArray(out.nonRetryable) || out.nonRetryable.some((n) => typeof n !== 'string')) throw new ValidationError(`${field}.nonRetryable must be an array of error names`, `${field}.nonRetryable`);
  return Object.freeze(out);
}

/**
 * The delay before the next attempt, or null when the step must fail now.
 * `attempt` is the attempt that just failed (1-based); `random` is in [0, 1).
 */
export function nextRetryDelay(policy: ResolvedRetryPolicy, attempt: number, error: RecordedError, random: number): number | null {
  if (error.nonRetryable) return null;
  if (policy.nonRetryable.includes(error.name) || (error.code !== undefined && policy.nonRetryable.includes(error.code))) return null;
  if (attempt >= policy.maxAttempts) return null;
  const raw = Math.min(policy.maxIntervalMs, policy.initialIntervalMs * policy.backoffCoefficient ** (attempt - 1));
  const spread = raw * policy.jitter * (2 * random - 1);
  return Math.max(0, Math.round(Math.min(policy.maxIntervalMs, raw + spread)));
}
