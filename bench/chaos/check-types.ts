/**
 * What the chaos checker reads: the rows a run left in the database (decoded; times in epoch ms
 * with µs fractions, DB clock), what the harness did, and the verdict shape of one invariant.
 * Types only.
 */
import type { SignalPayload } from './shapes';

/** A `workflow_executions` row (JSON decoded; times in epoch ms with µs fractions, DB clock). */
export interface ExecRow {
  id: string;
  workflow: string;
  status: string;
  input: unknown;
  output: unknown;
  error: { name?: string; message?: string } | null;
  leaseToken: number;
  attempt: number;
  parentId: string | null;
  templateKey: string | null;
  createdAtMs: number;
  finishedAtMs: number | null;
  waitFor: string | null;
  runnerId: string | null;
}

/** A `workflow_events` row. */
export interface EventRow {
  executionId: string;
  seq: number;
  kind: string;
  name: string;
  status: string;
  payload: string | null;
  attempt: number;
  leaseToken: number;
  createdAtMs: number;
}

/** A `workflow_signals` row. */
export interface SignalRow {
  id: number;
  executionId: string;
  name: string;
  payload: string | null;
  consumedSeq: number | null;
}

/** A `chaos_attempts` row: one step body that really started. */
export interface AttemptRow {
  id: string;
  executionId: string;
  workflow: string;
  step: string;
  seq: number;
  stepAttempt: number;
  leaseToken: number;
  runnerId: string;
  pid: number;
  templateKey: string | null;
  outcome: string | null;
  startedAtMs: number;
  finishedAtMs: number | null;
}

/** A top-level execution the harness submitted (possibly with concurrent duplicate starts). */
export interface Submission {
  id: string;
  workflow: string;
  input: unknown;
  /** Concurrent start calls made for this id. */
  starts: number;
}

/** A start call that failed for good (a duplicate start must return the same execution). */
export interface StartFailure { id: string; error: string }

/** A signal the harness stored (its send was confirmed). */
export interface SentSignal { executionId: string; name: string; payload: SignalPayload }

/** A runner paused with SIGSTOP (DB clock). */
export interface StopWindow {
  runnerId: string; pid: number; stoppedAtMs: number; resumedAtMs: number;
  /** It could not be caught outside its transactions: it held their row locks while paused. */
  inTransaction?: boolean;
}

/** A transaction paused with row locks held (DB clock): a helper locked one execution's row. */
export interface TxPause { executionId: string; lockedAtMs: number; releasedAtMs: number }

/** A stale commit the harness injected through the engine's fenced commit, as a zombie would. */
export interface ProbeResult {
  executionId: string;
  /** The token the probe used and the execution's token when it was read. */
  token: number;
  currentToken: number;
  variant: 'stale-checkpoint' | 'stale-finish' | 'after-finish';
  result: 'rejected' | 'landed' | 'error';
  detail: string;
}

/** How long an execution held by a faulted runner took to continue elsewhere. */
export interface FailoverSample {
  fault: 'kill9' | 'sigstop' | 'sigterm';
  executionId: string;
  faultAtMs: number;
  /** null: it did not continue within the monitor's window. */
  latencyMs: number | null;
  /** Why the sample is not held to the bound (a database restart overlapped it). */
  excluded?: string;
  /** A SIGTERM forced by a second one this long after the first: no hand-off, the lease lapses (failover bound from then). */
  forcedAfterMs?: number;
}

/** Time from the last fault until every execution was terminal. */
export interface Quiesce {
  lastFault: string;
  lastFaultAtMs: number;
  /** null: the run timed out before quiescing. */
  quiescedAtMs: number | null;
  boundMs: number;
  /** The bound's terms, for the report. */
  terms: Record<string, number>;
  /**
   * The final batch: the ones the last fault did not touch measure how long such an execution
   * takes on this cluster right now (queue, claim, steps and their commits); when that is longer
   * than the planned step work, the bound's work term is that measured time instead.
   */
  batchIds?: string[];
}

/** What the harness knows about the chaos schedule after pausing it (see schedule.ts). */
export interface ScheduleFact {
  id: string;
  /** The first fire time (the schedule's next fire when it was created), epoch ms. */
  firstFireMs: number;
  /** `lastFireAt` once paused (null: it never fired). */
  lastFireMs: number | null;
  fired: number;
  skipped: number;
  missed: number;
}

/** What the harness knows about the run. */
export interface HarnessFacts {
  submissions: Submission[];
  startFailures: StartFailure[];
  sentSignals: SentSignal[];
  /** Signal sends that failed for good (the execution must still be waiting for them). */
  signalFailures: StartFailure[];
  stops: StopWindow[];
  /** Transactions paused with a running execution's row locked. */
  txPauses?: TxPause[];
  /** Host partitions (cluster mode, harness clock): a runner cut off mid-transaction keeps its row locks until the link heals. */
  partitions?: { host: number; cutAtMs: number; healedAtMs: number }[];
  /** DB clock minus harness clock, ms (pauses and stops are on the DB clock, failover samples on the harness's). @default 0 */
  dbClockOffsetMs?: number;
  probes: ProbeResult[];
  failovers: FailoverSample[];
  /** Bound of a kill -9 / SIGSTOP failover and of a graceful hand-off, ms (a forced stop: see FailoverSample). */
  failoverBoundMs: number;
  handoffBoundMs: number;
  quiesce: Quiesce | null;
  /** Non-quick runs must show at least one fenced-off zombie attempt. */
  requireZombies: boolean;
  /** The every-second schedule that ran through the main phase (absent: none). */
  schedule?: ScheduleFact | null;
}

/** Everything the checks read. */
export interface ChaosData {
  executions: ExecRow[];
  events: EventRow[];
  signals: SignalRow[];
  attempts: AttemptRow[];
  harness: HarnessFacts;
}

/** The verdict of one invariant. */
export interface CheckResult {
  name: string;
  ok: boolean;
  /** Counts that show what was checked (and that it was not vacuous). */
  counts: Record<string, number | string>;
  /** The first violations, human-readable. */
  violations: string[];
  /** Something worth reading that is not a violation. */
  note?: string;
}
