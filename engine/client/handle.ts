/**
 * `WorkflowHandle`: what a caller holds for one execution — result, signal, cancel, describe,
 * history. Every method is a short read or one transaction; `result()` polls with backoff
 * (woken early in-process when the execution finishes here).
 */
import { toMs, type Duration } from '../duration';
import { ExecutionFinishedError, ExecutionNotFoundError, recordError, reviveError, TerminatedError, TimeoutError, ValidationError, type RecordedError } from '../errors';
import { resumeExecution, terminateExecution } from '../store/operator';
import { decodeValue, encodeValue } from '../serialization';
import { findExecution, wakeExecution } from '../store/executions';
import { cancelInTx } from '../store/cancel';
import { loadHistory } from '../store/events';
import { insertSignal, pendingSignalCount } from '../store/signals';
import { leaseHolder } from '../store/claims';
import { isServed } from '../store/runners';
import { notifier } from '../store/notifier';
import { FINISHED_STATUSES, type ExecutionRecord } from '../store/types';
import { MAX_NAME_LENGTH } from '../store/entities';
import type { Database } from '../store/database';
import type { ExecutionDescription, HistoryEntry } from './types';


/** A handle on one execution. */
export class WorkflowHandle<O = unknown> {
  readonly executionId: string;
  #db: Database;
  #payloadLimit: number;

  /** @internal use client.getHandle */
  constructor(db: Database, executionId: string, payloadLimit: number) {
    this.#db = db;
    this.executionId = executionId;
    this.#payloadLimit = payloadLimit;
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
    const onFinished = (id: string) => { if (id === this.executionId) wake?.(); };
    ch.on('finished', onFinished);
    try {
      let delay = 10;
      for (;;) {
        const rec = await this.#load();
        if (FINISHED_STATUSES.includes(rec.status)) return outcomeOf<O>(rec);
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
    if (typeof name !== 'string' || name.length === 0 || [...name].length > MAX_NAME_LENGTH) {
      throw new ValidationError(`signal name must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`, 'name');
    }
    const encoded = encodeValue(payload, `payload of signal "${name}"`, this.#payloadLimit);
    const { sql } = this.#db;
    await sql.tx(async (q) => {
      const rec = await findExecution(q, sql, this.executionId, true);
      if (!rec) throw new ExecutionNotFoundError(this.executionId);
      if (FINISHED_STATUSES.includes(rec.status)) throw new ExecutionFinishedError(this.executionId, rec.status);
      await insertSignal(q, sql.now, this.executionId, name, encoded);
      await wakeExecution(q, sql, this.executionId);
    });
    notifier(this.#db.url).emit('work');
  }

  /**
   * Request cancellation (cooperative: the workflow sees CancelledError at its next command and
   * may run compensation). Never-started executions are cancelled at once.
   */
  async cancel(reason = 'cancelled by client'): Promise<void> {
    const { sql } = this.#db;
    const outcome = await sql.tx((q) => cancelInTx(q, sql, this.executionId, reason));
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
    await terminateExecution(this.#db.sql, this.executionId, JSON.stringify(recordError(new TerminatedError(reason))));
    const ch = notifier(this.#db.url);
    ch.emit('finished', this.executionId);
    ch.emit('work');
  }

  /**
   * Run a failed execution again from its failed step (history before it is replayed, the step
   * runs afresh; the failed attempt's event is kept under `<id>#retry-<n>`).
   */
  async resume(): Promise<{ retriedSeq: number | null }> {
    const out = await resumeExecution(this.#db.sql, this.executionId);
    notifier(this.#db.url).emit('work');
    return out;
  }

  /** Status, attempts, lease holder, template, timings. */
  async describe(): Promise<ExecutionDescription> {
    const rec = await this.#load();
    const { sql } = this.#db;
    const [holder, pending, served] = await Promise.all([
      leaseHolder(sql, rec.id), pendingSignalCount(sql, rec.id), isServed(sql, rec.workflowName),
    ]);
    return {
      id: rec.id, workflowName: rec.workflowName, workflowVersion: rec.workflowVersion, status: rec.status,
      input: decodeValue(rec.input), output: decodeValue(rec.output), error: rec.error ? decodeValue<RecordedError>(rec.error) : null,
      customStatus: decodeValue(rec.customStatus), waitingFor: rec.waitFor, templateKey: rec.templateKey, admitted: rec.admitted,
      attempts: rec.attempt, leaseToken: rec.leaseToken, leaseHolder: holder ? { owner: holder.owner, expiresAt: holder.expiresAt } : null,
      parentId: rec.parentId, cancelRequested: rec.cancelReason, pendingSignals: pending, servedByLiveRunner: served,
      availableAt: rec.availableAt, createdAt: rec.createdAt, startedAt: rec.startedAt, finishedAt: rec.finishedAt, updatedAt: rec.updatedAt,
    };
  }

  /** The ordered, decoded history. */
  async history(): Promise<HistoryEntry[]> {
    await this.#load();
    const events = await loadHistory(this.#db.sql, this.executionId, this.#db.sql.date);
    return events.map((e) => ({
      seq: e.seq, kind: e.kind, name: e.name, status: e.status, value: decodeValue(e.payload),
      attempt: e.attempt, leaseToken: e.leaseToken, at: e.createdAt,
    }));
  }

  async #load(): Promise<ExecutionRecord> {
    const rec = await findExecution(this.#db.sql, this.#db.sql, this.executionId);
    if (!rec) throw new ExecutionNotFoundError(this.executionId);
    return rec;
  }
}

function outcomeOf<O>(rec: ExecutionRecord): O {
  if (rec.status === 'completed') return decodeValue<O>(rec.output);
  const err = rec.error ? decodeValue<RecordedError>(rec.error) : { name: 'Error', message: `execution ${rec.status}` };
  throw reviveError(err);
}

