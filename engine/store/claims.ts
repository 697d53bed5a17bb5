/**
 * Claims and the watchdog. A claim is one short transaction: pick due executions of the
 * served workflows (oldest first; `FOR UPDATE SKIP LOCKED` in READ COMMITTED on MySQL, an
 * immediate transaction on SQLite), admit template members (at most `limit` admitted per
 * key, FIFO by the key's creation sequence `template_seq`, serialised on the key's `workflow_templates` row), bump each lease
 * token and write the lease rows. Members that are not admitted are parked with
 * available_at = NULL (no busy re-claiming) until a slot frees up.
 */
import { EXECUTION_LOCK_PREFIX, executionLockKey, nextPrefix } from './lock-keys';
import { EXECUTION_COLUMNS, toExecution } from './executions';
import { lockTemplate } from './fence';
import { sweeperVacantSql } from './sweeper-fence';
import { deleteLocksByKeySql, type SqlRunner, type SqlStore } from './sql';
import type { ClaimedExecution, ExecutionRecord } from './types';

/** wait_for of an execution parked by admission. */
const ADMISSION_WAIT = JSON.stringify({ kind: 'admission' });

/** What to claim. */
export interface ClaimRequest {
  owner: string;
  workflows: readonly string[];
  limit: number;
  leaseTtlMs: number;
}

/** Claim up to `limit` due executions for `owner`. */
export async function claimExecutions(store: SqlStore, req: ClaimRequest): Promise<ClaimedExecution[]> {
  if (req.limit <= 0 || req.workflows.length === 0) return [];
  return store.tx(async (q) => {
    const lock = store.mysql ? ' FOR UPDATE SKIP LOCKED' : '';
    const rows = await q.all<Record<string, unknown>>(
      `SELECT ${EXECUTION_COLUMNS}, ${store.now} AS db_now FROM workflow_executions ` +
        `WHERE status IN ('queued', 'waiting') AND available_at <= ${store.now} AND workflow_name IN (?) ` +
        `ORDER BY available_at, id LIMIT ?${lock}`,
      [req.workflows, req.limit],
    );
    if (rows.length === 0) return [];
    const dbNowAt = store.date(rows[0].db_now) as Date;
    let picked = rows.map((r) => toExecution(r, store.date));
    picked = await admit(q, store, picked);
    if (picked.length === 0) return [];
    let ids = picked.map((e) => e.id);
    const updated = await q.run(
      `UPDATE workflow_executions SET status = 'running', lease_token = lease_token + 1, runner_id = ?, attempt = attempt + 1, ` +
        `admitted = CASE WHEN template_key IS NULL THEN admitted ELSE 1 END, wait_for = CASE WHEN wait_for = ? THEN NULL ELSE wait_for END, ` +
        `started_at = COALESCE(started_at, ${store.now}), updated_at = ${store.now} WHERE id IN (?)`,
      [req.owner, ADMISSION_WAIT, ids],
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
      waitFor: e.waitFor?.kind === 'admission' ? null : e.waitFor,
      dbNow: dbNowAt,
      claimedFromWaiting: e.status === 'waiting',
    }));
    await writeLeaseRows(q, store, req.owner, req.leaseTtlMs, claimed);
    return claimed;
  });
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
 * Template admission, inside the claim transaction. Executions without a template, or already
 * admitted (resuming after a wait or a crash), pass. Others pass when their key has a free slot
 * and they are at the head of the key's FIFO; the rest are parked until a slot frees.
 */
async function admit(q: SqlRunner, store: SqlStore, picked: ExecutionRecord[]): Promise<ExecutionRecord[]> {
  const pending = picked.filter((e) => e.templateKey !== null && !e.admitted);
  if (pending.length === 0) return picked;
  const rejected = new Set<string>();
  const keys = [...new Set(pending.map((e) => e.templateKey as string))].sort();
  for (const key of keys) {
    const members = pending.filter((e) => e.templateKey === key);
    const limit = Math.max(1, members[0].templateLimit ?? 1);
    await lockTemplate(q, store, key);
    const [{ n }] = await q.all<{ n: unknown }>(
      "SELECT COUNT(*) AS n FROM workflow_executions WHERE template_key = ? AND admitted = 1 AND status IN ('queued', 'running', 'waiting')",
      [key],
    );
    const free = Math.max(0, limit - Number(n));
    const head = free === 0 ? [] : await q.all<{ id: unknown; available_at: unknown }>(
      `SELECT id, available_at FROM workflow_executions WHERE template_key = ? AND admitted = 0 AND status = 'queued' ` +
        `AND (available_at IS NULL OR available_at <= ${store.now}) ORDER BY template_seq, created_at, id LIMIT ?`,
      [key, free],
    );
    const headIds = new Set(head.map((h) => String(h.id)));
    for (const m of members) if (!headIds.has(m.id)) rejected.add(m.id);
    // Head members parked earlier (not among our candidates) become claimable again now.
    const memberIds = new Set(members.map((m) => m.id));
    const toWake = head.filter((h) => h.available_at === null && !memberIds.has(String(h.id))).map((h) => String(h.id));
    if (toWake.length) await q.run(`UPDATE workflow_executions SET available_at = ${store.now} WHERE id IN (?)`, [toWake]);
  }
  if (rejected.size) {
    await q.run(
      `UPDATE workflow_executions SET available_at = NULL, wait_for = ?, updated_at = ${store.now} WHERE id IN (?) AND status = 'queued'`,
      [ADMISSION_WAIT, [...rejected]],
    );
  }
  return picked.filter((e) => !rejected.has(e.id));
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

/** Re-open admission-parked executions whose key has room (a safety net against lost wake-ups). */
export async function sweepAdmissions(store: SqlStore): Promise<number> {
  const res = await store.run(
    `UPDATE workflow_executions SET available_at = ${store.now} WHERE status = 'queued' AND admitted = 0 AND available_at IS NULL AND template_key IS NOT NULL`,
  );
  return res.affectedRows;
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
export async function probeWork(store: SqlStore, workflows: readonly string[]): Promise<{ due: boolean; expired: boolean }> {
  const rows = await store.all<{ due: unknown; expired: unknown }>(
    `SELECT EXISTS (SELECT 1 FROM workflow_executions WHERE status IN ('queued', 'waiting') AND available_at <= ${store.now} AND workflow_name IN (?)) AS due, ` +
      `(EXISTS (SELECT 1 FROM distributed_locks WHERE expires_at < ${store.now} AND lock_key >= ? AND lock_key < ?) OR ${sweeperVacantSql(store)}) AS expired`,
    [workflows, EXECUTION_LOCK_PREFIX, nextPrefix(EXECUTION_LOCK_PREFIX)],
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
