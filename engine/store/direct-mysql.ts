/**
 * The hot path's statements on the MySQL-family driver connection itself (issue 16). MikroORM
 * still owns schema, migrations and the connection pool (knex's pool, tarn): a statement takes
 * a connection from that pool, runs on the `mariadb` driver directly, and gives it back. What
 * this skips, per statement, is knex's query builder and runner (a raw builder, binding
 * rewrites, a runner object, 'query' events, and for a transaction a whole transactional knex
 * instance with its own promise chain): in the runner's CPU profile that was ~20 % of its time.
 * Values are still bound by the driver (never spliced); errors are the driver's own, which the
 * store's retry/unknown-outcome rules (sql.ts) already read. A transaction is BEGIN … COMMIT on
 * one pooled connection; a connection whose ROLLBACK failed is marked so the pool drops it.
 */
import type { AbstractSqlConnection } from '@mikro-orm/knex';

/** The part of a `mariadb/callback` connection this uses. */
interface DriverConnection {
  query(options: { sql: string }, values: unknown[], cb: (err: Error | null, rows: unknown) => void): void;
  /** Set by knex when the connection failed; its pool's validation then destroys it. */
  __knex__disposed?: unknown;
}

/** The part of knex's client this uses (its pool). */
interface KnexClient {
  acquireConnection(): Promise<DriverConnection>;
  releaseConnection(c: DriverConnection): Promise<void>;
}

/** A statement runner on one driver connection: returns what the driver returned (rows or an OK packet). */
export type DirectQuery = (sql: string, values: unknown[]) => Promise<unknown>;

/** Direct statements and transactions over the pool of a MikroORM MySQL-family connection. */
export interface DirectMysql {
  /** One autocommit statement on a pooled connection. */
  query: DirectQuery;
  /** BEGIN, `fn` with statements on the same connection, COMMIT (ROLLBACK on a throw). */
  transaction<T>(fn: (query: DirectQuery) => Promise<T>): Promise<T>;
}

function run(c: DriverConnection, sql: string, values: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    c.query({ sql }, values, (err, rows) => (err ? reject(err) : resolve(rows)));
  });
}

/**
 * The direct path, or null when it cannot be used: MikroORM logs statements through knex
 * (`debug`), so with SQL debugging on everything stays on the knex path.
 */
export function directMysql(conn: AbstractSqlConnection): DirectMysql | null {
  const config = (conn as unknown as { config?: { get(k: string): unknown } }).config;
  const debug = config?.get('debug');
  if (debug === true || (Array.isArray(debug) && debug.length > 0)) return null;
  const client = (conn.getKnex() as unknown as { client?: KnexClient }).client;
  if (!client || typeof client.acquireConnection !== 'function') return null;

  return {
    async query(sql, values) {
      const c = await client.acquireConnection();
      try {
        return await run(c, sql, values);
      } finally {
        void client.releaseConnection(c);
      }
    },
    async transaction<T>(fn: (query: DirectQuery) => Promise<T>): Promise<T> {
      const c = await client.acquireConnection();
      try {
        await run(c, 'BEGIN', []);
        let out: T;
        try {
          out = await fn((sql, values) => run(c, sql, values));
        } catch (err) {
          await run(c, 'ROLLBACK', []).catch((e: unknown) => { c.__knex__disposed = e; });
          throw err;
        }
        await run(c, 'COMMIT', []);
        return out;
      } catch (err) {
        // A connection that broke mid-transaction (or on COMMIT) must not go back as healthy.
        if ((err as { fatal?: boolean })?.fatal) c.__knex__disposed = err;
        throw err;
      } finally {
        void client.releaseConnection(c);
      }
    },
  };
}
