/**
 * The public shape of the workflow context: every effect a workflow has goes through it, so
 * that replay after a crash re-runs nothing that was committed. Types only.
 */
import type { Logger } from 'pino';
import type { Duration } from '../duration';
import type { RetryPolicy } from './retry';
import type { WorkflowDefinition } from './define-workflow';
import type { EntityManager } from '@mikro-orm/core';
import type { TransactionContext, TransactionOptions } from '../transactions/transaction-command';
import type { EnqueueOptions } from '../transactions/outbox';

/** What a step body receives. */
export interface StepContext {
  /** Stable for this step of this execution across attempts and replicas: `{executionId}:{seq}:{name}`. */
  readonly idempotencyKey: string;
  /** 1-based attempt of this step. */
  readonly attempt: number;
  /**
   * The fencing token of the lease this attempt runs under: pass it to outside systems that can
   * reject writes from an older holder (it grows with every new grant of the execution).
   */
  readonly leaseToken: number;
  /** Aborted on start-to-close timeout, cancellation or lease loss. */
  readonly signal: AbortSignal;
}

/** Options of `ctx.step`. */
export interface StepOptions<T = unknown> {
  /** Retry policy; layered over the workflow's. */
  retry?: RetryPolicy;
  /** Start-to-close timeout of one attempt; aborts the step's signal and fails the attempt. */
  timeout?: Duration;
  /**
   * Saga: undo this step. Registered once the step has committed (also when replayed);
   * `ctx.compensate()` runs it as the step `compensate:<name>` with this step's retry policy
   * and timeout, receiving the step's result.
   */
  compensate?: (result: T, step: StepContext) => Promise<unknown> | unknown;
}

/** Options of starting a child. */
export interface ChildOptions {
  /** Child execution id. @default `{parentId}/{seq}` (deterministic) */
  id?: string;
  /**
   * What the parent's cancellation does to this child while it runs: `'cancel'` requests its
   * cancellation too, `'abandon'` leaves it running. @default 'cancel'
   */
  onParentCancel?: 'cancel' | 'abandon';
}

/** A started child workflow, seen from its parent. */
export interface ChildHandle<O> {
  readonly executionId: string;
  /** Wait durably for the child's result (its error is rethrown with its name and message). */
  result(): Promise<O>;
}

/** The context handed to a workflow body. */
export interface WorkflowContext {
  readonly executionId: string;
  /** This run's id (a new one after a reuse or `continueAsNew`). */
  readonly runId: string;
  readonly workflowName: string;
  /** How many times this execution has been claimed (1 on the first run). */
  readonly attempt: number;
  /** Pino child logger; silent while replaying. */
  readonly log: Logger;
  /** Fires on cancellation or lease loss. */
  readonly signal: AbortSignal;
  /** Run `fn` at most once to a committed result (at least once to completion). */
  step<T>(name: string, fn: (step: StepContext) => Promise<T> | T, options?: StepOptions<T>): Promise<T>;
  /**
   * Run the compensations of the committed steps that have one, newest first, each as a
   * checkpointed step `compensate:<step>`; a cancellation arriving meanwhile waits until they are
   * done. Each runs once: a second call runs only compensations registered since. Throws
   * CompensationError (after running all) if some still failed after their retries.
   */
  compensate(): Promise<void>;
  /**
   * End this run and start a fresh run of the same id with `input` and an empty history (one
   * fenced transaction): this run is kept as `{id}#{n}` with status `continued`, the next run
   * links to it. Validated like a start. Never resolves. Use it to bound the history of a
   * workflow that loops forever (pollers, entity workflows).
   */
  continueAsNew<I>(input: I): Promise<never>;
  /** Durable timer. */
  sleep(name: string, duration: Duration): Promise<void>;
  sleep(duration: Duration): Promise<void>;
  /** Durable timer to an absolute time. */
  sleepUntil(name: string, until: Date | number): Promise<void>;
  /** Wait for the next signal of `name`; `undefined` when the timeout elapses first. */
  waitForSignal<T = unknown>(name: string, options?: { timeout?: Duration }): Promise<T | undefined>;
  /**
   * A transactional step (MySQL/MariaDB; the runner needs `orm`): `fn` gets a forked EntityManager
   * of the application's ORM inside ONE transaction that also fences the lease by a write and
   * writes the checkpoint — the business writes and the step's result commit together or not at
   * all, and a replay returns the stored result. `fn` may only do database work through `em` (plus
   * `ctx.enqueue`/`ctx.signalExternal`): no outside calls (they would not roll back), no other
   * ctx command (TransactionScopeError). Deadlocks and lock-wait timeouts retry the whole
   * transaction with the retry policy.
   */
  transaction<T, EM extends EntityManager = EntityManager>(name: string, fn: (em: EM, tx: TransactionContext) => Promise<T> | T, options?: TransactionOptions): Promise<T>;
  /** Outbox, inside ctx.transaction only: start an execution in that transaction. Resolves to its id. */
  enqueue<I, O>(workflow: WorkflowDefinition<I, O> | string, input: I, options?: EnqueueOptions): Promise<string>;
  /** Outbox, inside ctx.transaction only: signal another execution in that transaction. */
  signalExternal(executionId: string, name: string, payload?: unknown): Promise<void>;
  /** Start a child and wait for its result. */
  child<I, O>(workflow: WorkflowDefinition<I, O>, input: I, options?: ChildOptions): Promise<O>;
  /** Start a child; wait for it later with `handle.result()`. */
  startChild<I, O>(workflow: WorkflowDefinition<I, O>, input: I, options?: ChildOptions): Promise<ChildHandle<O>>;
  /** Recorded wall-clock time (the same on replay; committed with the next checkpoint). */
  now(): Date;
  /** Recorded random number in [0, 1). */
  random(): number;
  /** Recorded random UUID. */
  uuid(): string;
  /**
   * Versioning a change (see README "Deploying new code"): `true` when this execution reaches
   * this point running code that has the change — a marker is recorded once, at the next
   * position, so replays answer the same — and `false` when replaying a history recorded before
   * the change (no marker there: take the old branch). Deterministic in concurrent branches and
   * across continue-as-new (a new run starts on the new code: `true`).
   */
  patched(changeId: string): boolean;
  /**
   * The old branch of `patched(changeId)` is gone: accepts histories with or without the marker
   * and records none. Remove the call once no execution with the marker can replay here.
   */
  deprecatePatch(changeId: string): void;
  /** Publish a JSON status readable by `describe()` (committed with the next checkpoint). */
  setStatus(status: unknown): void;
  /**
   * Run `fn` shielded from cancellation: commands it issues through the context it receives are
   * neither rejected with CancelledError nor aborted when the execution is cancelled (cleanup
   * that must finish). Commands issued through the outer context are not shielded.
   */
  nonCancellable<T>(fn: (ctx: WorkflowContext) => Promise<T>): Promise<T>;
}
