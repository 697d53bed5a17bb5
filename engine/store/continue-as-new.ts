/**
 * Continue-as-new, inside the holder's fenced terminal transaction (transitions.ts writePlan):
 * after the fenced UPDATE has marked the run `continued` (so a stale holder gets here never),
 * the run is archived as `{id}#{n}` with its history, and the next run is inserted under the same
 * id — queued, empty history, a new run id linked to the old one, the same chain, parent link,
 * lease token and pending cancellation, and its template admission kept when the key is unchanged.
 * Unconsumed signals stay with the id, so the next run receives them.
 */
import { findExecution, insertExecution } from './executions';
import { archiveRun } from './runs';
import type { SqlRunner, SqlStore } from './sql';
import type { Lease } from './types';

/** The next run of a continue-as-new. */
export interface ContinuePlan {
  /** Run id of the next run. */
  runId: string;
  /** Encoded (validated) input of the next run. */
  input: string | null;
  workflowVersion: number;
  templateKey: string | null;
  templateLimit: number | null;
}

/** Archive the run that just ended `continued` and insert its successor. In the caller's tx. */
export async function insertContinuation(q: SqlRunner, store: SqlStore, lease: Lease, next: ContinuePlan): Promise<{ templateFreed: string | null }> {
  const rec = await findExecution(q, store, lease.executionId);
  if (!rec || rec.status !== 'continued' || rec.leaseToken !== lease.token) throw new Error(`continue-as-new of "${lease.executionId}": the run is not the one just ended`);
  const n = await archiveRun(q, store, rec, true);
  const keepAdmission = rec.admitted && rec.templateKey !== null && rec.templateKey === next.templateKey;
  await insertExecution(q, store, {
    id: rec.id, runId: next.runId, firstRunId: rec.firstRunId || rec.runId, continuedFrom: rec.runId, runNumber: n + 1,
    leaseToken: rec.leaseToken, workflowName: rec.workflowName, workflowVersion: next.workflowVersion,
    templateKey: next.templateKey, templateLimit: next.templateLimit, input: next.input,
    parentId: rec.parentId, parentSeq: rec.parentSeq, delayMs: 0, admitted: keepAdmission,
  });
  if (rec.cancelReason !== null) await q.run('UPDATE workflow_executions SET cancel_reason = ? WHERE id = ?', [rec.cancelReason, rec.id]);
  return { templateFreed: rec.admitted && rec.templateKey !== null && !keepAdmission ? rec.templateKey : null };
}
