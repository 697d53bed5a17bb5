/**
 * All SQL of `distributed_locks`; expiries on the DB clock, values as parameters. Invariant: a key's
 * fencing token strictly increases across new grants, even across deletes: a new grant takes
 * GREATEST(previous + 1, DB clock in µs), and a row is deleted only once the clock has passed its
 * token (else it stays as an expired tombstone, hold_count 0). MySQL: short READ COMMITTED
 * transactions; SQLite: single statements (libsql is synchronous: a BEGIN IMMEDIATE held across
 * awaits makes other in-process connections busy-wait with the event loop blocked).
 */
import { isConnectionError, isDuplicateKeyError, retryStatement, type SqlRunner, type SqlStore } from './sql';

/** One lock grant as the database holds it (domain object; rows never leave this module). */
export interface LockGrant {
  /** The key, exactly as given. */
  readonly lockKey: string;
  /** The owner the grant belongs to. */
  readonly owner: string;
  /** Fencing token: larger on every new grant of this key. */
  readonly token: number;
  /** When the grant lapses, on the database clock. */
  readonly expiresAt: Date;
  /** Reentrant depth: 1 for a fresh grant, +1 per re-acquire by the same owner. */
  readonly holdCount: number;
}

/** What an acquire attempt produced. */
export type AcquireOutcome =
  | { acquired: true; grant: LockGrant; reentered: boolean }
  | { acquired: false; holder: string | null; holderExpiresAt: Date | null };

/** What a release produced. */
export type ReleaseOutcome =
  | { released: true; token: number; remainingHolds: number }
  | { released: false };

/** Parameters of `acquireLock`. */
export interface AcquireRequest {
  lockKey: string;
  owner: string;
  ttlMs: number;
  /** Let the current owner re-acquire (hold_count + 1). @default true */
  reentrant?: boolean;
}

/** Optional fence on release/refresh: act only on the grant with this token. */
export interface GrantFence {
  token?: number;
}

type Raw = Record<string, unknown>;

const COLS = 'lock_key, owner, token, hold_count, expires_at';
/** Attempts of a statement or transaction that hit a duplicate key or a changed row. */
const MAX_RACE_RETRIES = 50;

/** Dialect fragments used by every statement below. */
function fragments(store: SqlStore) {
  const now = store.now;
  return {
    now,
    nowPlus: store.nowPlus,
    /** Database clock in microseconds since the epoch (ms × 1000 on SQLite). */
    clockUs: store.mysql ? "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6))" : `(${now} * 1000)`,
    /** A moment just before now: an expiry that has already passed. */
    justPast: store.mysql ? `(${now} - INTERVAL 1 MICROSECOND)` : `(${now} - 1)`,
    greatest: store.mysql ? 'GREATEST' : 'MAX',
    /** An unexpired, held row (tombstones have hold_count 0). */
    live: (t = '') => `(${t}hold_count > 0 AND ${t}expires_at >= ${now})`,
    forUpdate: store.mysql ? ' FOR UPDATE' : '',
  };
}

function toGrant(store: SqlStore, row: Raw): LockGrant {
  return {
    lockKey: String(row.lock_key),
    owner: String(row.owner),
    token: Number(row.token),
    expiresAt: store.date(row.expires_at) as Date,
    holdCount: Number(row.hold_count),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Read a row whatever its state (tombstones and expired rows included), with liveness. */
async function readRow(q: SqlRunner, store: SqlStore, lockKey: string, lock = false): Promise<Raw | undefined> {
  const f = fragments(store);
  const [row] = await q.all<Raw>(
    `SELECT ${COLS}, ${f.live()} AS live, ${f.clockUs} AS clock FROM distributed_locks WHERE lock_key = ?${lock ? f.forUpdate : ''}`,
    [lockKey]);
  return row;
}

const isLive = (row: Raw) => Number(row.live) === 1;

/** After a connection error: read the row again (the server may be coming back). */
async function reread(store: SqlStore, lockKey: string): Promise<{ row: Raw | undefined } | null> {
  for (let i = 0; i < 3; i++) {
    try {
      return { row: await readRow(store, store, lockKey) };
    } catch (err) {
      if (!isConnectionError(err)) return null;
      await sleep(100 * 2 ** i);
    }
  }
  return null;
}

/** What the acquire transaction saw before writing (to judge an unknown-outcome commit). */
interface Observed {
  exists: boolean;
  owner?: string;
  token?: number;
  holdCount?: number;
  live?: boolean;
}

/**
 * Acquire `lockKey` for `owner`: a new grant (fresh row, or take-over of an expired row or a
 * tombstone) gets a new fencing token; the current unexpired owner re-acquiring (when reentrant)
 * keeps the token, increments hold_count and never shortens the expiry.
 */
export async function acquireLock(store: SqlStore, req: AcquireRequest): Promise<AcquireOutcome> {
  const reentrant = req.reentrant !== false;
  if (!store.mysql) return acquireSqlite(store, req, reentrant);
  let observed: Observed | undefined;
  for (let attempt = 1; ; attempt++) {
    observed = undefined;
    try {
      return await store.tx((q) => acquireMySqlTx(q, store, req, reentrant, (o) => (observed = o)));
    } catch (err) {
      if (isDuplicateKeyError(err) && attempt < MAX_RACE_RETRIES) {
        // A racing first insert won. A plain read settles the common case without queueing for
        // the row lock behind every other loser; anything else goes round the transaction again.
        const row = await readRow(store, store, req.lockKey);
        if (row && isLive(row) && (row.owner !== req.owner || !reentrant)) {
          return { acquired: false, holder: String(row.owner), holderExpiresAt: store.date(row.expires_at) };
        }
        continue;
      }
      if (isConnectionError(err)) {
        const outcome = await resolveUnknownAcquire(store, req, observed);
        if (outcome) return outcome;
      }
      throw err;
    }
  }
}

async function acquireMySqlTx(q: SqlRunner, store: SqlStore, req: AcquireRequest, reentrant: boolean,
  observe: (o: Observed) => void): Promise<AcquireOutcome> {
  const f = fragments(store);
  const row = await readRow(q, store, req.lockKey, true);
  observe(row
    ? { exists: true, owner: String(row.owner), token: Number(row.token), holdCount: Number(row.hold_count), live: isLive(row) }
    : { exists: false });
  let reentered = false;
  if (!row) {
    // The token is set by a second statement so the clock is read after the key is ours:
    // a statement-start clock could predate a racing grant-and-release of the same key.
    await q.run(`INSERT INTO distributed_locks (lock_key, owner, token, hold_count, expires_at, created_at, updated_at)
      VALUES (?, ?, 0, 1, ${f.nowPlus}, ${f.now}, ${f.now})`, [req.lockKey, req.owner, store.ms(req.ttlMs)]);
    await q.run(`UPDATE distributed_locks SET token = ${f.clockUs} WHERE lock_key = ?`, [req.lockKey]);
  } else if (isLive(row)) {
    if (row.owner !== req.owner || !reentrant) {
      return { acquired: false, holder: String(row.owner), holderExpiresAt: store.date(row.expires_at) };
    }
    reentered = true;
    await q.run(`UPDATE distributed_locks SET hold_count = hold_count + 1,
      expires_at = GREATEST(expires_at, ${f.nowPlus}), updated_at = ${f.now} WHERE lock_key = ?`,
    [store.ms(req.ttlMs), req.lockKey]);
  } else {
    // MySQL assigns left to right: token reads the old token, owner needs no old value.
    await q.run(`UPDATE distributed_locks SET owner = ?, token = GREATEST(token + 1, ${f.clockUs}), hold_count = 1,
      expires_at = ${f.nowPlus}, created_at = ${f.now}, updated_at = ${f.now} WHERE lock_key = ?`,
    [req.owner, store.ms(req.ttlMs), req.lockKey]);
  }
  const [written] = await q.all<Raw>(`SELECT ${COLS} FROM distributed_locks WHERE lock_key = ?`, [req.lockKey]);
  return { acquired: true, grant: toGrant(store, written), reentered };
}

async function acquireSqlite(store: SqlStore, req: AcquireRequest, reentrant: boolean): Promise<AcquireOutcome> {
  const f = fragments(store);
  const live = f.live('distributed_locks.');
  const mine = `(${live} AND distributed_locks.owner = excluded.owner)`;
  // One statement: atomic under SQLite's write lock, and 'now' is read after the lock is taken.
  const rows = await retryStatement(() => store.all<Raw>(`INSERT INTO distributed_locks (lock_key, owner, token, hold_count, expires_at, created_at, updated_at)
    VALUES (?, ?, ${f.clockUs}, 1, ${f.nowPlus}, ${f.now}, ${f.now})
    ON CONFLICT (lock_key) DO UPDATE SET
      token = CASE WHEN ${mine} THEN distributed_locks.token ELSE MAX(distributed_locks.token + 1, excluded.token) END,
      hold_count = CASE WHEN ${mine} THEN distributed_locks.hold_count + 1 ELSE 1 END,
      expires_at = CASE WHEN ${mine} THEN MAX(distributed_locks.expires_at, excluded.expires_at) ELSE excluded.expires_at END,
      created_at = CASE WHEN ${mine} THEN distributed_locks.created_at ELSE excluded.created_at END,
      owner = excluded.owner,
      updated_at = excluded.updated_at
    WHERE NOT ${live}${reentrant ? ` OR ${mine}` : ''}
    RETURNING ${COLS}`, [req.lockKey, req.owner, store.ms(req.ttlMs)]));
  if (rows.length === 1) {
    const grant = toGrant(store, rows[0]);
    return { acquired: true, grant, reentered: grant.holdCount > 1 };
  }
  const held = await readRow(store, store, req.lockKey);
  return held && isLive(held)
    ? { acquired: false, holder: String(held.owner), holderExpiresAt: store.date(held.expires_at) }
    : { acquired: false, holder: null, holderExpiresAt: null };
}

/** The commit's outcome is unknown: the re-read row decides whether the grant is ours. */
async function resolveUnknownAcquire(store: SqlStore, req: AcquireRequest, observed: Observed | undefined): Promise<AcquireOutcome | null> {
  if (!observed) return null; // failed before reading: nothing was written
  const seen = await reread(store, req.lockKey);
  const row = seen?.row;
  if (!row || !isLive(row) || row.owner !== req.owner) return null;
  const grant = toGrant(store, row);
  const wasMine = observed.exists && observed.live && observed.owner === req.owner;
  if (wasMine) {
    return grant.token === observed.token && grant.holdCount === (observed.holdCount ?? 0) + 1
      ? { acquired: true, grant, reentered: true } : null;
  }
  return !observed.exists || grant.token !== observed.token ? { acquired: true, grant, reentered: false } : null;
}

/**
 * Release one hold of `owner` on `lockKey` (optionally only the grant with `fence.token`).
 * The last hold deletes the row, or tombstones it while the DB clock has not yet passed its
 * token. An expired own grant that nobody took over is released like a live one.
 */
export async function releaseLock(store: SqlStore, lockKey: string, owner: string, fence: GrantFence = {}): Promise<ReleaseOutcome> {
  const f = fragments(store);
  for (let attempt = 1; attempt <= MAX_RACE_RETRIES; attempt++) {
    const row = await readRow(store, store, lockKey);
    const holds = Number(row?.hold_count ?? 0);
    if (!row || row.owner !== owner || holds < 1 || (fence.token !== undefined && Number(row.token) !== fence.token)) {
      return { released: false };
    }
    const token = Number(row.token);
    const where = 'lock_key = ? AND owner = ? AND token = ? AND hold_count = ?';
    const key = [lockKey, owner, token, holds];
    try {
      if (holds > 1) {
        const r = await retryStatement(() => store.run(`UPDATE distributed_locks SET hold_count = hold_count - 1, updated_at = ${f.now} WHERE ${where}`, key));
        if (r.affectedRows === 1) return { released: true, token, remainingHolds: holds - 1 };
        continue;
      }
      const del = await retryStatement(() => store.run(`DELETE FROM distributed_locks WHERE ${where} AND token < ${f.clockUs}`, key));
      if (del.affectedRows === 1) return { released: true, token, remainingHolds: 0 };
      // The clock has not passed the token (same millisecond on SQLite, or a clock step back):
      // keep the row as an expired tombstone so the next grant still counts up from it.
      const tomb = await retryStatement(() => store.run(
        `UPDATE distributed_locks SET hold_count = 0, expires_at = ${f.justPast}, updated_at = ${f.now} WHERE ${where}`, key));
      if (tomb.affectedRows === 1) return { released: true, token, remainingHolds: 0 };
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      const seen = await reread(store, lockKey);
      if (!seen) throw err;
      const after = seen.row;
      const gone = !after || after.owner !== owner || Number(after.token) !== token || Number(after.hold_count) < holds;
      if (gone) return { released: true, token, remainingHolds: Math.max(0, holds - 1) };
      throw err;
    }
  }
  throw new Error(`release of lock "${lockKey}" kept racing concurrent changes of the same owner`);
}

/**
 * Extend an unexpired grant of `owner` to now + ttl (token unchanged); null when the key is not
 * held by `owner` (absent, expired, another owner, or not the fenced token). Idempotent, so a
 * connection error retries it once.
 */
export async function refreshLock(store: SqlStore, lockKey: string, owner: string, ttlMs: number, fence: GrantFence = {}): Promise<LockGrant | null> {
  try {
    return await refreshOnce(store, lockKey, owner, ttlMs, fence);
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    const seen = await reread(store, lockKey);
    if (!seen) throw err;
    return refreshOnce(store, lockKey, owner, ttlMs, fence);
  }
}

async function refreshOnce(store: SqlStore, lockKey: string, owner: string, ttlMs: number, fence: GrantFence): Promise<LockGrant | null> {
  const f = fragments(store);
  const tokenCond = fence.token === undefined ? '' : ' AND token = ?';
  const params = [store.ms(ttlMs), lockKey, owner, ...(fence.token === undefined ? [] : [fence.token])];
  const update = `UPDATE distributed_locks SET expires_at = ${f.nowPlus}, updated_at = ${f.now}
    WHERE lock_key = ? AND owner = ? AND ${f.live()}${tokenCond}`;
  if (!store.mysql) {
    const rows = await retryStatement(() => store.all<Raw>(`${update} RETURNING ${COLS}`, params));
    return rows.length === 1 ? toGrant(store, rows[0]) : null;
  }
  return store.tx(async (q) => {
    const r = await q.run(update, params);
    if (r.affectedRows !== 1) return null;
    const [row] = await q.all<Raw>(`SELECT ${COLS} FROM distributed_locks WHERE lock_key = ?`, [lockKey]);
    return toGrant(store, row);
  });
}

/**
 * The heartbeat: extend every unexpired grant of `owner` to now + ttl in ONE statement.
 * Returns how many rows matched (expired grants are left to lapse).
 */
export async function refreshOwnerLocks(store: SqlStore, owner: string, ttlMs: number): Promise<number> {
  const f = fragments(store);
  const r = await retryStatement(() => store.run(
    `UPDATE distributed_locks SET expires_at = ${f.nowPlus}, updated_at = ${f.now} WHERE owner = ? AND ${f.live()}`,
    [store.ms(ttlMs), owner]));
  return r.affectedRows;
}

/** The current (unexpired) grant of `lockKey`, or null. */
export async function readLock(store: SqlStore, lockKey: string): Promise<LockGrant | null> {
  const f = fragments(store);
  const [row] = await store.all<Raw>(`SELECT ${COLS} FROM distributed_locks WHERE lock_key = ? AND ${f.live()}`, [lockKey]);
  return row ? toGrant(store, row) : null;
}

/** Options of `listLocks`. */
export interface ListLocksQuery {
  /** Only this owner's grants. */
  owner?: string;
  /** At most this many, ordered by key. @default 1000 */
  limit?: number;
}

/** Unexpired grants, ordered by key (for the `locks` command and heartbeat reconciliation). */
export async function listLocks(store: SqlStore, query: ListLocksQuery = {}): Promise<LockGrant[]> {
  const f = fragments(store);
  const limit = Math.max(1, Math.min(100_000, Math.floor(query.limit ?? 1000)));
  const rows = await store.all<Raw>(
    `SELECT ${COLS} FROM distributed_locks WHERE ${f.live()}${query.owner === undefined ? '' : ' AND owner = ?'} ORDER BY lock_key LIMIT ${limit}`,
    query.owner === undefined ? [] : [query.owner]);
  return rows.map((r) => toGrant(store, r));
}

/**
 * Delete expired rows (and tombstones) in one statement; returns how many. A row whose token the
 * DB clock has not passed yet is kept for a later run, so a re-created key still counts upward.
 */
export async function deleteExpiredLocks(store: SqlStore): Promise<number> {
  const f = fragments(store);
  const r = await retryStatement(() => store.run(
    `DELETE FROM distributed_locks WHERE expires_at < ${f.now} AND token < ${f.clockUs}`));
  return r.affectedRows;
}
