/**
 * Public types of the client: start options, descriptions, history entries, list pages.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Duration } from '../duration';
import type { RecordedError } from '../errors';
import type { ExecutionStatus, WaitFor } from '../store/types';

/** What to do when `start` names an id whose execution already finished. */
export type IdReusePolicy =
  /** Return the existing execution's handle (same input) or throw WorkflowIdConflictError. */
  | 'reject-duplicate'
  /** Start a new run; the finished one is archived as `{id}#{n}` with its history. */
  | 'allow-duplicate'
  /** Like allow-duplicate, but only when the finished run failed or was cancelled. */
  | 'allow-duplicate-failed-only';

/** Options of `client.start`. */
export interface StartOptions {
  /** Execution id (idempotency key). @default a time-ordered UUIDv7 */
  id?: string;
  /** @default 'reject-duplicate' */
  idReusePolicy?: IdReusePolicy;
  /** Do not run before this delay has passed (database clock). */
  delay?: Duration;
  /** Do not run before this time. */
  startAt?: Date;
  /**
   * Outbox: write the start in this EntityManager's open transaction (the application's MikroORM,
   * same MySQL/MariaDB database as the store), so it commits or rolls back with the caller's own
   * writes. A runner picks it up at its next poll after the commit. Only the default reuse policy;
   * not for workflows with a dedup/debounce key.
   */
  em?: EntityManager;
  /**
   * 0…1000, higher is claimed first among due starts of the workflow, aged by its
   * `priorityStep` so a lower priority waits at most (difference × step). @default 0
   */
  priority?: number;
}

/** Options of `client.getHandle`. */
export interface GetHandleOptions {
  /** Bind the handle to this run of the id (see `handle.runId`). @default follow the id's latest run */
  runId?: string;
  /**
   * With `runId`: follow the runs this one continued as (`ctx.continueAsNew`), so `result()` is
   * the chain's final result. `false` binds strictly to the one run. @default true
   */
  followContinuations?: boolean;
}

/** A run that came before the current one in a continue-as-new chain. */
export interface PreviousRun {
  runId: string;
  /** Where the run is kept: `{id}#{n}`. */
  executionId: string;
  runNumber: number;
}

/** What `describe()` returns. */
export interface ExecutionDescription {
  /** The row's id: the execution id, or `{id}#{n}` for a run kept after a later run took the id. */
  id: string;
  /** This run's id. */
  runId: string;
  /** 1 for an id's first run, +1 for each later run (reuse or continue-as-new). */
  runNumber: number;
  /** First run of this continue-as-new chain (equals runId when the run did not continue another). */
  firstRunId: string;
  /** Run id this run continued (ctx.continueAsNew), or null. */
  continuedFrom: string | null;
  /** Runs of the chain before this one, newest first (at most 20). */
  previousRuns: PreviousRun[];
  workflowName: string;
  workflowVersion: number;
  /** Build id of the code that first ran it (null: not run yet). */
  startBuild: string | null;
  /** Build id and definition version of the code that last ran it (null: not run yet). */
  lastBuild: string | null;
  lastVersion: number | null;
  /** Set while no live runner can claim it because none serves its last build (it waits, it does not fail). */
  waitingForBuild: string | null;
  status: ExecutionStatus;
  input: unknown;
  output: unknown;
  error: RecordedError | null;
  /** Last value passed to ctx.setStatus. */
  customStatus: unknown;
  waitingFor: WaitFor | null;
  templateKey: string | null;
  /** Admitted by its template lock (holds a slot). */
  admitted: boolean;
  /** Start priority (0…1000); a start due at once has `availableAt` moved back by priority × step. */
  priority: number;
  /** Key of the workflow's rate limit this start was paced under, or null. */
  rateKey: string | null;
  /** Number of times a runner claimed it. */
  attempts: number;
  leaseToken: number;
  leaseHolder: { owner: string; expiresAt: Date } | null;
  parentId: string | null;
  cancelRequested: string | null;
  pendingSignals: number;
  /**
   * Signals that were accepted (stored) but that the execution finished without consuming: the
   * finishing commit marks them undelivered, oldest first. A signal sent after the finish is
   * rejected with ExecutionFinishedError instead, so every signal is delivered, listed here, or rejected.
   */
  undeliveredSignals: { name: string; sentAt: Date }[];
  /** False when no live runner serves this workflow (an unknown workflow waits until one does). */
  servedByLiveRunner: boolean;
  availableAt: Date | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** One history event, decoded. */
export interface HistoryEntry {
  seq: number;
  kind: string;
  name: string;
  status: string;
  /** Step result / signal payload / timer due time / child id …, or the recorded error. */
  value: unknown;
  attempt: number;
  leaseToken: number;
  /** Position of this result in the order results were delivered (null: not a delivery); a replay needs it for races. */
  order: number | null;
  at: Date;
}

/** Filter of `client.list`. */
export interface ListOptions {
  status?: ExecutionStatus | ExecutionStatus[];
  workflow?: string;
  parentId?: string;
  /** Only ids that start with this text. */
  idPrefix?: string;
  /** Only members of this template key. */
  templateKey?: string;
  /** Only executions last run by this build id. */
  build?: string;
  /** Created at or after. */
  from?: Date;
  /** Created before. */
  to?: Date;
  /** @default 50 (max 1000) */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** A summary row of `client.list`. */
export interface ExecutionSummary {
  id: string;
  workflowName: string;
  status: ExecutionStatus;
  attempts: number;
  createdAt: Date;
  finishedAt: Date | null;
  parentId: string | null;
  templateKey: string | null;
  /** Definition version it was started with, and the build ids that first / last ran it (null: not yet). */
  workflowVersion: number;
  startBuild: string | null;
  lastBuild: string | null;
}

/** One page of `client.list`, newest first. */
export interface ListPage {
  executions: ExecutionSummary[];
  /** Pass as `cursor` for the next page; undefined on the last page. */
  nextCursor?: string;
}
