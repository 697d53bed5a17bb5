/**
 * The one door to SQL. `SqlStore` runs parameterised statements (values are always bound,
 * never spliced) and transactions, and hides the dialect: MySQL/MariaDB get READ COMMITTED
 * transactions (set per connection in config.ts) with deadlock/lock-wait retries; SQLite gets
 * `BEGIN IMMEDIATE` on its single connection behind an in-process mutex, so interactive
 * transactions never hit SQLITE_BUSY_SNAPSHOT across processes.
 */
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import type { Dialect } from './dialect';
import { reportStoreOperation, storeObserved, type StoreErrorKind } from './observer';
import { directMysql, type DirectQuery } from './direct-mysql';

/** Result of a write statement. */
export interface RunResult {
  affectedRows: number;
  insertId: number;
  rows: Record<string, unknown>[];
}

/** Runs statements: on the pool, or inside one transaction. */
export interface SqlRunner {
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  run(sql: string, params?: unknown[]): Promise<RunResult>;
}

/** A dialect-aware statement runner with transactions and the DB clock. */
export interface SqlStore extends SqlRunner {
  readonly dialect: Dialect;
  /** True for MySQL and MariaDB. */
  readonly mysql: boolean;
  /** True on a Galera cluster node: fences must be writes (store/fence.ts). */
  readonly galera?: boolean;
  /** Run `fn` in one transaction; deadlocks and lock-wait timeouts retry the whole function. */
  tx<T>(fn: (q: SqlRunner) => Promise<T>): Promise<T>;
  /** SQL expression for the database clock, as stored in datetime columns. */
  readonly now: string;
  /** SQL expression for `now + ?`; pair it with `ms(…)` for the parameter. */
  readonly nowPlus: string;
  /** The parameter value that goes with `nowPlus` for a duration in milliseconds. */
  ms(durationMs: number): number;
  /** A stored datetime (string, number or Date) as a Date; null stays null. */
  date(value: unknown): Date | null;
  /** A Date as a datetime parameter. */
  dateParam(value: Date): string | number;
}

/** MySQL error numbers that mean "try the transaction again". */
const RETRYABLE_ERRNO = new Set([1213 /* deadlock */, 1205 /* lock wait timeout */]);
/** SQLite codes that mean the same. */
const RETRYABLE_SQLITE = /SQLITE_BUSY|database is locked/;

/** True when an error is a deadlock, lock-wait timeout or SQLite busy error. */
export function isRetryableTxError(err: unknown): boolean {
  const e = err as { errno?: number; code?: string; message?: string; cause?: unknown } | null;
  if (!e) return false;
  if (typeof e.errno === 'number' && RETRYABLE_ERRNO.has(e.errno)) return true;
  if (e.code === 'ER_LOCK_DEADLOCK' || e.code === 'ER_LOCK_WAIT_TIMEOUT') return true;
  if (typeof e.message === 'string' && (RETRYABLE_SQLITE.test(e.message) || /Deadlock found|Lock wait timeout/.test(e.message))) return true;
  return e.cause !== undefined && e.cause !== err ? isRetryableTxError(e.cause) : false;
}

/** True when the connection broke, so a commit may or may not have happened. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; message?: string; fatal?: boolean; cause?: unknown } | null;
  if (!e) return false;
  if (e.fatal) return true;
  const codes = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'PROTOCOL_CONNECTION_LOST', 'ER_CONNECTION_KILLED',
    'ER_SOCKET_UNEXPECTED_CLOSE', 'ER_CONNECTION_ALREADY_CLOSED', 'ER_CLOSING_POOL', 'ER_GET_CONNECTION_TIMEOUT',
    'ER_SERVER_SHUTDOWN', 'ER_CMD_CONNECTION_CLOSED', 'ER_POOL_ALREADY_CLOSED'];
  if (e.code && codes.includes(e.code)) return true;
  if (typeof e.errno === 'number' && [1927, 1053, 2006, 2013, 45009, 45012, 45028].includes(e.errno)) return true;
  // A Galera node outside the Primary Component (a writer just died, a partition) refuses work
  // until it rejoins or the proxy moves the session: 1047 "WSREP has not yet prepared node for
  // application use", 1180 "… provider status: Not connected to Primary Component" (also at
  // COMMIT, where nothing was replicated). Like a lost connection: the store is unavailable for
  // now, and a commit is resolved by reading back.
  if (e.errno === 1047 || (e.errno === 1180 && typeof e.message === 'string' && /Primary Component|wsrep/i.test(e.message))) return true;
  // knex ends a transaction whose connection died between two statements and fails the next
  // one with "Transaction query already complete": the connection is gone, the outcome unknown.
  if (typeof e.message === 'string' && /Connection lost|socket has unexpectedly been closed|Cannot execute new commands: connection closed|connection closed|ECONNRESET|ECONNREFUSED|Connection was killed|server shutdown|Knex: Timeout acquiring a connection|Transaction query already complete/i.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== err ? isConnectionError(e.cause) : false;
}

/** The kind of a store error, for metrics. */
export function storeErrorKind(err: unknown): StoreErrorKind {
  const e = err as { errno?: number; code?: string; message?: string } | null;
  if (e?.errno === 1213 || e?.code === 'ER_LOCK_DEADLOCK' || /Deadlock found/.test(String(e?.message))) return 'deadlock';
  if (e?.errno === 1205 || e?.code === 'ER_LOCK_WAIT_TIMEOUT' || /Lock wait timeout/.test(String(e?.message))) return 'lock_timeout';
  if (isConnectionError(err)) return 'connection';
  if (isRetryableTxError(err)) return 'busy';
  return 'other';
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retries of a transaction that deadlocked or timed out waiting for a lock. */
const MAX_TX_RETRIES = 8;

/**
 * Run one autocommit statement again while it fails with a deadlock or lock-wait timeout (the
 * server rolled that statement back, so running it again is safe), with the transactions' backoff.
 */
export async function retryStatement<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= MAX_TX_RETRIES || !isRetryableTxError(err)) throw err;
      await sleep(Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random()));
    }
  }
}

/** True when an error (or its cause) is a primary/unique key violation, on either dialect. */
export function isDuplicateKeyError(err: unknown): boolean {
  const e = err as { errno?: number; code?: string; message?: string; cause?: unknown } | null;
  if (!e) return false;
  if (e.errno === 1062 || e.code === 'ER_DUP_ENTRY' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
  if (/UNIQUE constraint failed|PRIMARY KEY constraint|Duplicate entry/i.test(String(e.message ?? ''))) return true;
  return e.cause !== undefined && e.cause !== err ? isDuplicateKeyError(e.cause) : false;
}

/** A simple FIFO async mutex (SQLite has one connection; transactions must not interleave). */
class Mutex {
  #tail: Promise<void> = Promise.resolve();
  lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.#tail;
    this.#tail = prev.then(() => next);
    return prev.then(() => release);
  }
}

/**
 * One mutex per SQLite file per process: libsql is synchronous, so a second handle on the same
 * file that waits for the write lock would busy-wait with the event loop blocked while the
 * first handle's transaction awaits — a self-deadlock. Handles of one process take turns.
 */
const sqliteMutexes = new Map<string, Mutex>();
function sqliteMutex(conn: AbstractSqlConnection): Mutex {
  const file = String((conn as unknown as { config: { get(k: string): unknown } }).config.get('dbName'));
  let m = sqliteMutexes.get(file);
  if (!m) sqliteMutexes.set(file, (m = new Mutex()));
  return m;
}

/**
 * Expand array parameters: `IN (?)` with [a, b] becomes `IN (?, ?)` with a, b bound separately
 * (an empty array becomes `NULL`, which matches nothing). Placeholders inside quoted literals
 * are left alone. Exported for tests.
 */
export function expandArrays(sql: string, params: readonly unknown[]): [string, unknown[]] {
  if (!params.some(Array.isArray)) return [sql, [...params]];
  let out = '';
  const values: unknown[] = [];
  let p = 0;
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote) {
      if (c === quote) quote = null;
      out += c;
    } else if (c === "'" || c === '"' || c === '`') {
      quote = c;
      out += c;
    } else if (c === '?') {
      const v = params[p++];
      if (Array.isArray(v)) {
        out += v.length ? v.map(() => '?').join(', ') : 'NULL';
        values.push(...v);
      } else {
        out += '?';
        values.push(v);
      }
    } else {
      out += c;
    }
  }
  return [out, values];
}

function normalizeRun(res: unknown): RunResult {
  if (Array.isArray(res)) return { affectedRows: res.length, insertId: 0, rows: res as Record<string, unknown>[] };
  const r = (res ?? {}) as { affectedRows?: unknown; insertId?: unknown; rows?: unknown };
  return {
    affectedRows: Number(r.affectedRows ?? 0),
    insertId: Number(r.insertId ?? 0),
    rows: Array.isArray(r.rows) ? (r.rows as Record<string, unknown>[]) : [],
  };
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Build the SqlStore over a MikroORM SQL connection. */
export function createSqlStore(conn: AbstractSqlConnection, dialect: Dialect, galera = false): SqlStore {
  const mysql = dialect !== 'sqlite';
  // Values go to the driver as real bindings (knex.raw), never spliced into the SQL text by us
  // or by MikroORM's client-side formatter; arrays bound to `IN (?)` expand to a list.
  const transform = (conn as unknown as { transformRawResult(res: unknown, method: string): unknown }).transformRawResult.bind(conn);
  // MySQL family: statements go to the driver connection directly (direct-mysql.ts), over
  // MikroORM's pool; a transaction context is then a DirectQuery. Else (SQLite, SQL debug) knex.
  const driver = mysql ? directMysql(conn) : null;
  const send = async (sql: string, params: unknown[] | undefined, method: 'all' | 'run', ctx?: unknown) => {
    const [text, values] = expandArrays(sql, params ?? []);
    if (driver) return transform([await (ctx ? (ctx as DirectQuery)(text, values) : driver.query(text, values))], method);
    const q = conn.getKnex().raw(text, values as never);
    if (ctx) q.transacting(ctx as never);
    return transform(await q, method);
  };
  const transactional = <T>(fn: (ctx: unknown) => Promise<T>): Promise<T> => (driver ? driver.transaction(fn) : conn.transactional(fn));
  const exec = async (sql: string, params: unknown[] | undefined, method: 'all' | 'run', ctx?: unknown) => {
    if (!storeObserved()) return send(sql, params, method, ctx);
    const started = performance.now();
    const op = method === 'all' ? 'read' : 'write';
    try {
      const out = await send(sql, params, method, ctx);
      reportStoreOperation({ op, durationMs: performance.now() - started });
      return out;
    } catch (err) {
      reportStoreOperation({ op, durationMs: performance.now() - started, error: storeErrorKind(err) });
      throw err;
    }
  };
  const mutex = mysql ? new Mutex() : sqliteMutex(conn);

  const base = {
    dialect,
    mysql,
    galera: mysql && galera,
    now: mysql ? 'UTC_TIMESTAMP(6)' : "CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER)",
    nowPlus: mysql ? '(UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND)' : "(CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER) + ?)",
    ms: (durationMs: number) => (mysql ? Math.round(durationMs * 1000) : Math.round(durationMs)),
    date(value: unknown): Date | null {
      if (value === null || value === undefined) return null;
      if (value instanceof Date) return value;
      if (typeof value === 'number' || typeof value === 'bigint') return new Date(Number(value));
      const s = String(value);
      if (/^\d+$/.test(s)) return new Date(Number(s));
      return new Date(s.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? '' : 'Z'));
    },
    dateParam(d: Date): string | number {
      if (!mysql) return d.getTime();
      return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
    },
  };

  if (mysql) {
    return {
      ...base,
      all: async <T>(sql: string, params?: unknown[]) => (await exec(sql, params, 'all')) as T[],
      run: async (sql: string, params?: unknown[]) => normalizeRun(await exec(sql, params, 'run')),
      async tx<T>(fn: (q: SqlRunner) => Promise<T>): Promise<T> {
        for (let attempt = 1; ; attempt++) {
          try {
            return await transactional(async (trx) => fn({
              all: async <R>(sql: string, params?: unknown[]) => (await exec(sql, params, 'all', trx)) as R[],
              run: async (sql: string, params?: unknown[]) => normalizeRun(await exec(sql, params, 'run', trx)),
            }));
          } catch (err) {
            if (attempt >= MAX_TX_RETRIES || !isRetryableTxError(err)) throw err;
            await sleep(Math.min(200, 5 * 2 ** attempt) * (0.5 + Math.random()));
          }
        }
      },
    };
  }

  const locked = async <T>(fn: () => Promise<T>): Promise<T> => {
    const release = await mutex.lock();
    try { return await fn(); } finally { release(); }
  };
  const direct: SqlRunner = {
    all: async <T>(sql: string, params?: unknown[]) => (await exec(sql, params, 'all')) as T[],
    run: async (sql: string, params?: unknown[]) => normalizeRun(await exec(sql, params, 'run')),
  };
  return {
    ...base,
    all: <T>(sql: string, params?: unknown[]) => locked(() => direct.all<T>(sql, params)),
    run: (sql: string, params?: unknown[]) => locked(() => direct.run(sql, params)),
    tx<T>(fn: (q: SqlRunner) => Promise<T>): Promise<T> {
      return locked(async () => {
        for (let attempt = 1; ; attempt++) {
          try {
            await exec('BEGIN IMMEDIATE', [], 'run');
          } catch (err) {
            if (attempt >= MAX_TX_RETRIES || !isRetryableTxError(err)) throw err;
            await sleep(10 * attempt);
            continue;
          }
          try {
            const out = await fn(direct);
            await exec('COMMIT', [], 'run');
            return out;
          } catch (err) {
            await exec('ROLLBACK', [], 'run').catch(() => undefined);
            throw err;
          }
        }
      });
    },
  };
}

/**
 * Statements on a caller's open transaction (a MikroORM `em.getTransactionContext()`), or on the
 * connection's pool when `trx` is undefined: the transactional steps and the outbox write the
 * leaseflow rows there, next to the application's own. Values are bound, as everywhere.
 */
export function createTxRunner(conn: AbstractSqlConnection, trx: unknown): SqlRunner {
  const transform = (conn as unknown as { transformRawResult(res: unknown, method: string): unknown }).transformRawResult.bind(conn);
  const send = async (sql: string, params: unknown[] | undefined, method: 'all' | 'run') => {
    const [text, values] = expandArrays(sql, params ?? []);
    const q = conn.getKnex().raw(text, values as never);
    if (trx) q.transacting(trx as never);
    return transform(await q, method);
  };
  return {
    all: async <T>(sql: string, params?: unknown[]) => (await send(sql, params, 'all')) as T[],
    run: async (sql: string, params?: unknown[]) => normalizeRun(await send(sql, params, 'run')),
  };
}

/**
 * `DELETE … FROM distributed_locks` that reads rows only through the `lock_key` unique index
 * (MySQL family), so a multi-key delete never scans into, and waits on, rows another (perhaps
 * frozen) transaction holds: on a small table the optimizer would otherwise pick a locking scan.
 */
export function deleteLocksByKeySql(store: Pick<SqlStore, 'mysql'>): string {
  return store.mysql ? 'DELETE t FROM distributed_locks t FORCE INDEX (distributed_locks_lock_key_unique)' : 'DELETE FROM distributed_locks';
}
