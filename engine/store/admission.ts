/**
 * Template admission in O(1) statements per execution, with no scan of waiting rows.
 *
 * A member of a template key holds a slot while `admitted = 1` and it is active (queued, running
 * or waiting); at most `limit` do, and the rest wait FIFO by the key's sequence `template_seq`.
 * Every grant of a slot happens under the key's `workflow_templates` row lock (MySQL: the
 * sequence upsert or a guarded write, fence.ts lockTemplate — certified on Galera; SQLite transactions are exclusive), so grants never race:
 *
 * - **start**: a member due now is admitted at insert when its key has a free slot and nobody
 *   is parked, else it is parked (available_at NULL) — so no claim ever picks a waiter;
 * - **hand-off**: whoever frees a slot (finish, cancel, terminate, continue-as-new to another key)
 *   gives it to the head waiter in the same transaction, one index seek on
 *   `workflow_executions_admission_idx` (template_key, admitted, status, template_seq);
 * - **claim**: a member that reaches a claim un-admitted (a delayed start, a resumed failure)
 *   is admitted there if its key has room and it is at the head, else parked (`admitAtClaim`);
 * - **sweep**: a safety net against a lost hand-off tops up a rotating page of keys per watchdog
 *   pass — one statement for the page, work only for a key that has room and waiters.
 *
 * Counting a key's slot holders reads at most `limit` index entries; the head is one seek.
 */
import { lockTemplate } from './fence';
import type { SqlRunner, SqlStore } from './sql';
import type { ExecutionRecord } from './types';

/** wait_for of an execution parked by admission. */
export const ADMISSION_WAIT = JSON.stringify({ kind: 'admission' });

const HOLDERS = "SELECT COUNT(*) FROM workflow_executions WHERE template_key = ? AND admitted = 1 AND status IN ('queued', 'running', 'waiting')";
const PARKED = "template_key = ? AND admitted = 0 AND status = 'queued' AND available_at IS NULL";

/**
 * The next admission sequence of `key`, in one statement: the key's row (created on first use)
 * counts up and stays locked until the insert's transaction ends, which serialises every grant of
 * the key's slots (admissionCheck below runs after it).
 */
export async function nextTemplateSeq(q: SqlRunner, store: SqlStore, key: string): Promise<number> {
  if (store.mysql) {
    // LAST_INSERT_ID(expr) hands the new value back in the OK packet; a fresh row (1 affected) is 1.
    const res = await q.run(
      `INSERT INTO workflow_templates (template_key, next_seq, created_at) VALUES (?, 1, ${store.now}) ON DUPLICATE KEY UPDATE next_seq = LAST_INSERT_ID(next_seq + 1)`,
      [key],
    );
    return res.affectedRows === 1 ? 1 : res.insertId;
  }
  const [row] = await q.all<{ next_seq: unknown }>(
    `INSERT INTO workflow_templates (template_key, next_seq, created_at) VALUES (?, 1, ${store.now}) ON CONFLICT (template_key) DO UPDATE SET next_seq = next_seq + 1 RETURNING next_seq`,
    [key],
  );
  return Number(row.next_seq);
}

/**
 * SQL deciding, inside a new member's INSERT, whether it is admitted at once (1) or parked (0): its
 * key has a free slot (at most `limit` index entries counted) and nobody is parked (one seek).
 * Delayed members are neither: they meet admission when they are claimed; a member that keeps the
 * slot of the run it continues needs no check.
 */
export function admissionCheck(key: string, limit: number): { sql: string; params: unknown[] } {
  return {
    sql: `CASE WHEN (${HOLDERS}) < ? AND NOT EXISTS (SELECT 1 FROM workflow_executions WHERE ${PARKED}) THEN 1 ELSE 0 END`,
    params: [key, Math.max(1, limit), key],
  };
}

/**
 * A slot holder of `key` is giving its slot up in this transaction (after its own row left the
 * active statuses, or lost `admitted`): hand it to the head parked waiter, if any. One slot
 * freed, at most one granted, so the limit stays exact without counting.
 */
export async function handOffSlot(q: SqlRunner, store: SqlStore, key: string): Promise<void> {
  await handOffSlots(q, store, new Map([[key, 1]]));
}

/**
 * Slots freed in this transaction, `n` per key: hand each to the key's next parked waiter (keys
 * locked in sorted order; one index seek and one UPDATE per key). The runner's group finish
 * passes the slots of a whole batch here.
 */
export async function handOffSlots(q: SqlRunner, store: SqlStore, freed: ReadonlyMap<string, number>): Promise<void> {
  if (freed.size === 0) return;
  const keys = [...freed.keys()].sort();
  const grant = `SET admitted = 1, available_at = ${store.now}, wait_for = NULL, updated_at = ${store.now}`;
  // Key rows are locked by a WRITE in sorted order (fence.ts lockTemplate): certified on Galera.
  for (const key of keys) await lockTemplate(q, store, key);
  for (const key of keys) {
    const n = freed.get(key) as number;
    await q.run(
      store.mysql
        ? `UPDATE workflow_executions ${grant} WHERE ${PARKED} ORDER BY template_seq, id LIMIT ?`
        : `UPDATE workflow_executions ${grant} WHERE id IN (SELECT id FROM workflow_executions WHERE ${PARKED} ORDER BY template_seq, id LIMIT ?)`,
      [key, n],
    );
  }
}

/**
 * Fill free slots of `key` from the head of its queue (parked or due un-admitted members), under
 * the key row lock. `candidates` are members this claim holds (they are admitted by the claim
 * itself, so they are not granted here); returns the candidates admitted. The others in
 * `candidates` must be parked by the caller.
 */
async function topUp(q: SqlRunner, store: SqlStore, key: string, limit: number, candidates: ReadonlySet<string>): Promise<{ admitted: Set<string>; granted: number }> {
  await lockTemplate(q, store, key); // creates the key row if needed; a certified write on Galera
  const [{ n }] = await q.all<{ n: unknown }>(HOLDERS.replace('COUNT(*)', 'COUNT(*) AS n'), [key]);
  const free = Math.max(0, Math.max(1, limit) - Number(n));
  if (free === 0) return { admitted: new Set(), granted: 0 };
  const head = await q.all<{ id: unknown }>(
    "SELECT id FROM workflow_executions WHERE template_key = ? AND admitted = 0 AND status = 'queued' " +
      `AND (available_at IS NULL OR available_at <= ${store.now}) ORDER BY template_seq, id LIMIT ?`,
    [key, free],
  );
  const admitted = new Set<string>();
  const others: string[] = [];
  for (const h of head) (candidates.has(String(h.id)) ? admitted.add(String(h.id)) : others.push(String(h.id)));
  if (others.length) {
    await q.run(
      `UPDATE workflow_executions SET admitted = 1, available_at = ${store.now}, wait_for = NULL, updated_at = ${store.now} ` +
        "WHERE id IN (?) AND admitted = 0 AND status = 'queued'",
      [others],
    );
  }
  return { admitted, granted: others.length };
}

/**
 * Admission inside the claim transaction, for members that reach a claim un-admitted (the rare
 * path: delayed starts, resumed failures). Admitted members and non-members pass; the others
 * pass when they are at the head of their key's queue and a slot is free, else are parked.
 */
export async function admitAtClaim(q: SqlRunner, store: SqlStore, picked: ExecutionRecord[]): Promise<ExecutionRecord[]> {
  const pending = picked.filter((e) => e.templateKey !== null && !e.admitted);
  if (pending.length === 0) return picked;
  const rejected = new Set<string>();
  for (const key of [...new Set(pending.map((e) => e.templateKey as string))].sort()) {
    const members = pending.filter((e) => e.templateKey === key);
    const ids = new Set(members.map((m) => m.id));
    const { admitted } = await topUp(q, store, key, members[0].templateLimit ?? 1, ids);
    for (const m of members) if (!admitted.has(m.id)) rejected.add(m.id);
  }
  if (rejected.size) {
    await q.run(
      `UPDATE workflow_executions SET available_at = NULL, wait_for = ?, updated_at = ${store.now} WHERE id IN (?) AND status = 'queued'`,
      [ADMISSION_WAIT, [...rejected]],
    );
  }
  return picked.filter((e) => !rejected.has(e.id));
}

/** Keys the sweep looks at per pass. */
export const SWEEP_PAGE = 50;
const sweepCursor = new WeakMap<SqlStore, string>();

/**
 * Safety net against a lost hand-off: look at the next page of template keys (a cursor that
 * wraps around) and top up the keys that have a free slot and a parked waiter. One statement
 * per pass (index seeks per key: at most `limit` holders, one head), plus work only where a
 * slot was lost. Returns the members admitted.
 */
export async function sweepAdmissions(store: SqlStore): Promise<number> {
  const after = sweepCursor.get(store) ?? '';
  const rows = await store.all<{ template_key: unknown; holders: unknown; lim: unknown }>(
    `SELECT t.template_key, (${HOLDERS.replace('template_key = ?', 'template_key = t.template_key')}) AS holders, ` +
      `(SELECT COALESCE(template_limit, 1) FROM workflow_executions WHERE ${PARKED.replace('template_key = ?', 'template_key = t.template_key')} ` +
      'ORDER BY template_seq LIMIT 1) AS lim FROM workflow_templates t WHERE t.template_key > ? ORDER BY t.template_key LIMIT ?',
    [after, SWEEP_PAGE],
  );
  sweepCursor.set(store, rows.length < SWEEP_PAGE ? '' : String(rows[rows.length - 1].template_key));
  let n = 0;
  for (const r of rows) {
    if (r.lim === null || r.lim === undefined || Number(r.holders) >= Math.max(1, Number(r.lim))) continue;
    const key = String(r.template_key);
    n += (await store.tx((q) => topUp(q, store, key, Number(r.lim), new Set()))).granted;
  }
  return n;
}
