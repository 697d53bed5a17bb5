/**
 * `WorkflowHandle`: what a caller holds for one execution — result, signal, cancel, describe,
 * history. Every method is a short read or one transaction; `result()` polls with backoff
 * (woken early in-process when the execution finishes here). A handle is bound to a run
 * (`runId`): to its continue-as-new chain by default, strictly to the one run on request, or
 * — without a run id (`client.getHandle(id)`, `handle.latest()`) — to whichever run holds the id.
 */
import { waitingForBuild } from '../store/builds';
import { forkExecution } from '../store/fork';
import { checkResumeOptions, type ResumeOptions } from './resume-options';
import { validateName, validateReason } from '../validation';
import { toMs, type Duration } from '../duration';
import { ExecutionFinishedError, ExecutionNotFoundError, recordError, reviveError, TerminatedError, TimeoutError, ValidationError, WorkflowContinuedAsNewError, WorkflowFailedError, type RecordedError } from '../errors';
import { resumeExecution, terminateExecution } from '../store/operator';
import { UndecodablePayload } from '../codec/types';
import { localKey, localKeyOrNull, namespaceOf } from '../namespace/keys';
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

  /** The id as stored (namespace prefix included; see engine/namespace). */
  readonly #stored: string;

  /** @internal use client.start / client.getHandle. `storedId` has its namespace prefix; `executionId` is the caller's id. */
  constructor(db: Database, storedId: string, payloadLimit: number, binding?: HandleBinding) {
    this.#db = db;
    this.#stored = storedId;
    this.executionId = localKey(storedId);
    this.#payloadLimit = payloadLimit;
    this.#binding = binding ? { ...binding } : undefined;
    this.runId = binding?.runId;
  }

  /** A handle on the same id that follows its latest run (whatever run holds the id when used). */
  latest(): WorkflowHandle<O> {
    return new WorkflowHandle<O>(this.#db, this.#stored, this.#payloadLimit);
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
    const onFinished = (id: string) => { if (id === this.#stored || id.startsWith(`${this.#stored}#`)) wake?.(); };
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
    const encoded = await this.#db.payloads.encodeValue(payload, `payload of signal "${name}"`, this.#payloadLimit);
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
    if (cancelledNow) ch.emit('finished', this.#stored);
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
   * Run a failed (or parked, non-deterministic) execution again on the current code: from its
   * failed step (the failed attempt's event is kept under `<id>#retry-<n>`), or with `fromStep`
   * from that step (a name: its last occurrence; or a history position) — the committed prefix
   * is kept and replayed, the suffix moved aside under `<id>#fork-<n>`, the lease token bumped.
   * `build` routes it to runners serving that build. Unknown step: ForkPointNotFoundError.
   */
  async resume(options: ResumeOptions = {}): Promise<{ retriedSeq: number | null }> {
    const o = checkResumeOptions(options);
    const { id } = await this.#load();
    const out = o.fromStep === undefined
      ? await resumeExecution(this.#db.sql, id, o.build)
      : { retriedSeq: (await forkExecution(this.#db.sql, id, o.fromStep, o.build)).fromSeq };
    notifier(this.#db.url).emit('work');
    return out;
  }

  /** Status, attempts, lease holder, template, timings. */
  async describe(): Promise<ExecutionDescription> {
    const rec = await this.#load();
    const { sql } = this.#db;
    const [holder, pending, served, undelivered, before, waitingFor] = await Promise.all([
      leaseHolder(sql, rec.id), pendingSignalCount(sql, rec.id), isServed(sql, rec.workflowName, namespaceOf(rec.id)), undeliveredSignals(sql, sql.date, rec.id),
      rec.continuedFrom ? previousRuns(sql, rec.firstRunId, 20) : [], waitingForBuild(sql, rec),
    ]);
    const door = this.#db.payloads;
    const [input, output, error, customStatus] = await Promise.all([door.decodeForDisplay(rec.input), door.decodeForDisplay(rec.output),
      rec.error ? door.decodeForDisplay(rec.error) : null, door.decodeForDisplay(rec.customStatus)]);
    return {
      id: localKey(rec.id), runId: rec.runId, runNumber: rec.runNumber, firstRunId: rec.firstRunId, continuedFrom: rec.continuedFrom,
      previousRuns: before.map((r) => ({ ...r, executionId: localKey(r.executionId) })),
      workflowName: rec.workflowName, workflowVersion: rec.workflowVersion, status: rec.status,
      startBuild: rec.startBuild, lastBuild: rec.lastBuild, lastVersion: rec.lastVersion, waitingForBuild: waitingFor,
      input, output, error: error instanceof UndecodablePayload ? { name: 'UndecodablePayload', message: error.description } : (error as RecordedError | null),
      customStatus, waitingFor: rec.waitFor, templateKey: localKeyOrNull(rec.templateKey), admitted: rec.admitted,
      priority: rec.priority ?? 0, rateKey: localKeyOrNull(rec.rateKey ?? null), attempts: rec.attempt, leaseToken: rec.leaseToken, leaseHolder: holder ? { owner: holder.owner, expiresAt: holder.expiresAt } : null,
      parentId: localKeyOrNull(rec.parentId), cancelRequested: rec.cancelReason, pendingSignals: pending, undeliveredSignals: undelivered, servedByLiveRunner: served,
      availableAt: rec.availableAt, createdAt: rec.createdAt, startedAt: rec.startedAt, finishedAt: rec.finishedAt, updatedAt: rec.updatedAt,
    };
  }

  /** The ordered, decoded history. */
  async history(): Promise<HistoryEntry[]> {
    const rec = await this.#load();
    const events = await loadHistory(this.#db.sql, rec.id, this.#db.sql.date);
    const values = await Promise.all(events.map((e) => this.#db.payloads.decodeForDisplay(e.payload)));
    return events.map((e, i) => ({
      seq: e.seq, kind: e.kind, name: e.name, status: e.status, value: values[i],
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
      rec = await findExecution(q, sql, this.#stored, forUpdate);
    } else {
      rec = await findRun(q, sql, b.runId, forUpdate);
      if (rec && !isRunOf(rec, this.#stored)) rec = null;
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
    const door = this.#db.payloads;
    if (rec.status === 'completed') return door.decodeValue<O>(rec.output);
    if (rec.status === 'continued') {
      const next = await door.decodeValue<{ nextRunId?: string } | null>(rec.output);
      throw new WorkflowContinuedAsNewError(this.executionId, rec.runId, next?.nextRunId ?? null);
    }
    const err = rec.error ? await door.decodeValue<RecordedError>(rec.error) : { name: 'Error', message: `execution ${rec.status}` };
    if (rec.status === 'cancelled') throw reviveError(err);
    throw new WorkflowFailedError(this.executionId, err, rec.runId);
  }
}
