/**
 * Serialises `migrate()` across processes on the MySQL family with a lease ROW, not GET_LOCK
 * (node-local on Galera: two nodes grant the same name at once). The row lives in
 * `leaseflow_migration_lease` (created IF NOT EXISTS, one row, primary key), expires on the DB
 * clock and is renewed while the holder migrates, so a holder that dies frees it within the TTL.
 * Invariant: at most one unexpired owner; taking it is one upsert certified like any write.
 */
import { randomUUID } from 'node:crypto';
import type { SqlRunner } from './sql';

/** Lease length; renewed every third of it while migrating. */
export const MIGRATION_LEASE_TTL_MS = 10_000;
/** Longest wait for another process's migration. */
export const MIGRATION_LEASE_WAIT_MS = 120_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const NOW = 'UTC_TIMESTAMP(6)';

/** Run `fn` while holding the migration lease of the database `q` talks to. */
export async function withMigrationLease<T>(q: SqlRunner, fn: () => Promise<T>, opts: { ttlMs?: number; waitMs?: number } = {}): Promise<T> {
  const ttlUs = (opts.ttlMs ?? MIGRATION_LEASE_TTL_MS) * 1000;
  const owner = randomUUID();
  await q.run(
    'CREATE TABLE IF NOT EXISTS leaseflow_migration_lease (id TINYINT NOT NULL PRIMARY KEY, owner VARCHAR(64) NOT NULL, ' +
      'expires_at DATETIME(6) NOT NULL) ENGINE = InnoDB',
  );
  const deadline = Date.now() + (opts.waitMs ?? MIGRATION_LEASE_WAIT_MS);
  for (let attempt = 1; ; attempt++) {
    // Owner first: MySQL evaluates the assignments left to right (TOOLCHAIN pitfall 18).
    await q.run(
      `INSERT INTO leaseflow_migration_lease (id, owner, expires_at) VALUES (1, ?, ${NOW} + INTERVAL ? MICROSECOND) ON DUPLICATE KEY UPDATE ` +
        `owner = IF(expires_at < ${NOW}, VALUES(owner), owner), expires_at = IF(owner = VALUES(owner), VALUES(expires_at), expires_at)`,
      [owner, ttlUs],
    ).catch(() => undefined); // a racing upsert (1213 on Galera) just means: look again
    const [row] = await q.all<{ owner: unknown }>('SELECT owner FROM leaseflow_migration_lease WHERE id = 1');
    if (row && String(row.owner) === owner) break;
    if (Date.now() > deadline) throw new Error(`could not take the migration lease within ${Math.round((opts.waitMs ?? MIGRATION_LEASE_WAIT_MS) / 1000)} s (another process is migrating)`);
    await sleep(Math.min(1000, 50 * attempt));
  }
  const renew = setInterval(() => {
    void q.run(`UPDATE leaseflow_migration_lease SET expires_at = ${NOW} + INTERVAL ? MICROSECOND WHERE id = 1 AND owner = ?`, [ttlUs, owner]).catch(() => undefined);
  }, Math.max(100, ttlUs / 3000));
  renew.unref?.();
  try {
    return await fn();
  } finally {
    clearInterval(renew);
    await q.run('DELETE FROM leaseflow_migration_lease WHERE id = 1 AND owner = ?', [owner]).catch(() => undefined);
  }
}
