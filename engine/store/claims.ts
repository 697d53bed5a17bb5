/**
 * Claims and the watchdog. A claim is one short transaction: pick due executions of the
 * served workflows (oldest first; `FOR UPDATE SKIP LOCKED` in READ COMMITTED on MySQL, an
 * immediate transaction on SQLite), admit the rare template member that arrives un-admitted
 * (admission.ts: most are admitted at start or handed a slot by the finisher), bump each lease
 * token and write the lease rows.
 */
import { buildFilter, buildStampSet, type BuildRouting } from './builds';
import { EXECUTION_LOCK_PREFIX, executionLockKey, nextPrefix } from './lock-keys';
import { EXECUTION_COLUMNS, toExecution } from './executions';
import { ADMISSION_WAIT, admitAtClaim } from './admission';
import { paceStarts, RATE_WAIT } from './rate-limits';
import { sweeperVacantSql } from './sweeper-fence';
import { deleteLocksByKeySql, type SqlRunner, type SqlStore } from './sql';
import type { ClaimedExecution } from './types';

/** What to claim. */
export interface ClaimRequest {
  owner: string;
  workflows: readonly string[];
  limit: number;
  leaseTtlMs: number;
  /** Routing by code version (builds.ts): claim only compatible builds, stamp the build that runs them. */
  routing?: BuildRouting;
  /** Only executions of this namespace. @default 'default' */
  namespace?: string;
  /** Rate-limited starts are queued: the next may go in `inMs` (rate-limits.ts); claim again then. */
  onTurn?: (inMs: number) => void;
}

/** Claim up to `limit` due executions for `owner`. */
export async function claimExecutions(store: SqlStore, req: ClaimRequest): Promise<ClaimedExecution[]> {
  if (req.limit <= 0 || req.workflows.length === 0) return [];
  let turn: number | undefined;
  const result = await store.tx(async (q) => {
    turn = undefined;
    const due = dueRowsSql(store, req);
    const rows = await q.all<Record<string, unknown>>(due.sql, due.params);
    if (rows.length === 0) return [];
    const dbNowAt = store.date(rows[0].db_now) as Date;
    let picked = rows.map((r) => toExecution(r, store.date));
    picked = await admitAtClaim(q, store, picked);
    // Last: a start it defers was not marked admitted (the claim's UPDATE does that), so it holds no slot.
    picked = await paceStarts(q, store, picked, dbNowAt, (ms) => { turn = ms; });
    if (picked.length === 0) return [];
    let ids = picked.map((e) => e.id);
    const stamp = buildStampSet(picked, req.routing); // the build that runs them, in the same statement
    const updated = await q.run(
      `UPDATE workflow_executions SET status = 'running', lease_token = lease_token + 1, runner_id = ?, attempt = attempt + 1, ` +
        `admitted = CASE WHEN template_key IS NULL THEN admitted ELSE 1 END, wait_for = CASE WHEN wait_for IN (?, ?) THEN NULL ELSE wait_for END, ` +
        `started_at = COALESCE(started_at, ${store.now}), updated_at = ${store.now}${stamp.sql} WHERE id IN (?)`,
      [req.owner, ADMISSION_WAIT, RATE_WAIT, ...stamp.params, ids],
    );
    if (updated.affectedRows !== ids.length) {
      // A row the UPDATE did not reach (an id the store cannot address exactly): never lease it,
      // or it would be run, fail its fence and be claimed again in a hot loop.
      const mine = await q.all<{ id: unknown; lease_token: unknown }>(
        `SELECT id, lease_token FROM workflow_executions WHERE id IN (?) AND runner_id = ? AND status = 'running'`, [ids, req.owner]);
      const token = new Map(mine.map((r) => [String(r.id), Number(r.lease_token)]));
      picked = picked.filter((e) => token.get(e.id) === e.leaseToken + 1);
      ids = picked.map((e) => e.id);
      if (picked.length === 0) return [];
    }
    const claimed: ClaimedExecution[] = picked.map((e) => ({
      ...e,
      status: 'running',
      leaseToken: e.leaseToken + 1,
      runnerId: req.owner,
      attempt: e.attempt + 1,
      admitted: e.templateKey !== null ? true : e.admitted,
      waitFor: e.waitFor?.kind === 'admission' || e.waitFor?.kind === 'rate' ? null : e.waitFor,
      dbNow: dbNowAt,
      claimedFromWaiting: e.status === 'waiting',
    }));
    await writeLeaseRows(q, store, req.owner, req.leaseTtlMs, claimed);
    return claimed;
  });
  // After the commit, so the turn is judged against what this claim wrote.
  if (turn !== undefined) req.onTurn?.(turn);
  return result;
}

/**
 * The claim's read: one ordered read per claimable status on `(namespace, status, available_at)`
 * (InnoDB appends the primary key, so `ORDER BY available_at, id` is index order within one
 * status), merged and cut to `limit`. Each part stops after `limit` matching rows, so a claim
 * locks about `limit` rows per status however deep the queue is, and never a running row (a
 * single `status IN (…)` read is a filesort that locks every due row until the claim commits,
 * and leaves concurrent claimers with nothing). Other namespaces' and workflows' rows the scan
 * passes are unlocked at once (READ COMMITTED). SQLite has no row locks; the same shape keeps
 * both dialects on one code path and spares it the sort too.
 */
function dueRowsSql(store: SqlStore, req: ClaimRequest): { sql: string; params: unknown[] } {
  const builds = buildFilter(req.routing);
  const params: unknown[] = [];
  const part = (status: 'queued' | 'waiting'): string => {
    params.push(req.namespace ?? 'default', req.workflows, ...builds.params, req.limit);
    const sql =
      `SELECT ${EXECUTION_COLUMNS}, ${store.now} AS db_now FROM workflow_executions` +
      `${store.mysql ? ' FORCE INDEX (workflow_executions_ns_claim_idx)' : ''} ` +
      `WHERE namespace = ? AND status = '${status}' AND available_at <= ${store.now} AND workflow_name IN (?)${builds.sql} ` +
      'ORDER BY available_at, id LIMIT ?';
    // MySQL takes a locking clause per parenthesised part; SQLite wants ORDER BY/LIMIT parts as subqueries.
    return store.mysql ? `(${sql} FOR UPDATE SKIP LOCKED)` : `SELECT * FROM (${sql})`;
  };
  const sql = `${part('queued')} UNION ALL ${part('waiting')} ORDER BY available_at, id LIMIT ?`;
  params.push(req.limit);
  return { sql, params };
}

async function writeLeaseRows(q: SqlRunner, store: SqlStore, owner: string, ttlMs: number, claimed: ClaimedExecution[]): Promise<void> {
  const values: string[] = [];
  const params: unknown[] = [];
  for (const e of claimed) {
    values.push(`(?, ?, ?, 1, ${store.nowPlus}, ${store.now}, ${store.now})`);
    params.push(executionLockKey(e.id), owner, e.leaseToken, store.ms(ttlMs));
  }
  const upsert = store.mysql
    ? 'ON DUPLICATE KEY UPDATE owner = VALUES(owner), token = VALUES(token), hold_count = 1, expires_at = VALUES(expires_at), updated_at = VALUES(updated_at)'
    : 'ON CONFLICT (lock_key) DO UPDATE SET owner = excluded.owner, token = excluded.token, hold_count = 1, expires_at = excluded.expires_at, updated_at = excluded.updated_at';
  await q.run(
    `INSERT INTO distributed_locks (lock_key, owner, token, hold_count, expires_at, created_at, updated_at) VALUES ${values.join(', ')} ${upsert}`,
    params,
  );
}

/**
 * Hand leases back at once (graceful shutdown): executions still `running` under these tokens
 * return to `queued`, their lease rows are deleted, so a peer resumes them without a TTL wait.
 */
export async function releaseLeases(store: SqlStore, owner: string, leases: readonly { executionId: string; token: number }[]): Promise<number> {
  if (leases.length === 0) return 0;
  return store.tx(async (q) => {
    let n = 0;
    for (const l of leases) {
      const res = await q.run(
        `UPDATE workflow_executions SET status = 'queued', available_at = ${store.now}, runner_id = NULL, updated_at = ${store.now} ` +
          "WHERE id = ? AND lease_token = ? AND status = 'running'",
        [l.executionId, l.token],
      );
      n += res.affectedRows;
    }
    await q.run(`${deleteLocksByKeySql(store)} WHERE owner = ? AND lock_key IN (?)`, [owner, leases.map((l) => executionLockKey(l.executionId))]);
    return n;
  });
}

/** The current holder of an execution's lease, if any (describe). */
export async function leaseHolder(store: SqlStore, executionId: string): Promise<{ owner: string; token: number; expiresAt: Date } | null> {
  const rows = await store.all<{ owner: unknown; token: unknown; expires_at: unknown }>(
    `SELECT owner, token, expires_at FROM distributed_locks WHERE lock_key = ? AND expires_at > ${store.now}`,
    [executionLockKey(executionId)],
  );
  const r = rows[0];
  return r ? { owner: String(r.owner), token: Number(r.token), expiresAt: store.date(r.expires_at) as Date } : null;
}

/** One cheap statement: is anything of `workflows` due now? (The idle poll asks only this.) */
export async function hasDueWork(store: SqlStore, workflows: readonly string[]): Promise<boolean> {
  return (await probeWork(store, workflows)).due;
}

/**
 * The idle poll's single statement: is work of `workflows` due, and has any execution lease
 * expired or the sweeper grant lapsed (a dead runner the watchdog should handle)? All from indexes.
 */
export async function probeWork(store: SqlStore, workflows: readonly string[], namespace = 'default'): Promise<{ due: boolean; expired: boolean }> {
  const rows = await store.all<{ due: unknown; expired: unknown }>(
    `SELECT EXISTS (SELECT 1 FROM workflow_executions WHERE namespace = ? AND status IN ('queued', 'waiting') AND available_at <= ${store.now} AND workflow_name IN (?)) AS due, ` +
      `(EXISTS (SELECT 1 FROM distributed_locks WHERE expires_at < ${store.now} AND lock_key >= ? AND lock_key < ?) OR ${sweeperVacantSql(store)}) AS expired`,
    [namespace, workflows, EXECUTION_LOCK_PREFIX, nextPrefix(EXECUTION_LOCK_PREFIX)],
  );
  return { due: Number(rows[0]?.due) === 1, expired: Number(rows[0]?.expired) === 1 };
}

/** The execution leases `owner` still holds (unexpired), as (execution id, token). */
export async function heldLeases(store: SqlStore, owner: string): Promise<{ executionId: string; token: number }[]> {
  const rows = await store.all<{ lock_key: unknown; token: unknown }>(
    `SELECT lock_key, token FROM distributed_locks WHERE owner = ? AND expires_at > ${store.now} AND lock_key >= ? AND lock_key < ?`,
    [owner, EXECUTION_LOCK_PREFIX, nextPrefix(EXECUTION_LOCK_PREFIX)],
  );
  return rows.map((r) => ({ executionId: String(r.lock_key).slice(EXECUTION_LOCK_PREFIX.length), token: Number(r.token) }));
}

/** Executions this runner runs that someone asked to cancel. */
export async function cancelRequests(store: SqlStore, owner: string): Promise<{ executionId: string; reason: string }[]> {
  const rows = await store.all<{ id: unknown; cancel_reason: unknown }>(
    "SELECT id, cancel_reason FROM workflow_executions WHERE status = 'running' AND runner_id = ? AND cancel_reason IS NOT NULL",
    [owner],
  );
  return rows.map((r) => ({ executionId: String(r.id), reason: String(r.cancel_reason) }));
}

/**
 * Safety net: `running` executions whose lease row is gone (someone deleted expired lock rows
 * wholesale) and that made no progress for `staleMs` go back to the queue.
 */
export async function requeueOrphans(store: SqlStore, staleMs: number): Promise<number> {
  const key = store.mysql ? "CONCAT('workflow_execution:', e.id)" : "('workflow_execution:' || e.id)";
  const cutoff = store.mysql ? '(UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND)' : `(${store.now} - ?)`;
  const res = await store.run(
    `UPDATE workflow_executions AS e SET status = 'queued', available_at = ${store.now}, runner_id = NULL ` +
      `WHERE e.status = 'running' AND e.updated_at < ${cutoff} ` +
      `AND NOT EXISTS (SELECT 1 FROM distributed_locks l WHERE l.lock_key = ${key})`,
    [store.ms(staleMs)],
  );
  return res.affectedRows;
}
