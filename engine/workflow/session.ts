/**
 * One run of one claimed execution: the state the context's commands share (history, the
 * buffered value events and status, cancellation, in-flight commands) and the only path to the
 * store, `commit`, which is always fenced by the lease token. When the run must stop — it
 * suspended, lost its lease, was aborted, or hit non-determinism — `ended` resolves and every
 * later command simply never resolves, so workflow code can't act past that point.
 */
import type { Logger } from 'pino';
import { CancelledError, LeaseLostError, NonDeterminismError, type RecordedError } from '../errors';
import { findExecution } from '../store/executions';
import { nextSignal, type StoredSignal } from '../store/signals';
import { CancelRequested, commitFenced, eventsOnly, type CommitPlan, type FencedEvents } from '../store/transitions';
import { isConnectionError, type SqlRunner, type SqlStore } from '../store/sql';
import { EventKind, type FinishItem, type ClaimedExecution, type ExecutionRecord, type HistoryEvent, type Lease, type NewEvent, type NewExecution, type WaitFor } from '../store/types';
import { matchEvent } from './replay';
import type { WorkflowDefinition } from './define-workflow';

/** How a run ended without finishing the workflow. */
export type RunInterruption =
  | { kind: 'suspended'; waitFor: WaitFor }
  | { kind: 'lease-lost'; error: LeaseLostError }
  | { kind: 'aborted'; reason: string }
  | { kind: 'fatal'; error: NonDeterminismError }
  | { kind: 'continued'; runId: string };

/** Observer of a run (the runner turns these into its typed events). */
export type SessionEmit = (event: string, data: Record<string, unknown>) => void;

/** Settings of a session. */
export interface SessionOptions {
  store: SqlStore;
  record: ClaimedExecution;
  history: readonly HistoryEvent[];
  definition: WorkflowDefinition<unknown, unknown>;
  owner: string;
  /** Waits at most this long are held in memory instead of suspending. */
  holdWaitsUpToMs: number;
  payloadLimitBytes: number;
  /** False once the runner's local lease deadline has passed (checked before each commit). */
  leaseValid: () => boolean;
  emit: SessionEmit;
  nudge: () => void;
  logger: Logger;
  /** Group commit of plain checkpoints (the runner's batcher); default: one statement each. */
  commitEvents?: (item: FencedEvents) => Promise<void>;
  /** Group commit of plain terminal commits (the runner's finish batcher). */
  commitFinish?: (item: FinishItem) => Promise<void>;
}

/** A command's commit request (the session adds buffered events, status and nextSeq). */
export interface CommitRequest {
  events: NewEvent[];
  stepAttempt?: number;
  /** Keep next_seq at this position (a step's retry bookkeeping). */
  keepSeq?: number;
  consumeSignal?: { id: number; seq: number };
  children?: NewExecution[];
}

/**
 * A promise that never settles: what a command returns once the run has ended. A fresh one each
 * time — a shared one would keep every suspended workflow's async frame reachable forever.
 */
const never = (): Promise<never> => new Promise<never>(() => undefined);

/** Longest a read inside a command keeps retrying across a lost connection (a DB restart). */
const READ_RETRY_MS = 120_000;

/** Shared state of one run. */
export class ExecutionSession {
  readonly store: SqlStore;
  readonly record: ClaimedExecution;
  readonly history: ReadonlyMap<number, HistoryEvent>;
  /** One past the highest recorded position: commands below it are replaying. */
  readonly replayEnd: number;
  readonly definition: WorkflowDefinition<unknown, unknown>;
  readonly lease: Lease;
  readonly holdWaitsUpToMs: number;
  readonly payloadLimitBytes: number;
  /** ctx.signal: aborted on cancellation or when the run ends. */
  readonly abort = new AbortController();
  /** Aborted only when the run ends (steps after a delivered cancellation listen to this). */
  readonly death = new AbortController();
  readonly ended: Promise<RunInterruption>;
  dead = false;
  cancelReason: string | null;
  #draining = new AbortController();
  #cancelDelivered = false;
  /** > 0 while compensations run: a pending cancellation waits until they are done. */
  #shield = 0;
  #written: number;
  #buffered: NewEvent[] = [];
  #customStatus: string | null | undefined = undefined;
  #inflight = 0;
  #drained: (() => void)[] = [];
  #end!: (r: RunInterruption) => void;
  #claimedAtMono = performance.now();
  #opts: SessionOptions;

  constructor(opts: SessionOptions) {
    this.#opts = opts;
    this.store = opts.store;
    this.record = opts.record;
    this.history = new Map(opts.history.map((e) => [e.seq, e]));
    this.replayEnd = opts.history.length ? Math.max(...opts.history.map((e) => e.seq)) + 1 : 0;
    this.definition = opts.definition;
    this.lease = { executionId: opts.record.id, token: opts.record.leaseToken, owner: opts.owner };
    this.holdWaitsUpToMs = opts.holdWaitsUpToMs;
    this.payloadLimitBytes = opts.payloadLimitBytes;
    this.cancelReason = opts.record.cancelReason;
    this.#written = Math.max(opts.record.nextSeq, this.replayEnd);
    this.ended = new Promise((resolve) => (this.#end = resolve));
    if (this.cancelReason !== null) {
      if (this.#cancelAlreadyRecorded()) this.#cancelDelivered = true;
      this.abort.abort(new CancelledError(this.cancelReason));
    }
  }

  /** The database clock now, estimated from the claim's reading plus local monotonic time. */
  dbNowMs(): number {
    return Math.round(this.record.dbNow.getTime() + (performance.now() - this.#claimedAtMono));
  }

  /** The recorded event at `seq` (see replay.ts); non-determinism ends the run. */
  match(seq: number, kind: EventKind, name: string): HistoryEvent | undefined {
    try {
      return matchEvent(this.history, seq, kind, name);
    } catch (err) {
      if (err instanceof NonDeterminismError) this.die({ kind: 'fatal', error: err });
      throw err;
    }
  }

  /** The signal step bodies listen to. */
  stepSignal(): AbortSignal {
    return this.#cancelDelivered || this.#shield > 0 ? this.death.signal : this.abort.signal;
  }

  get cancelPendingUndelivered(): boolean {
    return this.cancelReason !== null && !this.#cancelDelivered;
  }

  emit(event: string, data: Record<string, unknown>): void {
    this.#opts.emit(event, { executionId: this.record.id, workflow: this.record.workflowName, ...data });
  }

  nudge(): void {
    this.#opts.nudge();
  }

  buffer(ev: NewEvent): void {
    this.#buffered.push(ev);
  }

  setCustomStatus(json: string | null): void {
    this.#customStatus = json;
  }

  /** A cancellation was requested while running (heartbeat, or a fence said so). */
  requestCancel(reason: string): void {
    if (this.cancelReason === null) this.cancelReason = reason;
    if (!this.abort.signal.aborted) this.abort.abort(new CancelledError(reason));
  }

  markCancelDelivered(): void {
    this.#cancelDelivered = true;
  }

  /** Deliver a pending cancellation at `seq`: record it, then throw CancelledError. */
  async deliverCancelAt(seq: number, payload: Record<string, unknown> = {}): Promise<void> {
    if (!this.cancelPendingUndelivered || this.#shield > 0) return;
    await this.commit({ events: [{ seq, kind: EventKind.cancel, name: 'cancel', status: 'delivered', payload: JSON.stringify({ reason: this.cancelReason, ...payload }), attempt: 1 }] });
    this.#cancelDelivered = true;
    this.emit('execution:cancel-delivered', { seq });
    throw new CancelledError(this.cancelReason ?? 'cancelled');
  }

  /** Run `fn` unaffected by a cancellation (compensations): it is delivered after `fn`. */
  async shielded<T>(fn: () => Promise<T>): Promise<T> {
    this.#shield++;
    try { return await fn(); } finally { this.#shield--; }
  }

  /**
   * Graceful hand-off: let the command in flight finish and commit, then end the run (aborted)
   * at the next command or in-memory wait, so the lease can be released for a peer at once.
   */
  drain(): void {
    this.#draining.abort();
  }

  /** Run a live command, counting it as in flight; a dead session never resolves it. */
  async track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.dead) return never();
    if (this.#draining.signal.aborted) {
      this.die({ kind: 'aborted', reason: 'draining' });
      return never();
    }
    this.#inflight++;
    try {
      return await fn();
    } finally {
      this.#inflight--;
      if (this.#inflight <= 1) this.#drained.splice(0).forEach((f) => f());
    }
  }

  /** Fenced commit of a command's events plus everything buffered. Never resolves once dead. */
  async commit(req: CommitRequest & Partial<Pick<CommitPlan, 'suspend' | 'recheck'>>): Promise<'committed' | 'recheck-failed'> {
    if (this.dead) return never();
    if (!this.#opts.leaseValid()) {
      this.die({ kind: 'lease-lost', error: new LeaseLostError(this.record.id, this.lease.token, 'local lease deadline passed before commit') });
      return never();
    }
    const events = [...this.#buffered, ...req.events].sort((a, b) => a.seq - b.seq);
    const maxSeq = events.length ? events[events.length - 1].seq + 1 : 0;
    const nextSeq = Math.max(this.#written, maxSeq, req.keepSeq ?? 0);
    // next_seq/step_attempt only matter to a step's retry bookkeeping and to suspensions;
    // a plain checkpoint leaves the row alone (one INSERT … SELECT, see transitions.ts).
    const touchesRow = req.stepAttempt !== undefined || req.suspend !== undefined || req.consumeSignal !== undefined || (req.children?.length ?? 0) > 0 || this.#customStatus !== undefined;
    const plan: CommitPlan = {
      events, nextSeq, stepAttempt: touchesRow ? (req.stepAttempt ?? 0) : undefined, customStatus: this.#customStatus, ignoreCancel: this.#cancelDelivered || events.some((e) => e.kind === EventKind.cancel),
      consumeSignal: req.consumeSignal, children: req.children, suspend: req.suspend, recheck: req.recheck,
    };
    for (;;) {
      try {
        const res = this.#opts.commitEvents && eventsOnly(plan)
          ? await this.#opts.commitEvents({ lease: this.lease, events: plan.events, ignoreCancel: plan.ignoreCancel === true }).then(() => 'committed' as const)
          : await commitFenced(this.store, this.lease, plan);
        if (res === 'committed') {
          this.#buffered = this.#buffered.filter((b) => !events.includes(b));
          this.#customStatus = undefined;
          this.#written = nextSeq;
        }
        return res;
      } catch (err) {
        if (err instanceof CancelRequested) {
          this.requestCancel(err.reason);
          plan.ignoreCancel = true; // commit what was done; the cancellation is delivered at the next command
          continue;
        }
        if (err instanceof LeaseLostError) {
          this.die({ kind: 'lease-lost', error: err });
          return never();
        }
        throw err;
      }
    }
  }

  /** Finish the execution (terminal). Returns false when the lease was lost. */
  async finish(status: 'completed' | 'failed' | 'cancelled' | 'continued', output: string | null, error: RecordedError | null, record: ExecutionRecord, continueAsNew?: CommitPlan['continueAsNew']): Promise<boolean> {
    if (!this.#opts.leaseValid()) return false;
    const events = [...this.#buffered].sort((a, b) => a.seq - b.seq);
    const maxSeq = events.length ? events[events.length - 1].seq + 1 : 0;
    try {
      const alone = events.length === 0 && this.#customStatus === undefined && !record.parentId && !record.templateKey;
      if (alone && this.#opts.commitFinish && status !== 'continued') {
        await this.#opts.commitFinish({ lease: this.lease, status, output, error: error ? JSON.stringify(error) : null, nextSeq: Math.max(this.#written, maxSeq) });
        return true;
      }
      await commitFenced(this.store, this.lease, {
        events, nextSeq: Math.max(this.#written, maxSeq), customStatus: this.#customStatus, ignoreCancel: true,
        finish: { status, output, error: error ? JSON.stringify(error) : null }, continueAsNew,
      }, record);
      return true;
    } catch (err) {
      if (err instanceof LeaseLostError) return false;
      throw err;
    }
  }

  /**
   * Suspend the run: once other in-flight commands settled, commit the wait (lease released).
   * Returns when `recheck` found that what we waited for arrived; otherwise never.
   */
  async suspend(s: { waitFor: WaitFor; dueInMs: number | null; events?: NewEvent[]; recheck?: (q: SqlRunner) => Promise<boolean>; stepAttempt?: number; keepSeq?: number }): Promise<never> {
    while (this.#inflight > 1 && !this.dead) await new Promise<void>((r) => this.#drained.push(r));
    const res = await this.commit({
      events: s.events ?? [], stepAttempt: s.stepAttempt, keepSeq: s.keepSeq,
      suspend: { waitFor: s.waitFor, dueInMs: s.dueInMs === null ? null : Math.max(0, s.dueInMs) }, recheck: s.recheck,
    });
    if (res === 'recheck-failed') return undefined as never;
    this.die({ kind: 'suspended', waitFor: s.waitFor });
    return never();
  }

  /** In-memory wait (short timers, retry backoff); never resolves if the run ends meanwhile. */
  async wait(ms: number): Promise<void> {
    if (this.dead) return never();
    const draining = this.#draining.signal;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      this.death.signal.addEventListener('abort', done, { once: true });
      draining.addEventListener('abort', done, { once: true });
      function done() { clearTimeout(t); resolve(); }
    });
    // Drained mid-wait: the wait is already durable (committed), so stop here and hand over.
    if (!this.dead && draining.aborted) this.die({ kind: 'aborted', reason: 'draining' });
    if (this.dead) return never();
  }

  nextSignal(name: string, q?: SqlRunner): Promise<StoredSignal | null> {
    return q ? nextSignal(q, this.record.id, name) : this.#read(() => nextSignal(this.store, this.record.id, name));
  }

  findExecution(id: string, q?: SqlRunner): Promise<ExecutionRecord | null> {
    return q ? findExecution(q, this.store, id) : this.#read(() => findExecution(this.store, this.store, id));
  }

  /**
   * A read a command makes outside a commit (the inbox, a child's status). A lost connection is
   * retried, like an unknown-outcome commit, instead of failing the workflow (bench/chaos: a
   * killed connection during waitForSignal failed the execution with an SqlError).
   */
  async #read<T>(fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isConnectionError(err) || Date.now() - started > READ_RETRY_MS) throw err;
        if (this.dead) return never();
        await new Promise<void>((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
        if (this.dead) return never();
      }
    }
  }

  /** End the run (first reason wins); aborts step signals and in-memory waits. */
  die(reason: RunInterruption): void {
    if (this.dead) return;
    this.dead = true;
    this.#end(reason);
    const why = reason.kind === 'lease-lost' ? reason.error : new Error(`run ended: ${reason.kind}`);
    if (!this.abort.signal.aborted) this.abort.abort(why);
    this.death.abort(why);
  }

  #cancelAlreadyRecorded(): boolean {
    for (const e of this.history.values()) if (e.kind === EventKind.cancel) return true;
    return false;
  }
}
