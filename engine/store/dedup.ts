/**
 * SQL of `workflow_dedup_keys`. Invariant: while a (workflow, dedup key) row is unexpired it names
 * ONE execution, and every start with that key inside the window gets that execution back. The
 * claim is one upsert that takes the row lock (concurrent starters queue on it) and replaces the
 * row only once it expired; it runs in the start's transaction, so a start that fails leaves no claim.
 * Expired rows are reused by the next start of their key.
 */
import type { SqlRunner, SqlStore } from './sql';

/**
 * Claim `key` of `workflow` for `executionId` for `windowMs` on the DB clock, unless an unexpired
 * claim exists. Returns the execution that holds the key now (ours, or the earlier one).
 */
export async function claimDedupKey(q: SqlRunner, store: SqlStore, o: { workflow: string; key: string; executionId: string; windowMs: number }): Promise<string> {
  const expired = `expires_at <= ${store.now}`;
  // MySQL evaluates the assignments left to right: expires_at is still the old value in both tests.
  const upsert = store.mysql
    ? `ON DUPLICATE KEY UPDATE execution_id = IF(${expired}, VALUES(execution_id), execution_id), expires_at = IF(${expired}, VALUES(expires_at), expires_at)`
    : `ON CONFLICT (workflow_name, dedup_key) DO UPDATE SET execution_id = CASE WHEN ${expired} THEN excluded.execution_id ELSE execution_id END, ` +
      `expires_at = CASE WHEN ${expired} THEN excluded.expires_at ELSE expires_at END`;
  await q.run(
    `INSERT INTO workflow_dedup_keys (workflow_name, dedup_key, execution_id, expires_at, created_at) VALUES (?, ?, ?, ${store.nowPlus}, ${store.now}) ${upsert}`,
    [o.workflow, o.key, o.executionId, store.ms(o.windowMs)],
  );
  const rows = await q.all<{ execution_id: unknown }>('SELECT execution_id FROM workflow_dedup_keys WHERE workflow_name = ? AND dedup_key = ?', [o.workflow, o.key]);
  return String(rows[0]?.execution_id ?? o.executionId);
}
