/**
 * The watchdog's store side: expired execution leases → their executions back to `queued`.
 * Invariant: recovery never waits on a dead runner's locks. Each lease is handled in its own
 * short transaction that takes the lease row and the execution row with `SKIP LOCKED` (MySQL
 * family), so a runner frozen inside a transaction holds back only the rows it locked; those are
 * reported as stuck (with the lease owner and the server's long transactions) and retried later.
 */
import { EXECUTION_LOCK_PREFIX, nextPrefix } from './lock-keys';
import type { SqlStore } from './sql';

/** An execution lease that expired and was handed back to the queue. */
export interface ReleasedLease {
  executionId: string;
  owner: string;
  token: number;
}

/** An expired lease whose rows another transaction holds locked (skipped, retried later). */
export interface StuckLease {
  executionId: string;
  owner: string;
  token: number;
  /** Which row was locked. */
  locked: 'lease' | 'execution';
}

/** What one watchdog pass did. */
export interface ExpiredLeasesOutcome {
  released: ReleasedLease[];
  stuck: StuckLease[];
}

/** A server transaction open for a while (MySQL family): who may hold a stuck row. */
export interface LongTransaction {
  threadId: number;
  startedAt: Date | null;
  ageS: number;
  state: string;
  rowsLocked: number;
  user: string | null;
  host: string | null;
  command: string | null;
  /** The statement it is running (first 200 characters), if any. */
  query: string | null;
}

/** Expired leases released at once, each in its own transaction (and so on its own connection). */
export const RELEASE_CONCURRENCY = 4;

/**
 * Release expired execution leases, each independently and up to `RELEASE_CONCURRENCY` at once; never waits on a row lock (MySQL family:
 * `SKIP LOCKED`; SQLite: one writer, bounded by busy_timeout). Safe to run concurrently anywhere.
 */
export async function releaseExpiredLeases(store: SqlStore, limit = 200, overdueMs = 0): Promise<ExpiredLeasesOutcome> {
  const range = [EXECUTION_LOCK_PREFIX, nextPrefix(EXECUTION_LOCK_PREFIX)];
  // `overdueMs`: only leases expired at least that long ago (a runner backing up the sweeper).
  const before = overdueMs > 0 ? (store.mysql ? '(UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND)' : `(${store.now} - ?)`) : store.now;
  // A plain (non-locking) read: an idle system answers it from the expires_at index.
  const rows = await store.all<{ lock_key: unknown; owner: unknown; token: unknown }>(
    `SELECT lock_key, owner, token FROM distributed_locks WHERE expires_at < ${before} AND lock_key >= ? AND lock_key < ? ` +
      'ORDER BY expires_at LIMIT ?',
    [...(overdueMs > 0 ? [store.ms(overdueMs)] : []), ...range, limit],
  );
  const outcome: ExpiredLeasesOutcome = { released: [], stuck: [] };
  let firstError: unknown;
  let next = 0;
  // A few at once: one after another, a dead runner's last lease waited for all its others'
  // commits (on Galera ~0.2 s each under load: 1.2 s for 6 leases). The leases share no rows.
  const worker = async () => {
    while (next < rows.length) {
      const r = rows[next++];
      const lease = { executionId: String(r.lock_key).slice(EXECUTION_LOCK_PREFIX.length), owner: String(r.owner), token: Number(r.token) };
      let result: OneResult;
      try {
        result = await releaseOne(store, String(r.lock_key), lease);
      } catch (err) {
        firstError ??= err; // one lease's failure must not hold back the others
        continue;
      }
      if (result === 'released') outcome.released.push(lease);
      else if (result !== 'gone') outcome.stuck.push({ ...lease, locked: result });
    }
  };
  await Promise.all(Array.from({ length: Math.min(RELEASE_CONCURRENCY, rows.length) }, worker));
  if (firstError !== undefined && outcome.released.length === 0 && outcome.stuck.length === 0) throw firstError;
  return outcome;
}

type OneResult = 'released' | 'gone' | 'lease' | 'execution';

async function releaseOne(store: SqlStore, lockKey: string, lease: ReleasedLease): Promise<OneResult> {
  const skip = store.mysql ? ' FOR UPDATE SKIP LOCKED' : '';
  return store.tx(async (q) => {
    const held = await q.all(
      `SELECT token FROM distributed_locks WHERE lock_key = ? AND token = ? AND expires_at < ${store.now}${skip}`,
      [lockKey, lease.token],
    );
    if (held.length === 0) {
      if (!store.mysql) return 'gone';
      // Skipped: either renewed/released meanwhile, or locked by someone (a plain read tells).
      const still = await q.all(`SELECT 1 AS x FROM distributed_locks WHERE lock_key = ? AND token = ? AND expires_at < ${store.now}`, [lockKey, lease.token]);
      return still.length ? 'lease' : 'gone';
    }
    if (store.mysql) {
      const exec = await q.all(`SELECT id FROM workflow_executions WHERE id = ?${skip}`, [lease.executionId]);
      if (exec.length === 0) {
        const exists = await q.all('SELECT 1 AS x FROM workflow_executions WHERE id = ?', [lease.executionId]);
        if (exists.length) return 'execution';
      }
    }
    await q.run(
      `UPDATE workflow_executions SET status = 'queued', available_at = ${store.now}, runner_id = NULL, updated_at = ${store.now} ` +
        "WHERE id = ? AND lease_token = ? AND status = 'running'",
      [lease.executionId, lease.token],
    );
    await q.run(`DELETE FROM distributed_locks WHERE lock_key = ? AND token = ? AND expires_at < ${store.now}`, [lockKey, lease.token]);
    return 'released';
  });
}

/**
 * Transactions open on the server for at least `minAgeS` seconds, oldest first (MySQL family;
 * empty on SQLite or when information_schema is not readable). Only asked when a lease is stuck.
 */
export async function longTransactions(store: SqlStore, minAgeS = 1, limit = 5): Promise<LongTransaction[]> {
  if (!store.mysql) return [];
  try {
    const rows = await store.all<Record<string, unknown>>(
      'SELECT t.trx_mysql_thread_id AS thread_id, t.trx_started AS started, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS age_s, ' +
        't.trx_state AS state, t.trx_rows_locked AS rows_locked, p.USER AS user, p.HOST AS host, p.COMMAND AS command, LEFT(t.trx_query, 200) AS query ' +
        'FROM information_schema.INNODB_TRX t LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id ' +
        'WHERE t.trx_started <= NOW() - INTERVAL ? SECOND ORDER BY t.trx_started LIMIT ?',
      [minAgeS, limit],
    );
    return rows.map((r) => ({
      threadId: Number(r.thread_id),
      startedAt: r.started ? new Date(r.started as string) : null,
      ageS: Number(r.age_s),
      state: String(r.state),
      rowsLocked: Number(r.rows_locked),
      user: r.user == null ? null : String(r.user),
      host: r.host == null ? null : String(r.host),
      command: r.command == null ? null : String(r.command),
      query: r.query == null ? null : String(r.query),
    }));
  } catch {
    return [];
  }
}
