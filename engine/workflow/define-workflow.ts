/**
 * `defineWorkflow(options, fn)`: a named, versioned workflow function with its default step
 * retry policy and optional template (serialisation key + limit). Validation happens here, once,
 * so a bad definition fails at import time rather than inside a runner.
 */
import { toMs, type Duration } from '../duration';
import { ValidationError } from '../errors';
import { checkStorableText } from '../validation';
import { MAX_NAME_LENGTH } from '../store/entities';
import { resolveRetryPolicy, type ResolvedRetryPolicy, type RetryPolicy } from './retry';
import type { WorkflowContext } from './context-types';
import { resolvePriorityStep, resolveRateLimit, type RateLimitOptions, type ResolvedRateLimit, type StartRateLimit } from '../flow/options';

/** Options of `defineWorkflow`. */
export interface WorkflowOptions<I> {
  /** Unique name; what runners serve and clients start. */
  name: string;
  /** Version of the body, recorded on every execution. @default 1 */
  version?: number;
  /**
   * Build id of this code (a git sha, a release tag), recorded on the executions it runs and
   * used for routing (`compatibleBuilds`). @default the runner's `buildId`, else a hash of the body's source
   */
  buildId?: string;
  /** Default retry policy of this workflow's steps. @default { maxAttempts: 3, initialInterval: '1s' } */
  retry?: RetryPolicy;
  /**
   * Template lock: at most `limit` executions per key admitted at once, FIFO among the waiting.
   * `key` defaults to the workflow name. @default undefined (no template lock)
   */
  template?: { key?: (input: I) => string; limit?: number };
  /**
   * Deduplication window: a start whose key (computed from the input) was started within
   * `window` returns that execution instead of starting another. @default undefined (none)
   */
  dedup?: { key: (input: I) => string; window: Duration };
  /**
   * Trailing debounce: starts with the same key (computed from the input) collect into ONE
   * execution that runs `window` after the last of them, with the last input. @default undefined
   */
  debounce?: { key: (input: I) => string; window: Duration };
  /**
   * Rate limit: at most `limit` starts per `period` per key (computed from the input), across
   * every runner, on the database clock; excess starts wait their turn. @default undefined (none)
   */
  rateLimit?: RateLimitOptions<I>;
  /**
   * Priority aging step: a start with `priority: p` is claimed before starts of lower priority
   * that became due less than `(p − their priority) × priorityStep` before it. @default '1s'
   */
  priorityStep?: Duration;
}

/** Longest build id (the `last_build` column). */
export const MAX_BUILD_ID_LENGTH = 128;

/** A workflow body. */
export type WorkflowFunction<I, O> = (ctx: WorkflowContext, input: I) => Promise<O>;

/** A defined workflow: pass it to `client.start` and `createRunner({ workflows })`. */
export interface WorkflowDefinition<I = unknown, O = unknown> {
  readonly name: string;
  readonly version: number;
  /** Explicit build id (see WorkflowOptions.buildId), if one was given. */
  readonly buildId?: string;
  readonly retry: ResolvedRetryPolicy;
  readonly template?: { readonly key: (input: I) => string; readonly limit: number };
  readonly dedup?: { readonly key: (input: I) => string; readonly windowMs: number };
  readonly debounce?: { readonly key: (input: I) => string; readonly windowMs: number };
  readonly rateLimit?: ResolvedRateLimit<I>;
  /** @default 1000 (see WorkflowOptions.priorityStep) */
  readonly priorityStepMs?: number;
  readonly fn: WorkflowFunction<I, O>;
  /** Type-only marker for the output type. */
  readonly __output?: O;
}

/** Input type of a definition. */
export type WorkflowInput<W> = W extends WorkflowDefinition<infer I, unknown> ? I : never;
/** Output type of a definition. */
export type WorkflowOutput<W> = W extends WorkflowDefinition<unknown, infer O> ? O : never;

/** Check a workflow name (also used for names given as strings to the client). */
export function validateWorkflowName(name: unknown, field = 'name'): string {
  return checkStorableText(name, `workflow ${field}`, field, MAX_NAME_LENGTH);
}

/**
 * The template key of an execution of `def` with `input` (null without a template lock),
 * validated the same way wherever an execution is created (start, continue-as-new).
 */
export function templateKeyFor<I>(def: Pick<WorkflowDefinition<I, unknown>, 'name' | 'template'>, input: I): string | null {
  if (!def.template) return null;
  const key = def.template.key(input);
  if (typeof key !== 'string' || key.length === 0 || [...key].length > MAX_NAME_LENGTH) {
    throw new ValidationError(`template key of "${def.name}" must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`, 'template.key');
  }
  return key;
}

/** Define a workflow. */
export function defineWorkflow<I = unknown, O = unknown>(options: WorkflowOptions<I>, fn: WorkflowFunction<I, O>): WorkflowDefinition<I, O> {
  if (!options || typeof options !== 'object') throw new ValidationError('defineWorkflow needs an options object', 'options');
  const name = validateWorkflowName(options.name);
  const version = options.version ?? 1;
  if (!Number.isInteger(version) || version < 1) throw new ValidationError(`workflow "${name}": version must be an integer ≥ 1`, 'version');
  if (typeof fn !== 'function') throw new ValidationError(`workflow "${name}": body must be a function`, 'fn');
  const buildId = options.buildId === undefined ? undefined : checkStorableText(options.buildId, `workflow "${name}" buildId`, 'buildId', MAX_BUILD_ID_LENGTH);
  let template: WorkflowDefinition<I, O>['template'];
  if (options.template) {
    const limit = options.template.limit ?? 1;
    if (!Number.isInteger(limit) || limit < 1) throw new ValidationError(`workflow "${name}": template.limit must be an integer ≥ 1`, 'template.limit');
    const key = options.template.key ?? (() => name);
    if (typeof key !== 'function') throw new ValidationError(`workflow "${name}": template.key must be a function of the input`, 'template.key');
    template = Object.freeze({ key, limit });
  }
  if (options.dedup && options.debounce) throw new ValidationError(`workflow "${name}": choose dedup or debounce, not both`, 'debounce');
  const dedup = keyedWindow(name, 'dedup', options.dedup);
  const debounce = keyedWindow(name, 'debounce', options.debounce);
  const rateLimit = resolveRateLimit(name, options.rateLimit);
  const priorityStepMs = resolvePriorityStep(name, options.priorityStep);
  return Object.freeze({ name, version, ...(buildId === undefined ? {} : { buildId }), retry: resolveRetryPolicy(options.retry, undefined, `workflow "${name}" retry`), template, dedup, debounce, rateLimit, priorityStepMs, fn });
}

/** Validate a `{ key, window }` option (dedup, debounce). */
function keyedWindow<I>(name: string, what: 'dedup' | 'debounce', o: { key: (input: I) => string; window: Duration } | undefined) {
  if (!o) return undefined;
  if (typeof o.key !== 'function') throw new ValidationError(`workflow "${name}": ${what}.key must be a function of the input`, `${what}.key`);
  const windowMs = toMs(o.window, `${what}.window`);
  if (windowMs < 1 || windowMs > 366 * 86_400_000) throw new ValidationError(`workflow "${name}": ${what}.window must be between 1ms and 366d`, `${what}.window`);
  return Object.freeze({ key: o.key, windowMs });
}

/** A key computed from the input (template, dedup), validated; `what` names it in the error. */
function checkedKey(def: WorkflowDefinition<never, unknown>, what: 'template' | 'dedup' | 'debounce' | 'rateLimit', key: unknown): string {
  // One rule set (engine/validation.ts): non-empty, bounded, and storable exactly (no NUL, no lone surrogate).
  return checkStorableText(key, `${what} key of "${def.name}"`, `${what}.key`, MAX_NAME_LENGTH);
}

/** The template key of an execution of `def` with `input` (null without a template); validated. */
export function templateKeyOf<I>(def: WorkflowDefinition<I, unknown> | undefined, input: I): string | null {
  return def?.template ? checkedKey(def as WorkflowDefinition<never, unknown>, 'template', def.template.key(input)) : null;
}

/** The rate limit of a start of `def` with `input` (its key computed and validated), or null. */
export function rateLimitOf<I>(def: WorkflowDefinition<I, unknown> | undefined, input: I): StartRateLimit | null {
  if (!def?.rateLimit) return null;
  const key = checkedKey(def as WorkflowDefinition<never, unknown>, 'rateLimit', def.rateLimit.key(input));
  return { key, limit: def.rateLimit.limit, periodMs: def.rateLimit.periodMs };
}

/** The dedup key of a start of `def` with `input` (null without a dedup window); validated. */
export function dedupKeyOf<I>(def: WorkflowDefinition<I, unknown> | undefined, input: I): string | null {
  return def?.dedup ? checkedKey(def as WorkflowDefinition<never, unknown>, 'dedup', def.dedup.key(input)) : null;
}

/** The debounce key of a start of `def` with `input` (null without debounce); validated. */
export function debounceKeyOf<I>(def: WorkflowDefinition<I, unknown> | undefined, input: I): string | null {
  return def?.debounce ? checkedKey(def as WorkflowDefinition<never, unknown>, 'debounce', def.debounce.key(input)) : null;
}
