/**
 * A plain start is one autocommit INSERT. When it meets a deadlock or a lock-wait timeout the
 * server has rolled that statement back, so the client runs it again instead of handing a raw
 * SqlError to the caller (a Galera chaos run lost starts that way: 1205 while a paused
 * transaction held the id). On MariaDB the timeout is real: another connection inserts the same
 * id and holds it, uncommitted, past the client's 1 s lock wait, then rolls back. On SQLite the
 * error is injected once.
 */
import { describeEachDb } from '../helpers/db';
import { createClient } from '../../engine/client/client';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { openDatabase, type Database } from '../../engine/store/database';
import { insertExecution } from '../../engine/store/executions';
import type { SqlStore } from '../../engine/store/sql';

const wf = defineWorkflow({ name: 'sr-plain' }, async (c, n: number) => c.step('double', async () => n * 2));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describeEachDb(__filename, 'start retries', (ctx) => {
  test('a start that meets a lock-wait timeout is run again and lands once, with the caller\'s input', async () => {
    let db: Database;
    let holder: Database | undefined;
    let hits = 0;
    if (ctx.db.sql.mysql) {
      db = await openDatabase(ctx.url, { session: { lockWaitTimeoutS: 1 } });
      holder = await openDatabase(ctx.url);
      let inserted!: () => void;
      const isInserted = new Promise<void>((r) => (inserted = r));
      const held = holder.sql.tx(async (q) => {
        await insertExecution(q, (holder as Database).sql, {
          id: 'sr-1', workflowName: 'sr-other', workflowVersion: 1, templateKey: null, templateLimit: null, input: '"holder"',
          parentId: null, parentSeq: null, delayMs: 0,
        });
        inserted();
        await sleep(1800); // past the client's 1 s lock wait: its first INSERT fails with 1205
        throw new Error('roll back');
      }).catch(() => undefined);
      await isInserted;
      const client = await createClient({ db });
      const h = await client.start(wf, 21, { id: 'sr-1' });
      await held;
      expect(h.executionId).toBe('sr-1');
      await client.close();
    } else {
      const sql: SqlStore = Object.create(ctx.db.sql);
      sql.run = async (s, p) => {
        if (s.startsWith('INSERT INTO workflow_executions') && hits++ === 0) {
          throw Object.assign(new Error('Lock wait timeout exceeded; try restarting transaction (injected)'), { errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT' });
        }
        return ctx.db.sql.run(s, p);
      };
      db = { ...ctx.db, sql } as Database;
      const client = await createClient({ db });
      await client.start(wf, 21, { id: 'sr-1' });
      expect(hits).toBe(2);
    }
    const rows = await ctx.db.sql.all<{ workflow_name: unknown; input: unknown }>('SELECT workflow_name, input FROM workflow_executions WHERE id = ?', ['sr-1']);
    expect(rows.map((r) => [String(r.workflow_name), String(r.input)])).toEqual([['sr-plain', '21']]);
    if (ctx.db.sql.mysql) {
      await holder?.close();
      await db.close();
    }
  }, 30_000);
});
