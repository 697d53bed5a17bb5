/**
 * A database error that is not a lease loss, inside a slow-path commit (here: the signal
 * consume), never reaches workflow code: the run ends, the lease goes back, and the execution
 * completes later with the signal consumed exactly once and the history it should have. On
 * MariaDB the error is a real lock-wait timeout (the signal row held FOR UPDATE by another
 * connection, innodb_lock_wait_timeout = 1 s for that statement) and the store's retries of it
 * are injected; on SQLite every one is injected.
 */
import { describeEachDb } from '../helpers/db';
import { drive, expireAllLeases } from '../helpers/engine';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { createClient } from '../../engine/client/client';
import { openDatabase, type Database } from '../../engine/store/database';
import type { SqlRunner, SqlStore } from '../../engine/store/sql';

/** A store whose transactions that consume a signal fail (while armed) with a lock-wait timeout. */
function failingSignalCommits(db: Database, holdLock: () => Promise<void>): { db: Database; armed: { on: boolean; hits: number } } {
  const armed = { on: true, hits: 0 };
  const sql: SqlStore = Object.create(db.sql);
  sql.tx = <T>(fn: (q: SqlRunner) => Promise<T>) => db.sql.tx(async (q) => {
    const wrapped: SqlRunner = {
      all: (s, p) => q.all(s, p),
      run: async (s, p) => {
        if (armed.on && s.startsWith('UPDATE workflow_signals SET consumed_seq')) {
          armed.hits++;
          // The first try meets a real lock on MariaDB; the store's own retries of the lock-wait
          // timeout then meet the same error (injected, to keep the test short) until they give up.
          if (db.sql.mysql && armed.hits === 1) {
            await holdLock();
            return q.run(`SET STATEMENT innodb_lock_wait_timeout = 1 FOR ${s}`, p); // MariaDB syntax
          } else {
            throw Object.assign(new Error('Lock wait timeout exceeded; try restarting transaction (injected)'), { errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT' });
          }
        }
        return q.run(s, p);
      },
    };
    return fn(wrapped);
  });
  return { db: { ...db, sql } as Database, armed };
}

describeEachDb(__filename, 'store errors in commits', (ctx) => {
  test('a lock-wait timeout on a signal commit ends the run, never reaches workflow code, and the signal is consumed once later', async () => {
    const client = await createClient({ db: ctx.db });
    const seen: string[] = [];
    const wf = defineWorkflow({ name: 'se-signal' }, async (c) => {
      let got: unknown;
      try {
        got = await c.waitForSignal('go');
      } catch (err) {
        seen.push(`caught ${(err as Error).message}`);
        got = 'caught';
      }
      return c.step('after', () => got);
    });
    const h = await client.start(wf, undefined, { id: 'se-1' });
    await h.signal('go', 'payload');
    let locker: Database | undefined;
    let release = () => undefined as void;
    const hold = async () => {
      locker = await openDatabase(ctx.url);
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      void locker.sql.tx(async (q) => {
        await q.all('SELECT id FROM workflow_signals WHERE execution_id = ? FOR UPDATE', ['se-1']);
        locked();
        await new Promise<void>((r) => (release = r));
      }).catch(() => undefined);
      await isLocked;
    };
    const { db: failing, armed } = failingSignalCommits(ctx.db, hold);
    const first = await drive(failing, [wf]);
    armed.on = false;
    expect(armed.hits).toBeGreaterThanOrEqual(1);
    expect(first.map((o) => o.outcome.kind)).toEqual(['aborted']);
    expect(String((first[0].outcome as { reason: string }).reason)).toMatch(/store error/);
    expect(seen).toEqual([]);
    release();
    await locker?.close();
    await expireAllLeases(ctx.db);
    await drive(ctx.db, [wf]);
    expect(await h.result({ timeout: '10s' })).toBe('payload');
    expect(seen).toEqual([]);
    const rows = await ctx.db.sql.all<{ consumed_seq: unknown }>('SELECT consumed_seq FROM workflow_signals WHERE execution_id = ?', ['se-1']);
    expect(rows.map((r) => Number(r.consumed_seq))).toEqual([0]);
    expect((await h.history()).map((e) => `${e.seq}:${e.kind}:${e.name}:${e.status}`)).toEqual(['0:signal:go:delivered', '1:step:after:completed']);
    await client.close();
  }, 30_000);

  test('workflows throwing hostile values (circular null-prototype object, throwing name getter) fail once, without a re-claim loop', async () => {
    const client = await createClient({ db: ctx.db });
    const circular = Object.create(null) as Record<string, unknown>;
    circular.self = circular;
    const badName = new Error('boom');
    Object.defineProperty(badName, 'name', { get() { throw new Error('name getter'); } });
    const hostile = defineWorkflow({ name: 'se-hostile' }, async (c, which: string) => {
      await c.step('first', () => 1);
      throw which === 'circular' ? circular : badName;
    });
    const a = await client.start(hostile, 'circular', { id: 'se-circular' });
    const b = await client.start(hostile, 'name', { id: 'se-name' });
    await drive(ctx.db, [hostile]);
    for (const h of [a, b]) {
      const d = await h.describe();
      expect(d.status).toBe('failed');
      expect(d.attempts).toBe(1);
    }
    await expect(b.result()).rejects.toMatchObject({ message: expect.stringContaining('boom') });
    await client.close();
  });
});
