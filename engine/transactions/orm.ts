/**
 * The application's MikroORM as the home of transactional steps: it must be connected to the
 * same MySQL/MariaDB database as the leaseflow store (one transaction covers the business rows
 * and the checkpoint). Checked once per ORM (and per connection for `client.start({ em })`).
 */
import type { MikroORM } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import { TransactionDatabaseMismatchError, TransactionUnsupportedError, ValidationError } from '../errors';
import { createTxRunner, type SqlStore } from '../store/sql';
import { databaseIdentity } from '../store/transactional';

/** Isolation levels of a transactional step (MikroORM's IsolationLevel values). */
export type TransactionIsolation = 'read committed' | 'repeatable read' | 'serializable' | 'read uncommitted';
const ISOLATIONS: readonly string[] = ['read committed', 'repeatable read', 'serializable', 'read uncommitted'];

/** Validate an isolation level (default READ COMMITTED). */
export function checkIsolation(level: unknown): TransactionIsolation {
  if (level === undefined) return 'read committed';
  if (typeof level !== 'string' || !ISOLATIONS.includes(level)) {
    throw new ValidationError(`isolationLevel must be one of ${ISOLATIONS.join(', ')} (got ${String(level)})`, 'isolationLevel');
  }
  return level as TransactionIsolation;
}

const checked = new WeakMap<object, Promise<void>>();

/** Resolve when `conn` reaches the same database as `store`, else reject with a typed error. */
export function verifySameDatabase(store: SqlStore, conn: AbstractSqlConnection): Promise<void> {
  if (!store.mysql) {
    return Promise.reject(new TransactionUnsupportedError('the store is SQLite; transactional steps need MySQL or MariaDB (the ORM shares its transaction with the store)'));
  }
  let p = checked.get(conn);
  if (!p) {
    p = compare(store, conn);
    checked.set(conn, p);
    p.catch(() => checked.delete(conn)); // a connection failure is not cached
  }
  return p;
}

/** Check an ORM given to createRunner / executeClaimed. */
export function verifyTransactionOrm(store: SqlStore, orm: MikroORM): Promise<void> {
  if (!store.mysql) return verifySameDatabase(store, undefined as never);
  if (!orm || typeof orm !== 'object' || !orm.em || typeof orm.em.fork !== 'function') {
    return Promise.reject(new ValidationError('orm must be an initialised MikroORM instance (await MikroORM.init(…))', 'orm'));
  }
  return verifySameDatabase(store, orm.em.getConnection() as unknown as AbstractSqlConnection);
}

async function compare(store: SqlStore, conn: AbstractSqlConnection): Promise<void> {
  let theirs: string;
  try {
    theirs = await databaseIdentity(createTxRunner(conn, undefined));
  } catch (err) {
    if (/DATABASE|no such function|syntax/i.test(String((err as Error)?.message))) throw new TransactionDatabaseMismatchError('the ORM is not connected to MySQL/MariaDB');
    throw err;
  }
  const ours = await databaseIdentity(store);
  if (theirs !== ours) throw new TransactionDatabaseMismatchError(`the ORM uses ${theirs}, the store ${ours}`);
}
