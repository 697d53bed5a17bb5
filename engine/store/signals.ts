/**
 * SQL of `workflow_signals`: the inbox. Signals are stored first, delivered in arrival (id)
 * order, and consumed exactly once (consumed_seq is set once, fenced by `IS NULL`). A signal is
 * stored only while its execution is unfinished (the sender locks the execution row), and the
 * transaction that finishes an execution marks whatever it left unconsumed as undelivered
 * (consumed_seq = UNDELIVERED_SEQ): every accepted signal ends delivered or visibly undelivered.
 */
import type { SqlRunner } from './sql';

/** A stored signal. */
export interface StoredSignal {
  id: number;
  name: string;
  payload: string | null;
}

/** Append a signal to an execution's inbox. */
export async function insertSignal(q: SqlRunner, now: string, executionId: string, name: string, payload: string | null): Promise<number> {
  const res = await q.run(
    `INSERT INTO workflow_signals (execution_id, name, payload, consumed_seq, created_at) VALUES (?, ?, ?, NULL, ${now})`,
    [executionId, name, payload],
  );
  return res.insertId;
}

/** The oldest unconsumed signal of `name`, or null. */
export async function nextSignal(q: SqlRunner, executionId: string, name: string): Promise<StoredSignal | null> {
  const rows = await q.all<Record<string, unknown>>(
    'SELECT id, name, payload FROM workflow_signals WHERE execution_id = ? AND name = ? AND consumed_seq IS NULL ORDER BY id LIMIT 1',
    [executionId, name],
  );
  const r = rows[0];
  return r ? { id: Number(r.id), name: String(r.name), payload: r.payload === null || r.payload === undefined ? null : String(r.payload) } : null;
}

/** Mark a signal consumed at `seq`; true when this call consumed it. */
export async function consumeSignal(q: SqlRunner, signalId: number, seq: number): Promise<boolean> {
  const res = await q.run('UPDATE workflow_signals SET consumed_seq = ? WHERE id = ? AND consumed_seq IS NULL', [seq, signalId]);
  return res.affectedRows === 1;
}

/** consumed_seq of a signal its execution finished without consuming. */
export const UNDELIVERED_SEQ = -1;

/** In the finishing transaction: mark the signals these executions never consumed as undelivered. */
export async function markUndelivered(q: SqlRunner, executionIds: readonly string[]): Promise<number> {
  if (executionIds.length === 0) return 0;
  const res = await q.run(`UPDATE workflow_signals SET consumed_seq = ${UNDELIVERED_SEQ} WHERE execution_id IN (?) AND consumed_seq IS NULL`, [executionIds]);
  return res.affectedRows;
}

/** A finished execution runs again (resume): the signals it left undelivered are pending again. */
export async function reopenUndelivered(q: SqlRunner, executionId: string): Promise<number> {
  const res = await q.run(`UPDATE workflow_signals SET consumed_seq = NULL WHERE execution_id = ? AND consumed_seq = ${UNDELIVERED_SEQ}`, [executionId]);
  return res.affectedRows;
}

/** Signals an execution finished without consuming, oldest first (describe). */
export async function undeliveredSignals(q: SqlRunner, date: (v: unknown) => Date | null, executionId: string): Promise<{ name: string; sentAt: Date }[]> {
  const rows = await q.all<{ name: unknown; created_at: unknown }>(
    `SELECT name, created_at FROM workflow_signals WHERE execution_id = ? AND consumed_seq = ${UNDELIVERED_SEQ} ORDER BY id`, [executionId]);
  return rows.map((r) => ({ name: String(r.name), sentAt: date(r.created_at) as Date }));
}

/** Count of unconsumed signals of an execution (describe). */
export async function pendingSignalCount(q: SqlRunner, executionId: string): Promise<number> {
  const rows = await q.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM workflow_signals WHERE execution_id = ? AND consumed_seq IS NULL', [executionId]);
  return Number(rows[0]?.n ?? 0);
}
