/**
 * The raw limit leaseflow's step rate is compared with: the same server's rate for the
 * step-shaped transaction — insert one ~200-byte event row and update one row by primary key,
 * one durable commit — driven by a minimal `mariadb` loop at the same client concurrency C,
 * on its own tables (`limit_events`, `limit_rows`; one row per client, so no lock contention).
 * Each loop iteration is BEGIN; INSERT; UPDATE; COMMIT (4 round trips), as an application
 * would write it. Standalone: npx tsx bench/limit.ts [--db URL] [--concurrency 50] [--seconds 5]
 */
import * as mariadb from 'mariadb';
import { performance } from 'node:perf_hooks';
import { connectionConfig, ensureDatabase, Monitor, serverDelta } from './lib/server';
import { perSecond, perUnit, round } from './lib/stats';

/** Result of one limit measurement. */
export interface LimitResult {
  concurrency: number;
  seconds: number;
  transactions: number;
  steps_per_s: number | null;
  /** Server counters per transaction (Questions, Com_*, Handler_commit, log writes…). */
  per_txn: Record<string, number | null>;
}

const PAYLOAD = 'x'.repeat(200);

/** Create (or empty) the limit tables in the bench database; same collation as leaseflow's. */
async function prepare(conn: mariadb.Connection, clients: number): Promise<void> {
  await conn.query('DROP TABLE IF EXISTS limit_events, limit_rows');
  await conn.query(
    'CREATE TABLE limit_events (execution_id VARCHAR(200) NOT NULL, seq INT UNSIGNED NOT NULL, payload MEDIUMTEXT NULL, ' +
      'created_at DATETIME(6) NOT NULL, PRIMARY KEY (execution_id, seq)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin',
  );
  await conn.query(
    'CREATE TABLE limit_rows (id VARCHAR(200) NOT NULL PRIMARY KEY, next_seq INT NOT NULL, updated_at DATETIME(6) NOT NULL) ' +
      'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin',
  );
  const values = Array.from({ length: clients }, (_, i) => `('limit-${i}', 0, UTC_TIMESTAMP(6))`).join(', ');
  await conn.query(`INSERT INTO limit_rows (id, next_seq, updated_at) VALUES ${values}`);
}

/** Measure the step-shaped transaction rate at `concurrency` clients for `seconds` (after a 0.5 s warm-up). */
export async function measureLimit(url: string, concurrency: number, seconds: number): Promise<LimitResult> {
  const admin = await mariadb.createConnection(connectionConfig(url));
  const monitor = await Monitor.open(url);
  const conns: mariadb.Connection[] = [];
  try {
    await prepare(admin, concurrency);
    for (let i = 0; i < concurrency; i++) conns.push(await mariadb.createConnection(connectionConfig(url)));
    let counting = false;
    let stop = false;
    let done = 0;
    const loop = async (conn: mariadb.Connection, i: number) => {
      const id = `limit-${i}`;
      for (let seq = 1; !stop; seq++) {
        await conn.beginTransaction();
        await conn.query('INSERT INTO limit_events (execution_id, seq, payload, created_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6))', [id, seq, PAYLOAD]);
        await conn.query('UPDATE limit_rows SET next_seq = ?, updated_at = UTC_TIMESTAMP(6) WHERE id = ?', [seq, id]);
        await conn.commit();
        if (counting) done++;
      }
    };
    const loops = conns.map((c, i) => loop(c, i));
    await new Promise((r) => setTimeout(r, 500));
    const before = await monitor.counters();
    counting = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    counting = false;
    const elapsed = performance.now() - t0;
    const after = await monitor.counters();
    stop = true;
    await Promise.all(loops);
    return {
      concurrency, seconds: round(elapsed / 1000, 2) as number, transactions: done,
      steps_per_s: round(perSecond(done, elapsed), 0), per_txn: perUnit(serverDelta(before, after), done, 2),
    };
  } finally {
    await Promise.all(conns.map((c) => c.end().catch(() => undefined)));
    await admin.query('DROP TABLE IF EXISTS limit_events, limit_rows').catch(() => undefined);
    await admin.end().catch(() => undefined);
    await monitor.close();
  }
}

if (require.main === module) {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
  };
  const url = arg('--db', 'mariadb://root@127.0.0.1:3306/leaseflow_bench');
  ensureDatabase(url)
    .then(() => measureLimit(url, Number(arg('--concurrency', '50')), Number(arg('--seconds', '5'))))
    .then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
    .catch((err: Error) => {
      process.stderr.write(`${err.stack}\n`);
      process.exitCode = 1;
    });
}
