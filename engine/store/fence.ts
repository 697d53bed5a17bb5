/**
 * The fence of a lease holder's checkpoint as a WRITE: one guarded UPDATE that bumps
 * `fence_seq` on each execution row whose `lease_token` and `status = 'running'` (and, unless
 * ignored, `cancel_reason IS NULL`) still hold, in the same transaction as the events it
 * guards. A locking read is node-local on Galera and never certified; a changed row is, so a
 * stale holder writing through another node conflicts with the claim that moved its lease and
 * is rolled back (1213). The bump must change the row: an unchanged row is not in the write set.
 * Used on Galera (SqlStore.galera); one server keeps the share-locked one-statement insert.
 */
import type { SqlRunner, SqlStore } from './sql';

/** One execution's fence: its id, the lease token, and whether a pending cancel is ignored. */
export interface FenceItem {
  executionId: string;
  token: number;
  ignoreCancel: boolean;
}

/**
 * Fence `items` (several may name one execution) inside the caller's transaction. Returns which
 * items passed; the rows of those stay locked by this transaction until it ends.
 */
export async function fenceExecutions(q: SqlRunner, store: SqlStore, items: readonly FenceItem[]): Promise<(item: FenceItem) => boolean> {
  const token = new Map<string, number>();
  const lenient = new Set<string>(); // some item of the id passes a pending cancel
  const strict = new Set<string>();
  for (const it of items) {
    token.set(it.executionId, it.token);
    (it.ignoreCancel ? lenient : strict).add(it.executionId);
  }
  const ids = [...token.keys()];
  const cases = ids.map(() => 'WHEN ? THEN ?').join(' ');
  const where = `WHERE id IN (?) AND status = 'running' AND lease_token = CASE id ${cases} END AND (cancel_reason IS NULL OR id IN (?))`;
  const params = [ids, ...ids.flatMap((id) => [id, token.get(id)]), [...lenient]];
  // The primary key drives the update (no locking scan into rows a frozen peer holds).
  const res = await q.run(`UPDATE workflow_executions${store.mysql ? ' FORCE INDEX (PRIMARY)' : ''} SET fence_seq = fence_seq + 1 ${where}`, params);
  const mixed = ids.filter((id) => lenient.has(id) && strict.has(id));
  let held = new Set(ids);
  if (res.affectedRows !== ids.length) {
    // Some fence failed: the rows this UPDATE matched are locked by us and cannot change, and a
    // token never goes back, so re-evaluating the condition on the committed rows tells which.
    held = new Set((await q.all<{ id: unknown }>(`SELECT id FROM workflow_executions ${where}`, params)).map((r) => String(r.id)));
  }
  // An execution with both kinds of item in one batch (rare): its strict items fail on a cancel.
  const cancelled = new Set<string>();
  if (mixed.length) {
    const rows = await q.all<{ id: unknown }>('SELECT id FROM workflow_executions WHERE id IN (?) AND cancel_reason IS NOT NULL', [mixed]);
    for (const r of rows) cancelled.add(String(r.id));
  }
  return (it) => held.has(it.executionId) && (it.ignoreCancel || !cancelled.has(it.executionId));
}

/**
 * Serialise admission decisions of a template key (MySQL family) by WRITING its
 * `workflow_templates` row (created on first use): an exclusive row lock on one node and a
 * certified write on Galera, where a `FOR UPDATE` read would not stop a claimer on another node.
 * Bumping `next_seq` only leaves a gap in the key's FIFO sequence, which orders, never counts.
 */
export async function lockTemplate(q: SqlRunner, store: SqlStore, templateKey: string): Promise<void> {
  if (!store.mysql) return; // SQLite: the transaction is already the only writer
  await q.run(
    `INSERT INTO workflow_templates (template_key, next_seq, created_at) VALUES (?, 1, ${store.now}) ON DUPLICATE KEY UPDATE next_seq = next_seq + 1`,
    [templateKey],
  );
}
