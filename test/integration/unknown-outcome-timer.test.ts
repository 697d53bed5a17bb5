/**
 * A commit that fires a recorded timer leaves the execution row as it was (next_seq unchanged),
 * so after a connection lost at COMMIT the row alone cannot say whether it landed. A cluster chaos
 * run (writer kill) showed the cost of guessing: the holder took a rolled-back fire for landed,
 * went on to the next timer, and the next holder's replay met "timer nap1 at position 2" while
 * nap0 was still only scheduled (NonDeterminismError, the execution failed). The outcome is now
 * resolved by the fired rows themselves: a rolled-back fire is written again.
 */
import { describeEachDb } from '../helpers/db';
import { claimExecutions } from '../../engine/store/claims';
import { commitFenced } from '../../engine/store/transitions';
import { insertExecution } from '../../engine/store/executions';
import { insertEvents } from '../../engine/store/events';
import { EventKind } from '../../engine/store/types';
import type { SqlStore } from '../../engine/store/sql';

describeEachDb(__filename, 'unknown outcome of a timer fire', (ctx) => {
  test('a fire rolled back under a lost connection is written again, not taken for landed', async () => {
    await insertExecution(ctx.db.sql, ctx.db.sql, {
      id: 'uot-1', workflowName: 'uot', workflowVersion: 1, templateKey: null, templateLimit: null, input: 'null', parentId: null, parentSeq: null, delayMs: 0,
    });
    const [claimed] = await claimExecutions(ctx.db.sql, { owner: 'uot-runner', workflows: ['uot'], limit: 1, leaseTtlMs: 30_000 });
    const lease = { executionId: 'uot-1', token: claimed.leaseToken, owner: 'uot-runner' };
    await insertEvents(ctx.db.sql, ctx.db.sql, 'uot-1', lease.token, [
      { seq: 0, kind: EventKind.timer, name: 'nap0', status: 'scheduled', payload: JSON.stringify({ dueAt: 0 }), attempt: 1 },
    ]);
    // The suspension that recorded nap0 already moved next_seq past it: the fire leaves the row as it is.
    await ctx.db.sql.run('UPDATE workflow_executions SET next_seq = 1 WHERE id = ?', ['uot-1']);
    // The first transaction runs, then its COMMIT is lost: rolled back, and the caller hears a dropped connection.
    let drops = 0;
    const store: SqlStore = Object.create(ctx.db.sql);
    store.tx = async (fn) => {
      if (drops++ === 0) {
        await ctx.db.sql.tx(async (q) => { await fn(q); throw new Error('roll back'); }).catch(() => undefined);
        throw Object.assign(new Error('Connection lost: The server closed the connection (injected at COMMIT)'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
      }
      return ctx.db.sql.tx(fn);
    };
    const res = await commitFenced(store, lease, { events: [], nextSeq: 1, stepAttempt: 0, fireTimers: [{ seq: 0, order: 0 }] });
    expect(res).toBe('committed');
    expect(drops).toBe(2); // judged not landed: run again
    const rows = await ctx.db.sql.all<{ status: unknown; done_order: unknown }>('SELECT status, done_order FROM workflow_events WHERE execution_id = ? AND seq = 0', ['uot-1']);
    expect(rows.map((r) => [String(r.status), Number(r.done_order)])).toEqual([['fired', 0]]);
  }, 30_000);
});
