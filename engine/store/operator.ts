/**
 * Operator transitions, each ONE transaction on the row locked first. `terminate`: any unfinished
 * execution → cancelled now, lease token bumped and lease row deleted, so a running holder is
 * fenced out (its next write is LeaseLostError) without its cooperation. `resume`: a failed
 * execution → queued again from its failed step: a trailing failed step event is moved aside
 * under `<id>#retry-<n>` (same seq, status kept; nothing is deleted) so replay runs that step
 * afresh. The row is fenced on its lease token and status in the same transaction.
 */
import { ExecutionFinishedError, ExecutionNotFoundError, ExecutionNotResumableError } from '../errors';
import { findExecution, wakeExecution } from './executions';
import { executionLockKey } from './lock-keys';
import { markUndelivered, reopenUndelivered } from './signals';
import { wakeNextInTemplate } from './transitions';
import type { SqlStore } from './sql';
import { FINISHED_STATUSES, type ExecutionRecord } from './types';

/** Terminate `id`: cancelled with `errorJson`, its holder fenced out. Returns the record before. */
export async function terminateExecution(store: SqlStore, id: string, errorJson: string): Promise<ExecutionRecord> {
  return store.tx(async (q) => {
    const rec = await findExecution(q, store, id, true);
    if (!rec) throw new ExecutionNotFoundError(id);
    if (FINISHED_STATUSES.includes(rec.status)) throw new ExecutionFinishedError(id, rec.status);
    const res = await q.run(
      `UPDATE workflow_executions SET status = 'cancelled', error = ?, available_at = NULL, wait_for = NULL, ` +
        `lease_token = lease_token + 1, finished_at = ${store.now}, updated_at = ${store.now} ` +
        "WHERE id = ? AND lease_token = ? AND status NOT IN ('completed', 'failed', 'cancelled')",
      [errorJson, id, rec.leaseToken],
    );
    if (res.affectedRows !== 1) throw new ExecutionFinishedError(id, 'changed while terminating');
    await q.run('DELETE FROM distributed_locks WHERE lock_key = ?', [executionLockKey(id)]);
    await markUndelivered(q, [id]);
    if (rec.parentId) await wakeExecution(q, store, rec.parentId);
    if (rec.templateKey && rec.admitted) await wakeNextInTemplate(q, store, rec.templateKey);
    return rec;
  });
}

/** Resume failed `id` from its failed step. Returns the seq of the step that runs again, if any. */
export async function resumeExecution(store: SqlStore, id: string, build: string | null = null): Promise<{ retriedSeq: number | null }> {
  return store.tx(async (q) => {
    const rec = await findExecution(q, store, id, true);
    if (!rec) throw new ExecutionNotFoundError(id);
    if (rec.status !== 'failed') throw new ExecutionNotResumableError(id, rec.status);
    const [last] = await q.all<{ seq: unknown; kind: unknown; status: unknown }>(
      'SELECT seq, kind, status FROM workflow_events WHERE execution_id = ? ORDER BY seq DESC LIMIT 1', [id],
    );
    let retriedSeq: number | null = null;
    let nextSeq = last ? Number(last.seq) + 1 : 0;
    if (last && last.kind === 'step' && last.status === 'failed') {
      retriedSeq = Number(last.seq);
      const [moved] = await q.all<{ n: unknown }>(
        // A range, not LIKE: ids may hold % or _; keys compare binary on every dialect.
        'SELECT COUNT(*) AS n FROM workflow_events WHERE execution_id >= ? AND execution_id < ?', [`${id}#retry-`, `${id}#retry.`],
      );
      await q.run('UPDATE workflow_events SET execution_id = ? WHERE execution_id = ? AND seq = ?', [retryArchiveId(id, Number(moved?.n ?? 0) + 1), id, retriedSeq]);
      nextSeq = retriedSeq;
    }
    const res = await q.run(
      `UPDATE workflow_executions SET status = 'queued', output = NULL, error = NULL, wait_for = NULL, cancel_reason = NULL, ` +
        `step_attempt = 0, next_seq = ?, admitted = CASE WHEN template_key IS NULL THEN admitted ELSE 0 END, ` +
        `available_at = ${store.now}, finished_at = NULL, updated_at = ${store.now}, last_build = COALESCE(?, last_build) ` +
        "WHERE id = ? AND lease_token = ? AND status = 'failed'",
      [nextSeq, build, id, rec.leaseToken],
    );
    if (res.affectedRows !== 1) throw new ExecutionNotResumableError(id, 'changed while resuming');
    await reopenUndelivered(q, id);
    return { retriedSeq };
  });
}

/** Where the n-th resume of `id` keeps the failed step event it moved aside. */
export function retryArchiveId(id: string, n: number): string {
  return `${id}#retry-${n}`;
}
