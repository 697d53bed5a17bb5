/**
 * The sweeper's fence. The runner elected sweeper holds the `leaseflow:sweeper` lock (a
 * DistributedLockManager grant with a fencing token); each of its scan passes is ONE transaction
 * led by a guarded UPDATE of that lock row (`owner`, `token`, unexpired) that must match exactly
 * one row, else nothing is written. The UPDATE changes the row (updated_at strictly grows), so on
 * Galera a stale sweeper writing through another node is refused by certification as well.
 */
import type { SqlRunner, SqlStore } from './sql';

/** The lock key of the sweeper election. */
export const SWEEPER_LOCK_KEY = 'leaseflow:sweeper';

/** The sweeper grant `token` of `owner` is no longer current: this pass wrote nothing. */
export class SweeperFenceLost extends Error {
  constructor(readonly owner: string, readonly token: number) {
    super(`sweeper grant ${token} of ${owner} is no longer current`);
  }
}

/** A SqlStore whose statements run inside transaction `q` (for store functions written against SqlStore). */
function inTx(store: SqlStore, q: SqlRunner): SqlStore {
  return { ...store, all: q.all, run: q.run, tx: (fn) => fn(q) };
}

/** Run `fn` in one transaction fenced by the sweeper grant; throws SweeperFenceLost when it is not current. */
export async function withSweeperFence<T>(store: SqlStore, owner: string, token: number, fn: (tx: SqlStore) => Promise<T>): Promise<T> {
  const bump = store.mysql ? `GREATEST(${store.now}, updated_at + INTERVAL 1 MICROSECOND)` : `MAX(${store.now}, updated_at + 1)`;
  return store.tx(async (q) => {
    const res = await q.run(
      `UPDATE distributed_locks SET updated_at = ${bump} WHERE lock_key = ? AND owner = ? AND token = ? AND hold_count > 0 AND expires_at >= ${store.now}`,
      [SWEEPER_LOCK_KEY, owner, token],
    );
    if (res.affectedRows !== 1) throw new SweeperFenceLost(owner, token);
    return fn(inTx(store, q));
  });
}

/** True when no runner holds the sweeper grant (no row, released, or expired): one indexed read. */
export async function sweeperVacant(store: SqlStore): Promise<boolean> {
  const rows = await store.all(`SELECT 1 AS x FROM distributed_locks WHERE lock_key = ? AND hold_count > 0 AND expires_at >= ${store.now}`, [SWEEPER_LOCK_KEY]);
  return rows.length === 0;
}

/** SQL (no parameters) true when a sweeper grant exists but is vacant: the idle poll probe asks it. */
export function sweeperVacantSql(store: Pick<SqlStore, 'now'>): string {
  return `EXISTS (SELECT 1 FROM distributed_locks WHERE lock_key = '${SWEEPER_LOCK_KEY}' AND (hold_count = 0 OR expires_at < ${store.now}))`;
}
