/**
 * SQL of `workflow_events`: the append-only history, unique on (execution_id, seq).
 */
import { boundErrorJson } from '../error-size';
import type { SqlRunner, SqlStore } from './sql';
import type { EventKind, HistoryEvent, NewEvent } from './types';

/** The ordered history of one execution. */
export async function loadHistory(sql: SqlStore | SqlRunner, executionId: string, date: SqlStore['date']): Promise<HistoryEvent[]> {
  const rows = await sql.all<Record<string, unknown>>(
    'SELECT seq, kind, name, status, payload, attempt, lease_token, done_order, created_at FROM workflow_events WHERE execution_id = ? ORDER BY seq',
    [executionId],
  );
  return rows.map((r) => ({
    seq: Number(r.seq),
    kind: String(r.kind) as EventKind,
    name: String(r.name),
    status: String(r.status),
    payload: r.payload === null || r.payload === undefined ? null : String(r.payload),
    attempt: Number(r.attempt),
    leaseToken: Number(r.lease_token),
    order: r.done_order === null || r.done_order === undefined ? null : Number(r.done_order),
    createdAt: date(r.created_at) as Date,
  }));
}

/** An event's payload as stored: a failed step's error record is kept within the hard error cap. */
export function storedPayload(e: NewEvent): string | null {
  return e.status === 'failed' ? boundErrorJson(e.payload) : e.payload;
}

/** Append events in one multi-row INSERT (fails on a duplicate (execution, seq)). */
export async function insertEvents(q: SqlRunner, store: SqlStore, executionId: string, token: number, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  const values: string[] = [];
  const params: unknown[] = [];
  for (const e of events) {
    values.push(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ${store.now})`);
    params.push(executionId, e.seq, e.kind, e.name, e.status, storedPayload(e), e.attempt, token, e.order ?? null);
  }
  await q.run(
    `INSERT INTO workflow_events (execution_id, seq, kind, name, status, payload, attempt, lease_token, done_order, created_at) VALUES ${values.join(', ')}`,
    params,
  );
}

/** True when every one of these timers is recorded as fired (an unknown commit outcome is resolved by this). */
export async function timersFired(q: SqlRunner, executionId: string, fired: readonly { seq: number }[]): Promise<boolean> {
  const rows = await q.all<{ n: unknown }>(
    "SELECT COUNT(*) AS n FROM workflow_events WHERE execution_id = ? AND seq IN (?) AND status = 'fired'", [executionId, fired.map((f) => f.seq)]);
  return Number(rows[0]?.n) === fired.length;
}

/** A timer recorded as scheduled has fired: its delivery order is set (the row is the holder's own). */
export async function markTimersFired(q: SqlRunner, executionId: string, token: number, fired: readonly { seq: number; order: number }[]): Promise<void> {
  for (const f of fired) {
    await q.run(
      "UPDATE workflow_events SET status = 'fired', done_order = ? WHERE execution_id = ? AND seq = ? AND status = 'scheduled' AND lease_token <= ?",
      [f.order, executionId, f.seq, token],
    );
  }
}
