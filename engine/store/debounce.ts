/**
 * SQL of `workflow_debounce_keys`. Invariant: a (workflow, debounce key) row names the execution
 * that collects its burst; while that execution was never claimed (queued, attempt 0) a start with
 * the key replaces its input and pushes its start back by the window, and only once a runner
 * claimed it does a start make a new one. The upsert takes the key's row lock (starters queue on
 * it) and the replacement is fenced by `status = 'queued' AND attempt = 0`, which the claim
 * changes under the execution's row lock: a start never rewrites an execution that began.
 */
import type { SqlRunner, SqlStore } from './sql';

/** Lock the key's row (creating it for `executionId`); returns the execution it names. */
export async function lockDebounceKey(q: SqlRunner, store: SqlStore, workflow: string, key: string, executionId: string): Promise<string> {
  const upsert = store.mysql ? 'ON DUPLICATE KEY UPDATE updated_at = VALUES(updated_at)' : 'ON CONFLICT (workflow_name, debounce_key) DO UPDATE SET updated_at = excluded.updated_at';
  await q.run(
    `INSERT INTO workflow_debounce_keys (workflow_name, debounce_key, execution_id, updated_at) VALUES (?, ?, ?, ${store.now}) ${upsert}`,
    [workflow, key, executionId],
  );
  const rows = await q.all<{ execution_id: unknown }>('SELECT execution_id FROM workflow_debounce_keys WHERE workflow_name = ? AND debounce_key = ?', [workflow, key]);
  return String(rows[0]?.execution_id ?? executionId);
}

/** Point the (locked) key at a new execution. */
export async function setDebounceExecution(q: SqlRunner, workflow: string, key: string, executionId: string): Promise<void> {
  await q.run('UPDATE workflow_debounce_keys SET execution_id = ? WHERE workflow_name = ? AND debounce_key = ?', [executionId, workflow, key]);
}

/** Give a never-claimed execution the latest input and start it `delayMs` from now; false if it began. */
export async function rewriteUnstarted(q: SqlRunner, store: SqlStore, id: string, e: { input: string | null; templateKey: string | null; delayMs: number }): Promise<boolean> {
  const res = await q.run(
    `UPDATE workflow_executions SET input = ?, template_key = ?, available_at = ${store.nowPlus}, updated_at = ${store.now} ` +
      "WHERE id = ? AND status = 'queued' AND attempt = 0 AND admitted = 0 AND cancel_reason IS NULL",
    [e.input, e.templateKey, store.ms(e.delayMs), id],
  );
  return res.affectedRows === 1;
}
