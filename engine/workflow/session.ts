/**
 * One run of one claimed execution: the state the context's commands share (history, the
 * buffered value events and status, cancellation, the scheduler of concurrent commands) and
 * the only path to the store, `commit`, which is always fenced by the lease token. When the
 * run must stop — it suspended, lost its lease, was aborted, hit non-determinism, or the store
 * failed — `ended` resolves and every later command simply never resolves, so workflow code
 * can't act past that point. No store error ever reaches workflow code.
 */
import { PLAIN_DOOR, type PayloadDoor } from '../codec/door';
import type { Logger } from 'pino';
import type { MikroORM } from '@mikro-orm/core';
import { CancelledError, LeaseLostError, NonDeterminismError, PayloadCodecError, type RecordedError } from '../errors';
import { decodeValue } from '../serialization';
import { findExecution, isDuplicateKeyError } from '../store/executions';
import { nextSignal, type StoredSignal } from '../store/signals';
import { CancelRequested, commitFenced, eventsOnly, type CommitPlan, type FencedEvents } from '../store/transitions';
import { isConnectionError, type SqlRunner, type SqlStore } from '../store/sql';
import { EventKind, FINISHED_STATUSES, type FinishItem, type ClaimedExecution, type ExecutionRecord, type HistoryEvent, type Lease, type NewEvent, type WaitFor } from '../store/types';
import { never, type RunInterruption } from './command';
import type { CommitRequest } from './commit-request';
import { matchEvent } from './replay';
import { Scheduler, type SchedulerHost } from './scheduler';
import { LazyAbortController } from './lazy-abort';
import type { WorkflowDefinition } from './define-workflow';

export type { RunInterruption } from './command';
export type { CommitRequest } from './commit-request';

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
  /** False once the runner's local lease deadline has passed (checked before each commit, command and step body). */
  leaseValid: () => boolean;
  emit: SessionEmit;
  nudge: () => void;
  logger: Logger;
  /** Group commit of plain checkpoints (the runner's batcher); default: one statement each. */
  commitEvents?: (item: FencedEvents) => Promise<void>;
  /** Group commit of plain terminal commits (the runner's finish batcher). */
  commitFinish?: (item: FinishItem) => Promise<void>;
  /** The application's MikroORM for transactional steps (engine/transactions). */
  orm?: MikroORM;
  /** The payload door (codec chain) of the store. @default plain JSON */
  payloads?: PayloadDoor;
  /** Replay testing: end the run at the first command past the history, before it starts. */
  replayOnly?: (first: { seq: number; kind: EventKind; name: string }) => void;
}

/** Longest a read inside a command keeps retrying across a lost connection (a DB restart). */
const READ_RETRY_MS = 120_000;

/** Shared state of one run. */
export class ExecutionSession implements SchedulerHost {
  readonly store: SqlStore;
  readonly record: ClaimedExecution;
  readonly history: ReadonlyMap<number, HistoryEvent>;
  readonly definition: WorkflowDefinition<unknown, unknown>;
  readonly lease: Lease;
  readonly holdWaitsUpToMs: number;
  readonly payloadLimitBytes: number;
  readonly replayOnly: SessionOptions['replayOnly'];
  /** One past the last recorded position (patch.ts: a position below it belongs to the recorded code). */
  readonly replayEnd: number;
  /** ctx.signal: aborted on cancellation or when the run ends. */
  readonly abort = new LazyAbortController();
  readonly ended: Promise<RunInterruption>;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly orm: MikroORM | undefined;
  readonly payloads: PayloadDoor;
  dead = false;
  draining = false;
  cancelReason: string | null;
  #written: number;
  #buffered: NewEvent[] = [];
  #customStatus: string | null | undefined = undefined;
  /** Buffered events riding a commit in flight, by position. */
  #inFlight = new Map<number, Promise<void>>();
  /** Children started by this execution, and whether a cancellation should reach them. */
  #children = new Map<string, boolean>();
  #end!: (r: RunInterruption) => void;
  #claimedAtMono = performance.now();
  #opts: SessionOptions;

  constructor(opts: SessionOptions) {
    this.#opts = opts;
    this.store = opts.store;
    this.record = opts.record;
    this.logger = opts.logger;
    this.orm = opts.orm;
    this.payloads = opts.payloads ?? PLAIN_DOOR;
    this.history = new Map(opts.history.map((e) => [e.seq, e]));
    const replayEnd = opts.history.length ? Math.max(...opts.history.map((e) => e.seq)) + 1 : 0;
    this.replayEnd = replayEnd;
    this.definition = opts.definition;
    this.lease = { executionId: opts.record.id, token: opts.record.leaseToken, owner: opts.owner };
    this.holdWaitsUpToMs = opts.holdWaitsUpToMs;
    this.payloadLimitBytes = opts.payloadLimitBytes;
    this.replayOnly = opts.replayOnly;
    this.cancelReason = opts.record.cancelReason;
    this.#written = Math.max(opts.record.nextSeq, replayEnd);
    this.ended = new Promise((resolve) => (this.#end = resolve));
    for (const e of opts.history) {
      if (e.kind !== EventKind.childStart) continue;
      const p = decodeValue<{ childId?: string; abandon?: boolean }>(e.payload);
      if (p?.childId) this.#children.set(p.childId, p.abandon !== true);
    }
    this.scheduler = new Scheduler(this, opts.history);
    if (this.cancelReason !== null) this.abort.abort(new CancelledError(this.cancelReason));
  }

  leaseValid(): boolean {
    return this.#opts.leaseValid();
  }

  /** Note a started child (cancelled with this execution unless `abandon`). */
  noteChild(childId: string, abandon: boolean): void {
    this.#children.set(childId, !abandon);
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
    if (!this.abort.aborted) this.abort.abort(new CancelledError(reason));
    this.scheduler.requestCancel();
  }

  /**
   * Graceful hand-off: let the commands in flight finish and commit, then end the run (aborted)
   * at the next quiet point, so the lease can be released for a peer at once.
   */
  drain(): void {
    this.draining = true;
    this.scheduler.drain();
  }

  /**
   * Fenced commit of a command's events plus everything buffered. Never resolves once dead.
   * A store error other than a lost lease ends the run (the lease is handed back and the
   * execution continues elsewhere): it never reaches workflow code.
   */
  async commit(req: CommitRequest & Partial<Pick<CommitPlan, 'suspend' | 'recheck' | 'cancelChildren'>>): Promise<'committed' | 'recheck-failed' | 'cancel-requested'> {
    if (this.dead) return never();
    if (!this.#opts.leaseValid()) {
      this.die({ kind: 'lease-lost', error: new LeaseLostError(this.record.id, this.lease.token, 'local lease deadline passed before commit') });
      return never();
    }
    let fireTimers: { seq: number; order: number }[] | undefined;
    if (req.fireTimer) {
      const f = req.fireTimer;
      // Its `scheduled` row may ride a commit still in flight: the update must follow it.
      const inFlight = this.#inFlight.get(f.seq);
      if (inFlight) await inFlight.catch(() => undefined);
      if (this.dead) return never();
      const buffered = this.#buffered.find((e) => e.seq === f.seq && e.kind === EventKind.timer);
      if (buffered) { buffered.status = 'fired'; buffered.order = f.order; } else fireTimers = [f];
    }
    // Buffered events ride exactly one commit (concurrent commits must not both insert them).
    const taken = this.#buffered.splice(0);
    const events = [...taken, ...req.events].sort((a, b) => a.seq - b.seq);
    let done!: () => void;
    const settled = new Promise<void>((r) => (done = r));
    for (const e of taken) this.#inFlight.set(e.seq, settled);
    try {
      return await this.#commitPlan(req, taken, events, fireTimers);
    } finally {
      for (const e of taken) if (this.#inFlight.get(e.seq) === settled) this.#inFlight.delete(e.seq);
      done();
    }
  }

  async #commitPlan(req: CommitRequest & Partial<Pick<CommitPlan, 'suspend' | 'recheck' | 'cancelChildren'>>, taken: NewEvent[], events: NewEvent[],
    fireTimers: { seq: number; order: number }[] | undefined): Promise<'committed' | 'recheck-failed' | 'cancel-requested'> {
    const maxSeq = events.length ? events[events.length - 1].seq + 1 : 0;
    const nextSeq = Math.max(this.#written, maxSeq, req.keepSeq ?? 0);
    // next_seq/step_attempt only matter to a step's retry bookkeeping and to suspensions;
    // a plain checkpoint leaves the row alone (one INSERT … SELECT, see transitions.ts).
    const statusJson = this.#customStatus;
    const customStatus = await this.#encodeStatus(statusJson);
    const touchesRow = req.stepAttempt !== undefined || req.suspend !== undefined || req.consumeSignal !== undefined || (req.children?.length ?? 0) > 0 ||
      customStatus !== undefined || fireTimers !== undefined || req.cancelChildren !== undefined;
    const plan: CommitPlan = {
      events, nextSeq, stepAttempt: touchesRow ? (req.stepAttempt ?? 0) : undefined, customStatus,
      ignoreCancel: this.scheduler.cancelState === 'delivered' || events.some((e) => e.kind === EventKind.cancel),
      consumeSignal: req.consumeSignal, children: req.children, suspend: req.suspend, recheck: req.recheck, fireTimers, cancelChildren: req.cancelChildren,
    };
    for (;;) {
      try {
        const res = this.#opts.commitEvents && eventsOnly(plan)
          ? await this.#opts.commitEvents({ lease: this.lease, events: plan.events, ignoreCancel: plan.ignoreCancel === true }).then(() => 'committed' as const)
          : await commitFenced(this.store, this.lease, plan);
        if (this.dead) return never();
        if (res === 'committed') {
          if (this.#customStatus === statusJson) this.#customStatus = undefined;
          this.#written = Math.max(this.#written, nextSeq);
        } else this.#buffered.unshift(...taken); // rolled back (something arrived): they go with the next commit
        return res;
      } catch (err) {
        if (this.dead) return never();
        if (err instanceof CancelRequested) {
          if (this.cancelReason === null) this.cancelReason = err.reason;
          if (!this.abort.aborted) this.abort.abort(new CancelledError(err.reason));
          // A suspension must not park a cancelled execution: deliver the cancellation instead.
          if (plan.suspend) { this.#buffered.unshift(...taken); return 'cancel-requested'; }
          if (plan.ignoreCancel) { this.#storeFailed(err); return never(); } // cannot happen: the fence ignored cancellation
          this.scheduler.requestCancel();
          plan.ignoreCancel = true; // commit what was done; the cancellation is delivered in its turn
          continue;
        }
        if (err instanceof LeaseLostError) {
          this.die({ kind: 'lease-lost', error: err });
          return never();
        }
        if (req.passDuplicate && isDuplicateKeyError(err)) { this.#buffered.unshift(...taken.filter((e) => !req.events.includes(e))); throw err; }
        this.#storeFailed(err);
        return never();
      }
    }
  }

  /** Commit the compound wait of a run whose every branch is blocked (see scheduler.ts). */
  async suspend(waitFor: WaitFor, dueInMs: number | null, signals: string[], children: string[]): Promise<'suspended' | 'arrived' | 'cancel'> {
    const res = await this.commit({
      events: [], suspend: { waitFor, dueInMs: dueInMs === null ? null : Math.max(0, dueInMs) },
      recheck: async (q) => {
        for (const name of signals) if ((await nextSignal(q, this.record.id, name)) !== null) return false;
        for (const id of children) {
          const c = await findExecution(q, this.store, id);
          if (!c || FINISHED_STATUSES.includes(c.status)) return false;
        }
        return true;
      },
    });
    if (res === 'recheck-failed') return 'arrived';
    if (res === 'cancel-requested') return 'cancel';
    this.die({ kind: 'suspended', waitFor });
    return 'suspended';
  }

  /** Record the cancellation delivered at `seq` and ask the children it reaches to cancel. */
  async commitCancel(seq: number, order: number): Promise<void> {
    const reason = this.cancelReason ?? 'cancelled';
    const ids = [...this.#children].filter(([, cancel]) => cancel).map(([id]) => id);
    await this.commit({
      events: [{ seq, kind: EventKind.cancel, name: 'cancel', status: 'delivered', payload: JSON.stringify({ reason }), attempt: 1, order }],
      cancelChildren: ids.length ? { ids, reason: `parent ${this.record.id} cancelled: ${reason}` } : undefined,
    });
    this.emit('execution:cancel-delivered', { seq });
  }

  /** Finish the execution (terminal). Returns false when the lease was lost. */
  async finish(status: 'completed' | 'failed' | 'cancelled' | 'continued', output: string | null, error: RecordedError | null, record: ExecutionRecord, continueAsNew?: CommitPlan['continueAsNew']): Promise<boolean> {
    if (!this.#opts.leaseValid()) return false;
    const events = [...this.#buffered].sort((a, b) => a.seq - b.seq);
    const maxSeq = events.length ? events[events.length - 1].seq + 1 : 0;
    try {
      const customStatus = await this.#encodeStatus(this.#customStatus);
      const errorText = error ? await this.payloads.encodeError(error, this.payloadLimitBytes) : null;
      const alone = events.length === 0 && customStatus === undefined && !record.parentId && (!record.templateKey || record.admitted);
      if (alone && this.#opts.commitFinish && status !== 'continued') {
        await this.#opts.commitFinish({ lease: this.lease, status, output, error: errorText, nextSeq: Math.max(this.#written, maxSeq), templateKey: record.templateKey });
        return true;
      }
      await commitFenced(this.store, this.lease, {
        events, nextSeq: Math.max(this.#written, maxSeq), customStatus, ignoreCancel: true,
        finish: { status, output, error: errorText }, continueAsNew,
      }, record);
      return true;
    } catch (err) {
      if (err instanceof LeaseLostError) return false;
      throw err;
    }
  }

  /** Decode a payload read while running (a signal, a child's outcome); one this runner cannot decode parks the execution (fatal). */
  async decodeLive<T>(stored: string | null): Promise<T> {
    try {
      return await this.payloads.decodeValue<T>(stored);
    } catch (err) {
      if (!(err instanceof PayloadCodecError)) throw err;
      this.die({ kind: 'fatal', error: err });
      return never();
    }
  }

  /** The custom status as stored (codec chain applied); one over the size limit after encoding is dropped with a warning. */
  async #encodeStatus(json: string | null | undefined): Promise<string | null | undefined> {
    if (json === undefined || json === null || !this.payloads.active) return json;
    try {
      return await this.payloads.encodeJson(json, 'workflow status', this.payloadLimitBytes);
    } catch (err) {
      this.logger.warn({ err, execution_id: this.record.id }, 'workflow status not stored: it could not be encoded within the payload limit');
      if (this.#customStatus === json) this.#customStatus = undefined;
      return undefined;
    }
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
        if (this.dead) return never();
        if (!isConnectionError(err) || Date.now() - started > READ_RETRY_MS) {
          this.#storeFailed(err);
          return never();
        }
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
    // The reason is built only if someone reads ctx.signal (an Error per finished run is costly).
    if (!this.abort.aborted) this.abort.abortWith(() => (reason.kind === 'lease-lost' ? reason.error : new Error(`run ended: ${reason.kind}`)));
    this.scheduler.stop();
  }

  #storeFailed(err: unknown): void {
    const e = err as { code?: unknown; errno?: unknown; message?: unknown } | null;
    this.logger.warn({ err_code: e?.code, errno: e?.errno, err_message: String(e?.message ?? err).slice(0, 500) }, 'store error in a commit; run ended, lease handed back');
    this.die({ kind: 'aborted', reason: `store error: ${String(e?.message ?? err).slice(0, 200)}` });
  }
}
