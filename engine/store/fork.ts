/**
 * Fork / resume from a chosen step (issue 12): a failed (or parked, non-deterministic)
 * execution is queued again from position `from`, in ONE transaction on the row locked first.
 * The committed prefix (positions below `from`) stays and is replayed; the suffix is moved
 * aside under `<id>#fork-<n>` (nothing is deleted), signals it consumed are reopened, the lease
 * token is bumped and any lease row deleted, so a stale holder cannot commit. With a build, the
 * execution is routed to runners serving that build (builds.ts).
 */
import { ExecutionNotFoundError, ExecutionNotResumableError, ForkPointNotFoundError } from '../errors';
import { findExecution } from './executions';
import { executionLockKey } from './lock-keys';
import { UNDELIVERED_SEQ } from './signals';
import type { SqlStore } from './sql';

/** Where the n-th fork of `id` keeps the history suffix it moved aside. */
export function forkArchiveId(id: string, n: number): string {
  return `${id}#fork-${n}`;
}

/** Queue failed `id` again from `fromStep` (a step name: its last occurrence; or a history position). */
export async function forkExecution(store: SqlStore, id: string, fromStep: string | number, build: string | null): Promise<{ fromSeq: number; archived: number; archiveId: string }> {
  return store.tx(async (q) => {
    const rec = await findExecution(q, store, id, true);
    if (!rec) throw new ExecutionNotFoundError(id);
    if (rec.status !== 'failed') throw new ExecutionNotResumableError(id, rec.status);
    const [at] = typeof fromStep === 'number'
      ? await q.all<{ seq: unknown }>('SELECT seq FROM workflow_events WHERE execution_id = ? AND seq = ?', [id, fromStep])
      : await q.all<{ seq: unknown }>("SELECT seq FROM workflow_events WHERE execution_id = ? AND kind = 'step' AND name = ? ORDER BY seq DESC LIMIT 1", [id, fromStep]);
    if (!at) throw new ForkPointNotFoundError(id, fromStep);
    const from = Number(at.seq);
    // A range, not LIKE: ids may hold % or _; keys compare binary on every dialect.
    const [prior] = await q.all<{ n: unknown }>(
      'SELECT COUNT(DISTINCT execution_id) AS n FROM workflow_events WHERE execution_id >= ? AND execution_id < ?', [`${id}#fork-`, `${id}#fork.`],
    );
    const archiveId = forkArchiveId(id, Number(prior?.n ?? 0) + 1);
    const moved = await q.run('UPDATE workflow_events SET execution_id = ? WHERE execution_id = ? AND seq >= ?', [archiveId, id, from]);
    await q.run(`UPDATE workflow_signals SET consumed_seq = NULL WHERE execution_id = ? AND (consumed_seq >= ? OR consumed_seq = ${UNDELIVERED_SEQ})`, [id, from]);
    const res = await q.run(
      `UPDATE workflow_executions SET status = 'queued', output = NULL, error = NULL, wait_for = NULL, cancel_reason = NULL, ` +
        `step_attempt = 0, next_seq = ?, lease_token = lease_token + 1, runner_id = NULL, last_build = COALESCE(?, last_build), ` +
        `admitted = CASE WHEN template_key IS NULL THEN admitted ELSE 0 END, ` +
        `available_at = ${store.now}, finished_at = NULL, updated_at = ${store.now} ` +
        "WHERE id = ? AND lease_token = ? AND status = 'failed'",
      [from, build, id, rec.leaseToken],
    );
    if (res.affectedRows !== 1) throw new ExecutionNotResumableError(id, 'changed while resuming');
    await q.run('DELETE FROM distributed_locks WHERE lock_key = ?', [executionLockKey(id)]);
    return { fromSeq: from, archived: moved.affectedRows, archiveId };
  });
}
