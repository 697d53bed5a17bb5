/** Flow control of starts: rate limits and priorities (options and validation). Re-exports only. */
export { DEFAULT_PRIORITY_STEP_MS, MAX_PRIORITY, resolvePriorityStep, resolveRateLimit, validatePriority } from './options';
export type { RateLimitOptions, ResolvedRateLimit, StartRateLimit } from './options';
