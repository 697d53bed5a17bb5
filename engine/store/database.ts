/**
 * `openDatabase(url)`: the one handle that opens, migrates and closes a leaseflow store.
 * Every other part of the engine takes this handle (or a URL it opens itself). Migrating is
 * idempotent and safe to race: MySQL-family servers serialise it with a lease row, SQLite with
 * a lock file beside the database, and a loser re-checks instead of failing. Opening never
 * creates a database or SQLite file unless `createDatabase` is set: a mistyped name is a
 * DatabaseNotFoundError, not a new empty store. Connection failures become typed errors.
 */
import { MikroORM, type IMigrator } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import type { Logger } from 'pino';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_DB_URL, parseDbUrl, type ConnectionSettings, type Dialect } from './dialect';
import { buildOrmConfig, DEFAULT_CONNECT_TIMEOUT_MS, resolveSession, type SessionTuning, type StoreTuning } from './config';
import { toMs } from '../duration';
import { createSqlStore, type SqlStore } from './sql';
import { withFileLock } from './file-lock';
import { withMigrationLease } from './migration-lease';
import { mysqlMigrations } from './migrations/mysql';
import { sqliteMigrations } from './migrations/sqlite';
import { silentLogger } from '../logger';
import { DatabaseNotFoundError, ValidationError } from '../errors';
import { toConnectError } from './connect-errors';
import { PayloadDoor } from '../codec/door';
import type { PayloadCodec } from '../codec/types';
import { assertGaleraUsable, assertSyncWait, readGaleraFacts } from './galera';

/** An opened leaseflow store. */
export interface Database {
  /** The MikroORM instance (entities of every leaseflow table). */
  readonly orm: MikroORM;
  /** `mysql`, `mariadb` or `sqlite`. */
  readonly dialect: Dialect;
  /** The connection URL, password masked. */
  readonly url: string;
  /** True when the server is a Galera cluster node (settings checked at open, galera.ts). */
  readonly galera: boolean;
  /** @internal statement runner used by the store modules. */
  readonly sql: SqlStore;
  /** @internal the payload door: JSON + the codec chain (`codecs`) for every stored payload. */
  readonly payloads: PayloadDoor;
  /** Apply pending migrations (idempotent; safe when several processes race). */
  migrate(): Promise<void>;
  /** Names of migrations not yet applied. */
  pendingMigrations(): Promise<string[]>;
  /** Close the pool. Idempotent. */
  close(): Promise<void>;
}

/** Options of `openDatabase`. */
export interface OpenDatabaseOptions extends StoreTuning {
  /** Logger for store messages (MikroORM's included). @default silent */
  logger?: Logger;
  /**
   * Create the database (MySQL family) or the SQLite file (and its folder) when missing; without
   * it a missing one is a DatabaseNotFoundError. Only `leaseflow migrate --create` and the dev
   * demo on the embedded default set it. @default false
   */
  createDatabase?: boolean;
  /** Payload codec chain (e.g. `[compressionCodec(), aesGcmCodec({ keys, currentKeyId })]`), applied in order on write. @default none */
  codecs?: readonly PayloadCodec[];
}

/** Either a URL or an opened handle: what every `db` option accepts. */
export type DbInput = string | Database | undefined;

/** The migrator's session: long DDL lock waits allowed. */
const MIGRATION_SESSION: SessionTuning = { idleTransactionTimeoutS: 0, waitTimeoutS: 3600, lockWaitTimeoutS: 50 };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Open a store. `url` defaults to the embedded SQLite file `sqlite:./.leaseflow/leaseflow.db`
 * (the engine reads no environment: pass `process.env.LEASEFLOW_DB_URL` yourself).
 */
export async function openDatabase(url: string = DEFAULT_DB_URL, options: OpenDatabaseOptions = {}): Promise<Database> {
  const settings = parseDbUrl(url);
  const payloads = new PayloadDoor(options.codecs ?? []);
  resolveSession(options.session); // bad session settings fail before anything connects
  const logger = options.logger ?? silentLogger();
  const create = options.createDatabase === true;
  const connectTimeoutMs = resolveConnectTimeout(options);
  if (settings.dialect === 'sqlite' && settings.dbName !== ':memory:') {
    // libsql creates a missing file on open: check first.
    if (!existsSync(settings.dbName)) {
      if (!create) throw new DatabaseNotFoundError(settings.dbName, '(no such SQLite file)');
      mkdirSync(dirname(settings.dbName), { recursive: true });
    }
  }
  if (settings.dialect !== 'sqlite') {
    const server = await prepareMySqlServer(settings, logger, create, connectTimeoutMs).catch((err: unknown) => {
      throw toConnectError(err, settings, connectTimeoutMs);
    });
    // A mysql:// URL that reaches MariaDB gets the MariaDB driver: the MySQL driver mis-reads
    // MariaDB's JSON and never sees a clean schema diff there (TOOLCHAIN pitfall 3).
    if (server.mariadb) settings.dialect = 'mariadb';
    settings.galera = server.galera;
  }
  const orm = await MikroORM.init(buildOrmConfig(settings, logger, options)).catch((err: unknown) => {
    throw toConnectError(err, settings, connectTimeoutMs);
  });
  const conn = orm.em.getConnection() as unknown as AbstractSqlConnection;
  const sql = createSqlStore(conn, settings.dialect, settings.galera === true);
  if (settings.galera) {
    await assertSyncWait((q, p) => sql.all(q, p), `${settings.host}:${settings.port}`).catch(async (err: unknown) => {
      await orm.close(true);
      throw err;
    });
  }
  let closed = false;

  const handle: Database = {
    orm,
    dialect: settings.dialect,
    url: settings.display,
    galera: settings.galera === true,
    sql,
    payloads,
    async pendingMigrations() {
      // Plain SQL against the migrations table instead of the migrator: a CLI read does not load
      // @mikro-orm/migrations (and umzug) just to learn that nothing is pending.
      const known = (settings.dialect === 'sqlite' ? sqliteMigrations : mysqlMigrations).map((m) => m.name);
      const table = settings.dialect === 'sqlite'
        ? await sql.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'leaseflow_migrations'")
        : await sql.all("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'leaseflow_migrations'");
      if (table.length === 0) return known;
      const applied = new Set((await sql.all<{ name: string }>('SELECT name FROM leaseflow_migrations')).map((r) => r.name));
      return known.filter((name) => !applied.has(name));
    },
    async migrate() {
      if (settings.dialect === 'sqlite') {
        if (settings.dbName === ':memory:') return migrateWithRetry(orm);
        // Under the lock file, one IMMEDIATE transaction on the single connection: MikroORM's own
        // deferred migration transaction fails with BUSY against a racing reader and then cannot
        // be retried (its stored transaction is never cleared).
        return withFileLock(`${settings.dbName}.migrate.lock`, async () => {
          await conn.execute('BEGIN IMMEDIATE', [], 'run');
          try {
            await migratorOf(orm).up();
            await conn.execute('COMMIT', [], 'run');
          } catch (err) {
            await conn.execute('ROLLBACK', [], 'run').catch(() => undefined);
            throw err;
          }
        });
      }
      // Nothing pending (every runner start on an up-to-date store): one read, no lease, no wait.
      if ((await handle.pendingMigrations()).length === 0) return;
      // A private pool for the migrator (the main pool may be a single connection), serialised by
      // a lease row: GET_LOCK is node-local on Galera (migration-lease.ts).
      const mig = await MikroORM.init(buildOrmConfig(settings, logger, { poolMax: 2, session: MIGRATION_SESSION }));
      try {
        const mconn = mig.em.getConnection() as unknown as AbstractSqlConnection;
        await withMigrationLease(createSqlStore(mconn, settings.dialect, settings.galera === true), () => migrateWithRetry(mig));
      } finally {
        await mig.close(true);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await orm.close(true);
    },
  };
  return handle;
}

/** Open `db` when it is a URL; returns the handle and whether the caller owns (must close) it. */
export async function resolveDatabase(db: DbInput, options: OpenDatabaseOptions = {}): Promise<{ db: Database; owned: boolean }> {
  if (db && typeof db === 'object') {
    if (options.codecs !== undefined) throw new ValidationError('codecs go to openDatabase when db is an opened Database', 'codecs');
    return { db, owned: false };
  }
  const opened = await openDatabase(db ?? DEFAULT_DB_URL, options);
  return { db: opened, owned: true };
}

/**
 * The migrator, its package loaded and registered on first use (not at open: a CLI read never
 * needs it). Registered explicitly because MikroORM's own fallback resolves the package from
 * the working directory, which is wrong for an installed `leaseflow` binary.
 */
function migratorOf(orm: MikroORM): IMigrator {
  if (!orm.config.getExtension('@mikro-orm/migrator')) {
    (require('@mikro-orm/migrations') as typeof import('@mikro-orm/migrations')).Migrator.register(orm);
  }
  return orm.getMigrator();
}

async function migrateWithRetry(orm: MikroORM): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await migratorOf(orm).up();
      return;
    } catch (err) {
      // A racing process may have applied the same migration first: re-check before failing.
      const pending = await migratorOf(orm).getPendingMigrations().catch(() => null);
      if (pending && pending.length === 0) return;
      if (attempt >= 5) throw err;
      await sleep(100 * attempt);
    }
  }
}

function resolveConnectTimeout(options: OpenDatabaseOptions): number {
  if (options.connectTimeout === undefined) return DEFAULT_CONNECT_TIMEOUT_MS;
  const ms = toMs(options.connectTimeout, 'connectTimeout');
  if (ms < 1) throw new ValidationError('connectTimeout must be at least 1 ms', 'connectTimeout');
  return ms;
}

/**
 * Ask the server what it is, check the database exists and create it if asked to: one short
 * admin connection whose connect attempt is bounded by `connectTimeoutMs` (no pool retries).
 */
async function prepareMySqlServer(settings: ConnectionSettings, logger: Logger, create: boolean, connectTimeoutMs: number): Promise<{ mariadb: boolean; galera: boolean }> {
  const config = buildOrmConfig({ ...settings, dbName: 'information_schema' }, logger, { poolMax: 1, connectTimeout: connectTimeoutMs });
  const admin = await MikroORM.init({ ...config, driverOptions: { ...(config.driverOptions as object), acquireConnectionTimeout: connectTimeoutMs } });
  try {
    const conn = admin.em.getConnection() as unknown as AbstractSqlConnection;
    const [row] = await conn.execute<{ v: string }[]>('SELECT VERSION() AS v', [], 'all');
    const found = await conn.execute<unknown[]>('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [settings.dbName], 'all');
    if (found.length === 0) {
      if (!create) throw new DatabaseNotFoundError(settings.dbName, `on ${settings.host}:${settings.port}`);
      // The name was validated to [A-Za-z0-9_$] by parseDbUrl, so quoting it as an identifier is safe.
      await conn.execute(`CREATE DATABASE IF NOT EXISTS \`${settings.dbName}\` CHARACTER SET utf8mb4`, [], 'run');
    }
    // A Galera node must be set up for leaseflow (galera.ts); a mistake is one clear error now.
    const facts = await readGaleraFacts((q, p) => conn.execute<Record<string, unknown>[]>(q, p, 'all'), settings.dbName);
    assertGaleraUsable(facts, `${settings.host}:${settings.port}`);
    return { mariadb: /mariadb/i.test(String(row?.v ?? '')), galera: facts.galera };
  } finally {
    await admin.close(true);
  }
}
