/**
 * One command a workflow issued (a step, timer, signal wait, child start or child result): its
 * position, the promise workflow code awaits, and how it may settle. A command settles exactly
 * once — with its result when its delivery comes up, or with an error when a cancellation or a
 * newer wait supersedes it. Pure: no IO.
 */
import type { LeaseLostError, NonDeterminismError, PayloadCodecError } from '../errors';
import type { EventKind, HistoryEvent, WaitFor } from '../store/types';
import { LazyAbortController } from './lazy-abort';

/** How a run ended without finishing the workflow. */
export type RunInterruption =
  | { kind: 'suspended'; waitFor: WaitFor }
  | { kind: 'lease-lost'; error: LeaseLostError }
  | { kind: 'aborted'; reason: string }
  | { kind: 'fatal'; error: NonDeterminismError | PayloadCodecError }
  /** Ended with ctx.continueAsNew: run `runId` of the same id is queued. */
  | { kind: 'continued'; runId: string };

/**
 * A promise that never settles: what a command returns once the run has ended. A fresh one each
 * time — a shared one would keep every suspended workflow's async frame reachable forever.
 */
export const never = (): Promise<never> => new Promise<never>(() => undefined);

/** A settled result of a command. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** What a blocked command waits for (the suspension combines those of every blocked command). */
export interface Block {
  waitFor: WaitFor;
  /** Database-clock time at which the command wants to run again. */
  dueAt?: number;
  signal?: string;
  childId?: string;
}

/** A command issued by workflow code. */
export class Command {
  readonly promise: Promise<unknown>;
  settled = false;
  /** An order was taken for its result: it will be delivered (it can no longer be superseded). */
  claimed = false;
  block: Block | null = null;
  /** Aborted when the command is cancelled, superseded, or the run ends (steps listen to it). */
  readonly abort = new LazyAbortController();
  wake: (() => void) | null = null;
  onSettle: (() => void) | null = null;
  #resolve!: (v: unknown) => void;
  #reject!: (e: unknown) => void;

  constructor(
    readonly seq: number,
    readonly kind: EventKind,
    readonly name: string,
    /** Issued inside ctx.nonCancellable: a cancellation passes it by. */
    readonly shielded: boolean,
    /** Results delivered before it was issued (the supersede rule compares these). */
    readonly activation: number,
    /** Its recorded event, when replaying. */
    readonly recorded: HistoryEvent | undefined,
    /** Its result rebuilt from a recorded event. */
    readonly fromRecord: (ev: HistoryEvent) => Outcome,
  ) {
    this.promise = new Promise((resolve, reject) => { this.#resolve = resolve; this.#reject = reject; });
    // A command nobody awaits (a race's loser) must not surface as an unhandled rejection.
    this.promise.catch(() => undefined);
  }

  /** Settle once; later calls are ignored. */
  settle(outcome: Outcome): void {
    if (this.settled) return;
    this.settled = true;
    if (outcome.ok) this.#resolve(outcome.value);
    else {
      this.#reject(outcome.error);
      if (!this.abort.aborted) this.abort.abort(outcome.error);
    }
    this.onSettle?.();
  }
}
