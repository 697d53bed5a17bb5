/**
 * Runs of an execution id. Every run has its own `run_id`; runs linked by continue-as-new share
 * a `first_run_id` (the chain), and of one chain at most ONE row is not `continued` (its current
 * run). A finished run moves aside as `{id}#{n}` (archive) with its history, so the id is free
 * for the next run while old runs stay readable by run id.
 */
import { EXECUTION_COLUMNS, findExecution, toExecution } from './executions';
import type { SqlRunner, SqlStore } from './sql';
import type { ExecutionRecord } from './types';

/** One run by its run id, or null. */
export async function findRun(q: SqlRunner, store: SqlStore, runId: string, forUpdate = false): Promise<ExecutionRecord | null> {
  const lock = forUpdate && store.mysql ? ' FOR UPDATE' : '';
  const rows = await q.all<Record<string, unknown>>(`SELECT ${EXECUTION_COLUMNS} FROM workflow_executions WHERE run_id = ?${lock}`, [runId]);
  return rows[0] ? toExecution(rows[0], store.date) : null;
}

/** The current run of a continue-as-new chain (the one that did not continue), or null. */
export async function findChainHead(q: SqlRunner, store: SqlStore, firstRunId: string, forUpdate = false): Promise<ExecutionRecord | null> {
  const lock = forUpdate && store.mysql ? ' FOR UPDATE' : '';
  const rows = await q.all<Record<string, unknown>>(
    `SELECT ${EXECUTION_COLUMNS} FROM workflow_executions WHERE first_run_id = ? AND status <> 'continued' ORDER BY run_number DESC LIMIT 1${lock}`,
    [firstRunId],
  );
  return rows[0] ? toExecution(rows[0], store.date) : null;
}

/** The runs a chain went through before its current one, newest first (at most `limit`). */
export async function previousRuns(q: SqlRunner, firstRunId: string, limit: number): Promise<{ runId: string; executionId: string; runNumber: number }[]> {
  const rows = await q.all<{ run_id: unknown; id: unknown; run_number: unknown }>(
    "SELECT run_id, id, run_number FROM workflow_executions WHERE first_run_id = ? AND status = 'continued' ORDER BY run_number DESC LIMIT ?",
    [firstRunId, limit],
  );
  return rows.map((r) => ({ runId: String(r.run_id), executionId: String(r.id), runNumber: Number(r.run_number) }));
}

/** True when `rec` is a run of the execution id `id` (the current row or an archived `{id}#n`). */
export function isRunOf(rec: ExecutionRecord, id: string): boolean {
  return rec.id === id || (rec.id.startsWith(`${id}#`) && /^\d+$/.test(rec.id.slice(id.length + 1)));
}

/**
 * Move the run in row `rec` aside as `{id}#{n}` (n = its run number, or the first free one after
 * it for rows archived before run numbers existed) with its history, its children's parent
 * links and its signals — only the consumed ones when `keepUnconsumedSignals` (continue-as-new:
 * the next run receives what this one never read). Inside the caller's transaction. Returns n.
 */
export async function archiveRun(q: SqlRunner, store: SqlStore, rec: ExecutionRecord, keepUnconsumedSignals: boolean): Promise<number> {
  let n = rec.runNumber;
  while (await findExecution(q, store, `${rec.id}#${n}`)) n++;
  const archivedId = `${rec.id}#${n}`;
  await q.run('UPDATE workflow_executions SET id = ? WHERE id = ?', [archivedId, rec.id]);
  await q.run('UPDATE workflow_events SET execution_id = ? WHERE execution_id = ?', [archivedId, rec.id]);
  await q.run(`UPDATE workflow_signals SET execution_id = ? WHERE execution_id = ?${keepUnconsumedSignals ? ' AND consumed_seq IS NOT NULL' : ''}`, [archivedId, rec.id]);
  await q.run('UPDATE workflow_executions SET parent_id = ? WHERE parent_id = ?', [archivedId, rec.id]);
  return n;
}
