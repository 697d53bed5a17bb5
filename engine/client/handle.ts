/**
 * `WorkflowHandle`: what a caller holds for one execution — result, signal, cancel, describe,
 * history. Every method is a short read or one transaction; `result()` polls with backoff
 * (woken early in-process when the execution finishes here). A handle is bound to a run
 * (`runId`): to its continue-as-new chain by default, strictly to the one run on request, or
 * — without a run id (`client.getHandle(id)`, `handle.latest()`) — to whichever run holds the id.
 */
import { validateName, validateReason } from '../validation';
import { toMs, type Duration } from '../duration';
import { ExecutionFinishedError, ExecutionNotFoundError, recordError, reviveError, TerminatedError, TimeoutError, ValidationError, WorkflowContinuedAsNewError, WorkflowFailedError, type RecordedError } from '../errors';
import { resumeExecution, terminateExecution } from '../store/operator';
import { decodeValue, encodeValue } from '../serialization';
import { findExecution, wakeExecution } from '../store/executions';
import { cancelInTx } from '../store/cancel';
import { loadHistory } from '../store/events';
import { insertSignal, pendingSignalCount, undeliveredSignals } from '../store/signals';
import { leaseHolder } from '../store/claims';
import { isServed } from '../store/runners';
import { notifier } from '../store/notifier';
import { FINISHED_STATUSES, type ExecutionRecord } from '../store/types';
import { findChainHead, findRun, isRunOf, previousRuns } from '../store/runs';
import type { SqlRunner } from '../store/sql';
import type { Database } from '../store/database';
import type { ExecutionDescription, HistoryEntry } from './types';


/** What a handle is bound to (internal). */
export interface HandleBinding {
  runId: string;
  /** Known chain of the run (saves a read); looked up from runId when absent. */
  firstRunId?: string;
  /** Only this run, never the runs it continued as. */
  strict?: boolean;
}

/** A handle on one execution. */
export class WorkflowHandle<O = unknown> {
  readonly executionId: string;
  /**
   * The run this handle is bound to (the run `client.start` started or found), undefined for a
   * handle that follows the id's latest run. A later run of the id (reuse policy) never changes
   * what a bound handle sees; runs it continued as (`ctx.continueAsNew`) do, unless strict.
   */
  readonly runId: string | undefined;
  #db: Database;
  #payloadLimit: number;
  #binding: HandleBinding | undefined;

  /** @internal use client.start / client.getHandle */
  constructor(db: Database, executionId: string, payloadLimit: number, binding?: HandleBinding) {
    this.#db = db;
    this.executionId = executionId;
    this.#payloadLimit = payloadLimit;
    this.#binding = binding ? { ...binding } : undefined;
    this.runId = binding?.runId;
  }

  /** A handle on the same id that follows its latest run (whatever run holds the id when used). */
  latest(): WorkflowHandle<O> {
    return new WorkflowHandle<O>(this.#db, this.executionId, this.#payloadLimit);
  }

  /**
   * Wait for the result: the typed output, or the workflow's error rebuilt with its recorded
   * name and message (CancelledError when cancelled). `timeout` → TimeoutError.
   */
  async result(options: { timeout?: Duration } = {}): Promise<O> {
    const timeoutMs = options.timeout === undefined ? undefined : toMs(options.timeout, 'timeout');
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    const ch = notifier(this.#db.url);
    let wake: (() => void) | undefined;
    const onFinished = (id: string) => { if (id === this.executionId || id.startsWith(`${this.executionId}#`)) wake?.(); };
    ch.on('finished', onFinished);
    try {
      let delay = 10;
      for (;;) {
        const rec = await this.#load();
        if (FINISHED_STATUSES.includes(rec.status)) return await this.#outcomeOf(rec);
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(`execution "${this.executionId}" did not finish within ${timeoutMs} ms (status ${rec.status})`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(delay, left));
          wake = () => { clearTimeout(t); resolve(); };
        });
        delay = Math.min(500, Math.round(delay * 1.5));
      }
    } finally {
      ch.off('finished', onFinished);
    }
  }

  /** Send a signal: stored first, delivered once, in order. A finished execution → ExecutionFinishedError. */
  async signal(name: string, payload?: unknown): Promise<void> {
    validateName(name, 'signal');
    const encoded = encodeValue(payload, `payload of signal "${name}"`, this.#payloadLimit);
    const { sql } = this.#db;
    await sql.tx(async (q) => {
      const rec = await this.#load(q, true);
      if (FINISHED_STATUSES.includes(rec.status)) throw new ExecutionFinishedError(this.executionId, rec.status);
      await insertSignal(q, sql.now, rec.id, name, encoded);
      await wakeExecution(q, sql, rec.id);
    });
    notifier(this.#db.url).emit('work');
  }

  /**
   * Request cancellation (cooperative: the workflow sees CancelledError at its next command and
   * may run compensation). Never-started executions are cancelled at once.
   */
  async cancel(reason = 'cancelled by client'): Promise<void> {
    validateReason(reason);
    const { sql } = this.#db;
    const outcome = await sql.tx(async (q) => cancelInTx(q, sql, (await this.#load(q, true)).id, reason));
    if (outcome.kind === 'missing') throw new ExecutionNotFoundError(this.executionId);
    if (outcome.kind === 'finished') throw new ExecutionFinishedError(this.executionId, outcome.status);
    const cancelledNow = outcome.kind === 'cancelled';
    const ch = notifier(this.#db.url);
    if (cancelledNow) ch.emit('finished', this.executionId);
    ch.emit('work');
  }

  /**
   * Stop the execution now, without its cooperation or compensation: it ends `cancelled` with a
   * TerminatedError, and a runner still running it is fenced out (its next write is refused).
   */
  async terminate(reason = 'terminated by operator'): Promise<void> {
    const { id } = await this.#load();
    await terminateExecution(this.#db.sql, id, JSON.stringify(recordError(new TerminatedError(reason))));
    const ch = notifier(this.#db.url);
    ch.emit('finished', id);
    ch.emit('work');
  }

  /**
   * Run a failed execution again from its failed step (history before it is replayed, the step
   * runs afresh; the failed attempt's event is kept under `<id>#retry-<n>`).
   */
  async resume(): Promise<{ retriedSeq: number | null }> {
    const out = await resumeExecution(this.#db.sql, (await this.#load()).id);
    notifier(this.#db.url).emit('work');
    return out;
  }

  /** Status, attempts, lease holder, template, timings. */
  async describe(): Promise<ExecutionDescription> {
    const rec = await this.#load();
    const { sql } = this.#db;
    const [holder, pending, served, undelivered, before] = await Promise.all([
      leaseHolder(sql, rec.id), pendingSignalCount(sql, rec.id), isServed(sql, rec.workflowName), undeliveredSignals(sql, sql.date, rec.id),
      rec.continuedFrom ? previousRuns(sql, rec.firstRunId, 20) : [],
    ]);
    return {
      id: rec.id, runId: rec.runId, runNumber: rec.runNumber, firstRunId: rec.firstRunId, continuedFrom: rec.continuedFrom, previousRuns: before,
      workflowName: rec.workflowName, workflowVersion: rec.workflowVersion, status: rec.status,
      input: decodeValue(rec.input), output: decodeValue(rec.output), error: rec.error ? decodeValue<RecordedError>(rec.error) : null,
      customStatus: decodeValue(rec.customStatus), waitingFor: rec.waitFor, templateKey: rec.templateKey, admitted: rec.admitted,
      priority: rec.priority ?? 0, rateKey: rec.rateKey ?? null, attempts: rec.attempt, leaseToken: rec.leaseToken, leaseHolder: holder ? { owner: holder.owner, expiresAt: holder.expiresAt } : null,
      parentId: rec.parentId, cancelRequested: rec.cancelReason, pendingSignals: pending, undeliveredSignals: undelivered, servedByLiveRunner: served,
      availableAt: rec.availableAt, createdAt: rec.createdAt, startedAt: rec.startedAt, finishedAt: rec.finishedAt, updatedAt: rec.updatedAt,
    };
  }

  /** The ordered, decoded history. */
  async history(): Promise<HistoryEntry[]> {
    const rec = await this.#load();
    const events = await loadHistory(this.#db.sql, rec.id, this.#db.sql.date);
    return events.map((e) => ({
      seq: e.seq, kind: e.kind, name: e.name, status: e.status, value: decodeValue(e.payload),
      attempt: e.attempt, leaseToken: e.leaseToken, order: e.order, at: e.createdAt,
    }));
  }

  /**
   * The run this handle means right now: the id's current row (unbound), the bound run, or the
   * current run of the bound run's continue-as-new chain. `forUpdate` locks it (in `q`'s tx).
   */
  async #load(q: SqlRunner = this.#db.sql, forUpdate = false): Promise<ExecutionRecord> {
    const { sql } = this.#db;
    const b = this.#binding;
    let rec: ExecutionRecord | null;
    if (!b) {
      rec = await findExecution(q, sql, this.executionId, forUpdate);
    } else {
      rec = await findRun(q, sql, b.runId, forUpdate);
      if (rec && !isRunOf(rec, this.executionId)) rec = null;
      if (rec && rec.status === 'continued' && !b.strict) {
        b.firstRunId ??= rec.firstRunId;
        // The head may continue again while we look: follow it until it stays put.
        for (let i = 0; i < 5 && rec?.status === 'continued'; i++) rec = await findChainHead(q, sql, b.firstRunId, forUpdate);
      }
    }
    if (!rec) throw new ExecutionNotFoundError(this.executionId);
    return rec;
  }

  async #outcomeOf(rec: ExecutionRecord): Promise<O> {
    if (rec.status === 'completed') return decodeValue<O>(rec.output);
    if (rec.status === 'continued') {
      const next = decodeValue<{ nextRunId?: string } | null>(rec.output);
      throw new WorkflowContinuedAsNewError(this.executionId, rec.runId, next?.nextRunId ?? null);
    }
    const err = rec.error ? decodeValue<RecordedError>(rec.error) : { name: 'Error', message: `execution ${rec.status}` };
    if (rec.status === 'cancelled') throw reviveError(err);
    throw new WorkflowFailedError(this.executionId, err, rec.runId);
  }
}
