/**
 * Cancelling one execution, inside the caller's transaction: a never-started execution goes
 * straight to `cancelled` (waking its parent and the next of its template); anything else gets a
 * cancellation request (first reason wins) and is woken, so its holder or next claimer sees it.
 * A finished execution is left as it is.
 */
import { CancelledError, recordError } from '../errors';
import { cancelUnstarted, findExecution, requestCancel, wakeExecution } from './executions';
import { wakeNextInTemplate } from './transitions';
import type { SqlRunner, SqlStore } from './sql';
import { FINISHED_STATUSES, type ExecutionStatus } from './types';

/** What `cancelInTx` did. */
export type CancelOutcome = { kind: 'cancelled' } | { kind: 'requested' } | { kind: 'finished'; status: ExecutionStatus } | { kind: 'missing' };

/** Cancel `id` within `q`'s transaction (holds the row). */
export async function cancelInTx(q: SqlRunner, store: SqlStore, id: string, reason: string): Promise<CancelOutcome> {
  const rec = await findExecution(q, store, id, true);
  if (!rec) return { kind: 'missing' };
  if (FINISHED_STATUSES.includes(rec.status)) return { kind: 'finished', status: rec.status };
  if (rec.status === 'queued' && rec.attempt === 0) {
    const err = JSON.stringify(recordError(new CancelledError(reason)));
    if (await cancelUnstarted(q, store, id, err)) {
      if (rec.parentId) await wakeExecution(q, store, rec.parentId);
      if (rec.templateKey && rec.admitted) await wakeNextInTemplate(q, store, rec.templateKey);
      return { kind: 'cancelled' };
    }
  }
  await requestCancel(q, store, id, reason);
  await wakeExecution(q, store, id);
  return { kind: 'requested' };
}
