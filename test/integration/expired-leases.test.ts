/**
 * The watchdog's store side (issue 8, item 1): each expired lease is released on its own, and
 * on MariaDB/MySQL a lease whose execution row another transaction holds (a runner frozen mid-
 * commit) is skipped at once and reported as stuck — never waited on — while the others go back
 * to the queue. On SQLite (one writer) every expired lease is simply released.
 */
import { describeEachDb } from '../helpers/db';
import { createClient, defineWorkflow, openDatabase } from '../../engine';
import { claimExecutions } from '../../engine/store/claims';
import { RELEASE_CONCURRENCY, releaseExpiredLeases } from '../../engine/store/expired-leases';
import type { SqlRunner, SqlStore } from '../../engine/store/sql';

describeEachDb(__filename, 'expired leases', (ctx) => {
  const wf = defineWorkflow({ name: 'el-wf' }, async () => 1);
  const expire = () => ctx.db.sql.run(`UPDATE distributed_locks SET expires_at = ${ctx.db.sql.mysql ? 'UTC_TIMESTAMP(6) - INTERVAL 1 SECOND' : `${ctx.db.sql.now} - 1000`}`);

  test('expired leases are released one by one; a locked execution row is skipped at once and reported stuck', async () => {
    const client = await createClient({ db: ctx.db });
    const ids = ['el-0', 'el-1', 'el-2', 'el-3'];
    for (const id of ids) await client.start(wf, undefined, { id });
    await claimExecutions(ctx.db.sql, { owner: 'frozen-runner-01', workflows: ['el-wf'], limit: 10, leaseTtlMs: 30_000 });
    await expire();
    let release = () => undefined as void;
    let holder: Promise<unknown> = Promise.resolve();
    const other = ctx.db.sql.mysql ? await openDatabase(ctx.url, { poolMax: 1 }) : null;
    if (other) {
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      holder = other.sql.tx(async (q) => {
        await q.all('SELECT id FROM workflow_executions WHERE id = ? FOR UPDATE', ['el-0']);
        locked();
        await new Promise<void>((r) => (release = r));
      });
      await isLocked;
    }
    const started = Date.now();
    const out = await releaseExpiredLeases(ctx.db.sql);
    const tookMs = Date.now() - started;
    release();
    await holder;
    await other?.close();
    if (ctx.db.sql.mysql) {
      expect(out.released.map((r) => r.executionId).sort()).toEqual(['el-1', 'el-2', 'el-3']);
      expect(out.stuck).toEqual([{ executionId: 'el-0', owner: 'frozen-runner-01', token: 1, locked: 'execution' }]);
      expect(tookMs).toBeLessThan(4500); // innodb_lock_wait_timeout is 5 s: nothing waited on the lock
      // Once the lock is gone the next pass releases it too.
      expect((await releaseExpiredLeases(ctx.db.sql)).released.map((r) => r.executionId)).toEqual(['el-0']);
    } else {
      expect(out.released.map((r) => r.executionId).sort()).toEqual(ids);
      expect(out.stuck).toEqual([]);
    }
    const rows = await ctx.db.sql.all<{ status: string }>("SELECT status FROM workflow_executions WHERE id LIKE 'el-%'");
    expect(rows.every((r) => r.status === 'queued')).toBe(true);
    await client.close();
  }, 30_000);

  test('a dead runner\'s expired leases are released several at once, not one commit after another', async () => {
    const client = await createClient({ db: ctx.db });
    const wfc = defineWorkflow({ name: 'elc-wf' }, async () => 1);
    const ids = Array.from({ length: 8 }, (_, i) => `elc-${i}`);
    for (const id of ids) await client.start(wfc, undefined, { id });
    await claimExecutions(ctx.db.sql, { owner: 'dead-runner-0001', workflows: ['elc-wf'], limit: 10, leaseTtlMs: 30_000 });
    await expire();
    let inFlight = 0;
    let peak = 0;
    const counting: SqlStore = {
      ...ctx.db.sql,
      async tx<T>(fn: (q: SqlRunner) => Promise<T>): Promise<T> {
        peak = Math.max(peak, ++inFlight);
        try { return await ctx.db.sql.tx(fn); } finally { inFlight--; }
      },
    };
    const out = await releaseExpiredLeases(counting);
    expect(out.released.map((r) => r.executionId).sort()).toEqual(ids);
    expect(peak).toBe(RELEASE_CONCURRENCY);
    await client.close();
  }, 30_000);
});
