/**
 * The deploy gate's reads (engine/deploy): live executions in keyset pages, a sample of recently
 * completed ones, and their histories in one statement per page. SELECTs only: the gate runs
 * them on a read-only connection.
 */
import { EXECUTION_COLUMNS, toExecution } from './executions';
import type { SqlRunner, SqlStore } from './sql';
import type { EventKind, ExecutionRecord, HistoryEvent } from './types';

/** Where a page of one status ends (exclusive). */
export interface PageCursor { createdAt: Date; id: string }

/**
 * One page of `status` executions of `workflows`, in (created_at, id) order after `after`
 * (index (status, created_at)). Queued executions only with history (claimed at least once).
 */
export async function liveExecutionPage(
  q: SqlRunner, store: SqlStore, status: 'running' | 'waiting' | 'queued', workflows: readonly string[], after: PageCursor | null, limit: number,
  namespace?: string,
): Promise<ExecutionRecord[]> {
  const params: unknown[] = [status, workflows];
  let cond = '';
  if (namespace !== undefined) {
    cond += ' AND namespace = ?';
    params.push(namespace);
  }
  if (after) {
    const d = store.dateParam(after.createdAt);
    cond += ' AND (created_at > ? OR (created_at = ? AND id > ?))';
    params.push(d, d, after.id);
  }
  params.push(limit);
  const rows = await q.all<Record<string, unknown>>(
    `SELECT ${EXECUTION_COLUMNS} FROM workflow_executions WHERE status = ? AND workflow_name IN (?)${status === 'queued' ? ' AND attempt > 0' : ''}${cond} ` +
      'ORDER BY created_at, id LIMIT ?',
    params,
  );
  return rows.map((r) => toExecution(r, store.date));
}

/** The `n` most recently created completed executions of `workflow` (index (workflow_name, status, created_at)), optionally of one namespace. */
export async function recentCompleted(q: SqlRunner, store: SqlStore, workflow: string, n: number, namespace?: string): Promise<ExecutionRecord[]> {
  if (n <= 0) return [];
  const rows = await q.all<Record<string, unknown>>(
    `SELECT ${EXECUTION_COLUMNS} FROM workflow_executions WHERE workflow_name = ? AND status = 'completed'${namespace === undefined ? '' : ' AND namespace = ?'} ` +
      'ORDER BY created_at DESC, id DESC LIMIT ?',
    namespace === undefined ? [workflow, n] : [workflow, namespace, n],
  );
  return rows.map((r) => toExecution(r, store.date));
}

/** The histories of `ids`, one statement. */
export async function historiesOf(q: SqlRunner, store: SqlStore, ids: readonly string[]): Promise<Map<string, HistoryEvent[]>> {
  const out = new Map<string, HistoryEvent[]>(ids.map((id) => [id, []]));
  if (ids.length === 0) return out;
  const rows = await q.all<Record<string, unknown>>(
    'SELECT execution_id, seq, kind, name, status, payload, attempt, lease_token, done_order, created_at FROM workflow_events ' +
      'WHERE execution_id IN (?) ORDER BY execution_id, seq',
    [ids],
  );
  for (const r of rows) {
    out.get(String(r.execution_id))?.push({
      seq: Number(r.seq), kind: String(r.kind) as EventKind, name: String(r.name), status: String(r.status),
      payload: r.payload === null || r.payload === undefined ? null : String(r.payload), attempt: Number(r.attempt),
      leaseToken: Number(r.lease_token), order: r.done_order === null || r.done_order === undefined ? null : Number(r.done_order),
      createdAt: store.date(r.created_at) as Date,
    });
  }
  return out;
}

/** Live executions (running, waiting, queued) of workflows NOT in `workflows`, counted (optionally in one namespace). */
export async function liveOutside(q: SqlRunner, workflows: readonly string[], namespace?: string): Promise<number> {
  const [row] = await q.all<{ n: unknown }>(
    "SELECT COUNT(*) AS n FROM workflow_executions WHERE status IN ('running', 'waiting', 'queued') AND workflow_name NOT IN (?)" +
      `${namespace === undefined ? '' : ' AND namespace = ?'}`, namespace === undefined ? [workflows] : [workflows, namespace],
  );
  return Number(row?.n ?? 0);
}
