/**
 * Domain records the store modules return. Database rows never leave engine/store: they are
 * mapped into these plain objects (dates as Date, tokens as numbers, JSON still as text).
 */
import type { StartRateLimit } from '../flow/options';

/** Execution statuses. */
export const ExecutionStatus = {
  queued: 'queued',
  running: 'running',
  waiting: 'waiting',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  /** The run ended with `ctx.continueAsNew`: a fresh run of the same id carries on (archived runs only). */
  continued: 'continued',
} as const;
export type ExecutionStatus = (typeof ExecutionStatus)[keyof typeof ExecutionStatus];

/** Statuses after which nothing changes any more. */
export const FINISHED_STATUSES: readonly ExecutionStatus[] = ['completed', 'failed', 'cancelled', 'continued'];

/** What a waiting (or admission-blocked) execution waits for. */
export type WaitFor =
  | { kind: 'timer'; seq: number; name: string; dueAt: number }
  | { kind: 'signal'; seq: number; name: string; deadline?: number }
  | { kind: 'child'; seq: number; childId: string }
  | { kind: 'retry'; seq: number; name: string; dueAt: number; attempt?: number }
  | { kind: 'any'; waits: WaitFor[]; dueSeq?: number; dueAt?: number; more?: number }
  | { kind: 'admission' }
  | { kind: 'rate' };

/** One execution as stored. */
export interface ExecutionRecord {
  id: string;
  /** This run's id (a new one for every run of an id: start, reuse, continue-as-new; '' for rows written without one). */
  runId: string;
  /** Run id of the first run of this continue-as-new chain (itself when not continued). */
  firstRunId: string;
  /** Run id of the run this one continued (ctx.continueAsNew), or null. */
  continuedFrom: string | null;
  /** 1 for the first run of an id, +1 for every later run (reuse or continue-as-new). */
  runNumber: number;
  workflowName: string;
  workflowVersion: number;
  templateKey: string | null;
  templateLimit: number | null;
  admitted: boolean;
  /** Start priority (engine/flow). @default 0 */
  priority?: number;
  /** Rate-limit key of its start, and the spacing period/limit in µs (rate-limits.ts). */
  rateKey?: string | null;
  rateStepUs?: number | null;
  status: ExecutionStatus;
  /** JSON text (null = undefined). */
  input: string | null;
  output: string | null;
  error: string | null;
  customStatus: string | null;
  waitFor: WaitFor | null;
  availableAt: Date | null;
  leaseToken: number;
  runnerId: string | null;
  nextSeq: number;
  stepAttempt: number;
  attempt: number;
  parentId: string | null;
  parentSeq: number | null;
  cancelReason: string | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** W3C trace context of the starter (`traceparent[;tracestate]`), or null. */
  traceContext: string | null;
  /** Build id of the code that first ran it (null: never run by a runner that knows its build). */
  startBuild: string | null;
  /** Build id of the code that last ran it: runners restricted by `compatibleBuilds` claim it only when they list it. */
  lastBuild: string | null;
  /** Definition `version` of the code that last ran it. */
  lastVersion: number | null;
}

/** A claimed execution: the record as the claim left it, plus the database clock at claim time. */
export interface ClaimedExecution extends ExecutionRecord {
  dbNow: Date;
  /** True when it was claimed straight from `waiting` (its due time came), not after a wake. */
  claimedFromWaiting?: boolean;
}

/** The fence of every write a lease holder makes. */
export interface Lease {
  executionId: string;
  token: number;
  owner: string;
}

/** Kinds of history events. */
export const EventKind = {
  step: 'step',
  timer: 'timer',
  signal: 'signal',
  childStart: 'child_start',
  childResult: 'child_result',
  value: 'value',
  cancel: 'cancel',
  /** A patch marker (`ctx.patched`): this execution took the new branch of a change here. */
  patch: 'patch',
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** One history event. */
export interface HistoryEvent {
  seq: number;
  kind: EventKind;
  name: string;
  /** completed | failed | fired | timeout | started | delivered */
  status: string;
  /** JSON text (null = undefined). */
  payload: string | null;
  attempt: number;
  leaseToken: number;
  /**
   * Position of this event's result in the order results were delivered to workflow code
   * (null: not a delivery, e.g. a recorded value or a timer not yet fired). Replay delivers in
   * this order, so a race replays to the same winner.
   */
  order: number | null;
  createdAt: Date;
}

/** An event to append. */
export type NewEvent = Omit<HistoryEvent, 'createdAt' | 'leaseToken' | 'order'> & { order?: number | null };

/** A new execution row. */
export interface NewExecution {
  id: string;
  /** @default a new UUIDv7 */
  runId?: string;
  /** @default runId (a new chain) */
  firstRunId?: string;
  continuedFrom?: string | null;
  /** @default 1 */
  runNumber?: number;
  /** Lease tokens of an id keep growing across its runs. @default 0 */
  leaseToken?: number;
  workflowName: string;
  workflowVersion: number;
  templateKey: string | null;
  templateLimit: number | null;
  input: string | null;
  parentId: string | null;
  parentSeq: number | null;
  /** Delay before it may be claimed, ms (0 = now). */
  delayMs: number;
  /** W3C trace context to continue in the runner. @default null */
  traceContext?: string | null;
  /** Keeps the template slot of the run it continues (continue-as-new on the same key). @default false */
  admitted?: boolean;
  /** Start priority 0…1000 (engine/flow): due now, it is ordered as if due priority × step earlier. @default 0 */
  priority?: number;
  /** The workflow's priority aging step, ms. @default 1000 */
  priorityStepMs?: number;
  /** The workflow's rate limit for this start's key. @default none */
  rateLimit?: StartRateLimit | null;
}

/** One execution's terminal commit, as the runner's finish batcher groups them. */
export interface FinishItem {
  lease: Lease;
  status: 'completed' | 'failed' | 'cancelled';
  output: string | null;
  error: string | null;
  nextSeq: number;
  /** The template key whose slot this execution holds: handed on in the same transaction. */
  templateKey?: string | null;
}
