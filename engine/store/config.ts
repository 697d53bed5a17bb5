/**
 * MikroORM configuration for a parsed connection URL: the same settings serve the engine
 * (`openDatabase`) and the MikroORM CLI (`mikro-orm.config.ts`). UTC everywhere, datetime(6),
 * binary NO PAD collation on MySQL-family tables so keys compare exactly ('a' ≠ 'A' ≠ 'a ').
 * Only the dialect's own driver package is loaded, and the migrator only when used (MikroORM
 * requires @mikro-orm/migrations on first use): a CLI read on SQLite starts in well under 1 s.
 */
import type { Options } from '@mikro-orm/core';
import type { Logger } from 'pino';
import { GALERA_SESSION_SQL } from './galera';
import { ValidationError } from '../errors';
import { toMs, type Duration } from '../duration';
import { buildEntities } from './entities';
import type { ConnectionSettings } from './dialect';
import { mikroLoggerFactory } from '../logger';
import { mysqlMigrations } from './migrations/mysql';
import { sqliteMigrations } from './migrations/sqlite';

/** Binary, NO PAD collations: trailing spaces are significant in keys. */
export const MARIADB_COLLATION = 'utf8mb4_nopad_bin';
export const MYSQL_COLLATION = 'utf8mb4_0900_bin';

/** Options that tune the store (pool size; SQLite busy timeout). */
export interface StoreTuning {
  /** Max pooled connections (MySQL family). @default 10 */
  poolMax?: number;
  /** Log every SQL statement at debug level through `logger`. @default false */
  debugSql?: boolean;
  /** MySQL family session settings of every pooled connection (see `sessionSettings`). */
  session?: SessionTuning;
  /** How long one connection attempt to a MySQL-family server may take ('10s', or ms). @default '10s' */
  connectTimeout?: Duration;
  /**
   * Every connection refuses writes: MySQL family `SET SESSION TRANSACTION … READ ONLY`, SQLite
   * `PRAGMA query_only` (the deploy gate opens its store so). @default false
   */
  readOnly?: boolean;
  /**
   * The application's own entities, registered next to leaseflow's: `db.orm` then serves as the
   * ORM of transactional steps (`createRunner({ db, orm: db.orm })`), in the store's database.
   */
  entities?: NonNullable<Options['entities']>;
}

/**
 * Per-connection server settings (MySQL family), in seconds. They bound how long anyone waits
 * for a row lock and make the server drop the locks of a frozen or partitioned client.
 */
export interface SessionTuning {
  /** `innodb_lock_wait_timeout`: longest wait for a row lock (then error 1205, retried). @default 5 */
  lockWaitTimeoutS?: number;
  /**
   * MariaDB `idle_transaction_timeout`: a connection idle inside an open transaction this long is
   * closed by the server, which rolls back and frees its locks (a runner frozen mid-transaction).
   * 0 disables. MySQL has no such setting (`waitTimeoutS` bounds it there). @default 30
   */
  idleTransactionTimeoutS?: number;
  /** `wait_timeout`: the server closes a connection idle this long (locks included). @default 120 */
  waitTimeoutS?: number;
  /** `net_read_timeout`: the server gives up reading a half-sent packet after this. @default 30 */
  netReadTimeoutS?: number;
  /** `net_write_timeout`: the server gives up writing to a client that does not read. @default 60 */
  netWriteTimeoutS?: number;
}

/** Defaults of `SessionTuning`. */
export const DEFAULT_SESSION: Required<SessionTuning> = {
  lockWaitTimeoutS: 5, idleTransactionTimeoutS: 30, waitTimeoutS: 120, netReadTimeoutS: 30, netWriteTimeoutS: 60,
};

/** Validate session settings once (an error names the option); returns them defaulted. */
export function resolveSession(session: SessionTuning = {}): Required<SessionTuning> {
  const out = { ...DEFAULT_SESSION };
  for (const key of Object.keys(DEFAULT_SESSION) as (keyof SessionTuning)[]) {
    const v = session[key];
    if (v === undefined) continue;
    const min = key === 'idleTransactionTimeoutS' ? 0 : 1;
    if (!Number.isInteger(v) || v < min || v > 31_536_000) {
      throw new ValidationError(`session.${key} must be an integer number of seconds between ${min} and 31536000`, `session.${key}`);
    }
    out[key] = v;
  }
  return out;
}

/** The statements applied to every new MySQL-family connection, in order. */
export function sessionStatements(dialect: 'mysql' | 'mariadb', session: SessionTuning = {}): [string, string] {
  const s = resolveSession(session);
  const vars = [
    `innodb_lock_wait_timeout = ${s.lockWaitTimeoutS}`,
    `wait_timeout = ${s.waitTimeoutS}`,
    `net_read_timeout = ${s.netReadTimeoutS}`,
    `net_write_timeout = ${s.netWriteTimeoutS}`,
    ...(dialect === 'mariadb' ? [`idle_transaction_timeout = ${s.idleTransactionTimeoutS}`] : []),
  ];
  return ['SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', `SET SESSION ${vars.join(', SESSION ')}`];
}

/** Default bound of one connection attempt. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** Build the MikroORM options for one store. */
export function buildOrmConfig(settings: ConnectionSettings, logger: Logger, tuning: StoreTuning = {}): Options {
  const common = {
    entities: [...buildEntities(settings.dialect), ...(tuning.entities ?? [])],
    discovery: { requireEntitiesArray: true, warnWhenNoEntities: false },
    loggerFactory: mikroLoggerFactory(logger),
    debug: tuning.debugSql ? (['query', 'query-params'] as ('query' | 'query-params')[]) : false,
    forceUtcTimezone: true,
    allowGlobalContext: true,
    ensureDatabase: false,
    // Like leaseflow_migrations, the migration lease table is the migrator's, not an entity's.
    schemaGenerator: { skipTables: ['leaseflow_migration_lease'] },
  };
  const migrations = {
    tableName: 'leaseflow_migrations',
    snapshot: false,
    silent: true,
    emit: 'ts' as const,
  };
  if (settings.dialect === 'sqlite') {
    const { defineConfig: defineLibSql } = require('@mikro-orm/libsql') as typeof import('@mikro-orm/libsql');
    return defineLibSql({
      ...common,
      dbName: settings.dbName,
      pool: {
        min: 1, max: 1,
        afterCreate: (conn: { pragma(s: string): unknown }, done: (err: unknown, c: unknown) => void) => {
          try {
            // MikroORM's libsql dialect deems a connection older than 10 s invalid, so the pool
            // would swap it between two statements of one BEGIN IMMEDIATE … COMMIT (sql.ts runs
            // them on "the" single connection): the first half rolled back, the rest autocommitted.
            // A local file connection never goes stale: keep it for the life of the pool.
            (conn as { __created?: number }).__created = Number.POSITIVE_INFINITY;
            conn.pragma('busy_timeout = 10000'); // first: switching to WAL must wait, not fail
            conn.pragma('journal_mode = WAL');
            conn.pragma('synchronous = NORMAL');
            if (tuning.readOnly) conn.pragma('query_only = ON');
            done(null, conn);
          } catch (err) {
            done(err, conn);
          }
        },
      },
      // Transaction handled by migrate() itself (BEGIN IMMEDIATE under a lock file, database.ts).
      migrations: { ...migrations, migrationsList: sqliteMigrations, transactional: false, allOrNothing: false },
    }) as Options;
  }
  const define = settings.dialect === 'mariadb'
    ? (require('@mikro-orm/mariadb') as typeof import('@mikro-orm/mariadb')).defineConfig
    : (require('@mikro-orm/mysql') as typeof import('@mikro-orm/mysql')).defineConfig;
  return define({
    ...common,
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password,
    dbName: settings.dbName,
    charset: 'utf8mb4',
    collate: settings.dialect === 'mariadb' ? MARIADB_COLLATION : MYSQL_COLLATION,
    timezone: '+00:00',
    driverOptions: { connection: { connectTimeout: tuning.connectTimeout === undefined ? DEFAULT_CONNECT_TIMEOUT_MS : toMs(tuning.connectTimeout, 'connectTimeout') } },
    pool: {
      min: 0, max: tuning.poolMax ?? 10,
      // Every transaction leaseflow runs is READ COMMITTED (SKIP LOCKED claims deadlock under
      // REPEATABLE READ, TOOLCHAIN pitfall 13). Setting it once per connection saves a round
      // trip on every transaction. The timeouts bound lock waits and let the server drop the
      // locks of a frozen client (SessionTuning).
      afterCreate: (conn: { query(sql: string, cb: (err: unknown) => void): void }, done: (err: unknown, c: unknown) => void) => {
        const [iso, vars] = sessionStatements(settings.dialect as 'mysql' | 'mariadb', tuning.session);
        const isolation = tuning.readOnly ? `${iso}, READ ONLY` : iso;
        // On Galera a read waits until the node has applied every write the cluster committed before it.
        const galera = (next: () => void) => (settings.galera ? conn.query(GALERA_SESSION_SQL, (e) => (e ? done(e, conn) : next())) : next());
        conn.query(isolation, (err) => (err ? done(err, conn) : conn.query(vars, (err2) => (err2 ? done(err2, conn) : galera(() => done(null, conn))))));
      },
    },
    // DDL auto-commits on MySQL: a "transactional" migration is a lie there (TOOLCHAIN pitfall 11).
    migrations: { ...migrations, migrationsList: mysqlMigrations, transactional: false, allOrNothing: false },
  }) as Options;
}
