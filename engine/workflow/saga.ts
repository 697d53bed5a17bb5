/**
 * Sagas: a step given `compensate` registers its compensation once the step has committed (or is
 * replayed as committed). `ctx.compensate()` runs the registered compensations newest first (by
 * position), each as an ordinary checkpointed step `compensate:<step>` — committed once, retried
 * with the step's policy. Which ones run is recorded as a value, so a replay after a crash (or
 * with concurrent branches) compensates exactly the same steps in the same order.
 */
import { CompensationError, ValidationError, recordError, type RecordedError } from '../errors';
import { MAX_NAME_LENGTH } from '../store/entities';
import type { StepContext, StepOptions, WorkflowContext } from './context-types';
import type { ExecutionSession } from './session';

/** Prefix of compensation step names. */
export const COMPENSATION_PREFIX = 'compensate:';

/** One registered compensation. */
interface Entry {
  /** Position of the step it undoes. */
  seq: number;
  step: string;
  result: unknown;
  options: StepOptions<unknown>;
}

/** The compensation step name of `step`, validated where the step is declared. */
export function compensationStepName(step: string, compensate: unknown): string {
  if (typeof compensate !== 'function') throw new ValidationError(`step "${step}": compensate must be a function`, 'compensate');
  const name = COMPENSATION_PREFIX + step;
  if ([...name].length > MAX_NAME_LENGTH) {
    throw new ValidationError(`step "${step}": a step with compensate may be at most ${MAX_NAME_LENGTH - COMPENSATION_PREFIX.length} characters long`, 'compensate');
  }
  return name;
}

const registries = new WeakMap<ExecutionSession, Compensations>();

/** The compensation registry of a run (shared by its contexts, nonCancellable ones included). */
export function compensationsOf(session: ExecutionSession): Compensations {
  let r = registries.get(session);
  if (!r) registries.set(session, (r = new Compensations()));
  return r;
}

/** The compensations one run has registered and not yet run. */
export class Compensations {
  #pending = new Map<number, Entry>();

  /** Register the compensation of the committed step at `seq` (no-op without `compensate`). */
  add<T>(seq: number, step: string, options: StepOptions<T>, result: T): T {
    if (options.compensate) this.#pending.set(seq, { seq, step, result, options: options as StepOptions<unknown> });
    return result;
  }

  /** Positions to compensate now, newest first. */
  plan(): number[] {
    return [...this.#pending.keys()].sort((a, b) => b - a);
  }

  /**
   * Run the compensations at `positions` (the recorded plan) in that order as steps of `ctx`.
   * A compensation that still fails after its retries does not stop the others; they all run,
   * then CompensationError lists what failed.
   */
  async run(ctx: WorkflowContext, positions: readonly number[]): Promise<void> {
    const failures: { step: string; error: RecordedError }[] = [];
    for (const seq of positions) {
      const e = this.#pending.get(seq);
      if (!e) throw new ValidationError(`compensation plan names position ${seq}, which has no registered compensation`, 'compensate');
      this.#pending.delete(seq);
      const undo = e.options.compensate as NonNullable<StepOptions<unknown>['compensate']>;
      try {
        await ctx.step(COMPENSATION_PREFIX + e.step, (step: StepContext) => undo(e.result, step), { retry: e.options.retry, timeout: e.options.timeout });
      } catch (err) {
        failures.push({ step: e.step, error: recordError(err) });
      }
    }
    if (failures.length) throw new CompensationError(failures);
  }
}

/**
 * Run `fn`; if it throws (a failure or a cancellation), run the registered compensations and
 * rethrow the original error. A CompensationError from a failed compensation is thrown instead.
 */
export async function saga<T>(ctx: WorkflowContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    await ctx.compensate();
    throw err;
  }
}
