/**
 * Template admission is FIFO by a monotonic sequence assigned at creation (issue 8, item 10):
 * members created in the same millisecond are admitted in the order they were started, not in
 * id order, on SQLite and on MariaDB/MySQL (creation times are kept to the millisecond there).
 */
import { describeEachDb } from '../helpers/db';
import { drive } from '../helpers/engine';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { createClient } from '../../engine/client/client';

describeEachDb(__filename, 'template FIFO', (ctx) => {
  const order: string[] = [];
  const serial = defineWorkflow({ name: 'fifo-serial', template: { key: () => 'fifo-key', limit: 1 } }, async (wctx, n: number) => {
    await wctx.step('run', async () => { order.push(wctx.executionId); return n; });
    return n;
  });

  test('members created in the same millisecond are admitted in start order, not id order', async () => {
    const client = await createClient({ db: ctx.db });
    // Ids sort opposite to start order; every created_at is then forced to one millisecond.
    const ids = Array.from({ length: 12 }, (_, i) => `fifo-${String.fromCharCode(122 - i)}`);
    for (const [i, id] of ids.entries()) await client.start(serial, i, { id });
    await ctx.db.sql.run('UPDATE workflow_executions SET created_at = (SELECT MIN(created_at) FROM (SELECT created_at FROM workflow_executions WHERE id LIKE ?) AS m) WHERE id LIKE ?', ['fifo-%', 'fifo-%']);
    const seqs = await ctx.db.sql.all<{ id: string; template_seq: unknown }>('SELECT id, template_seq FROM workflow_executions WHERE id LIKE ? ORDER BY template_seq', ['fifo-%']);
    expect(seqs.map((r) => r.id)).toEqual(ids);
    await drive(ctx.db, [serial]);
    expect(order).toEqual(ids);
    await client.close();
  });

  test('concurrent starts of one key get distinct, increasing sequences', async () => {
    const client = await createClient({ db: ctx.db });
    const ids = Array.from({ length: 20 }, (_, i) => `fifo-c-${i}`);
    await Promise.all(ids.map((id, i) => client.start(serial, i, { id })));
    const rows = await ctx.db.sql.all<{ template_seq: unknown }>('SELECT template_seq FROM workflow_executions WHERE id LIKE ?', ['fifo-c-%']);
    const seqs = rows.map((r) => Number(r.template_seq));
    expect(new Set(seqs).size).toBe(ids.length);
    await client.close();
  });
});
