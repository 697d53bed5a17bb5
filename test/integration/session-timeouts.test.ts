/**
 * Per-connection session settings (issue 8, item 1): every pooled MySQL-family connection gets
 * the configured lock-wait, idle-transaction, wait and net timeouts, and the server really drops
 * a connection that sits idle inside a transaction (a frozen runner), freeing its row locks.
 * Bad settings are rejected with an error naming the option, before anything connects.
 */
import { describeEachDb } from '../helpers/db';
import { openDatabase, ValidationError } from '../../engine';

const mysqlOnly = (kind: string) => (kind === 'mysql' ? test : test.skip);

describeEachDb(__filename, 'session timeouts', (ctx) => {
  mysqlOnly(ctx.kind)('pooled connections carry the configured timeouts', async () => {
    const db = await openDatabase(ctx.url, { poolMax: 1, session: { lockWaitTimeoutS: 7, waitTimeoutS: 99, netReadTimeoutS: 31, netWriteTimeoutS: 61 } });
    try {
      const [row] = await db.sql.all<Record<string, unknown>>(
        'SELECT @@SESSION.innodb_lock_wait_timeout AS lw, @@SESSION.wait_timeout AS wt, @@SESSION.net_read_timeout AS nr, @@SESSION.net_write_timeout AS nw');
      expect([Number(row.lw), Number(row.wt), Number(row.nr), Number(row.nw)]).toEqual([7, 99, 31, 61]);
    } finally {
      await db.close();
    }
  });

  mysqlOnly(ctx.kind)('the server drops a connection idle inside a transaction and frees its row locks (MariaDB idle_transaction_timeout)', async () => {
    const [v] = await ctx.db.sql.all<{ v: string }>('SELECT VERSION() AS v');
    if (!/mariadb/i.test(v.v)) return; // MySQL has no idle_transaction_timeout: wait_timeout bounds it there
    await ctx.db.sql.run("CREATE TABLE IF NOT EXISTS t_idle (id INT PRIMARY KEY)");
    await ctx.db.sql.run('INSERT IGNORE INTO t_idle VALUES (1)');
    const frozen = await openDatabase(ctx.url, { poolMax: 1, session: { idleTransactionTimeoutS: 1 } });
    let release!: () => void;
    const held = frozen.sql.tx(async (q) => {
      await q.all('SELECT id FROM t_idle WHERE id = 1 FOR UPDATE');
      await new Promise<void>((r) => (release = r)); // idle inside the transaction, like a frozen runner
      await q.all('SELECT 1');
    }).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    // A peer's row lock is granted once the server dropped the idle transaction (~1 s).
    await ctx.db.sql.tx((q) => q.all('SELECT id FROM t_idle WHERE id = 1 FOR UPDATE'));
    const waitedMs = Date.now() - started;
    release();
    expect(await held).toBeInstanceOf(Error); // its connection is gone
    expect(waitedMs).toBeLessThan(4500); // innodb_lock_wait_timeout is 5 s: the drop, not the timeout, freed it
    await frozen.close().catch(() => undefined);
  });

  test('bad session settings are rejected naming the option, before anything connects', async () => {
    await expect(openDatabase(ctx.url, { session: { lockWaitTimeoutS: 0 } })).rejects.toMatchObject({ field: 'session.lockWaitTimeoutS' });
    await expect(openDatabase(ctx.url, { session: { idleTransactionTimeoutS: -1 } })).rejects.toBeInstanceOf(ValidationError);
    await expect(openDatabase(ctx.url, { session: { waitTimeoutS: 1.5 } })).rejects.toBeInstanceOf(ValidationError);
  });
});
