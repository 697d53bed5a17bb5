/**
 * The checkpoint fence's semantics, the same on every path: the one-statement join (SQLite, one
 * MySQL server) and the guarded-write transaction Galera uses (store/fence.ts, forced here on a
 * plain server with `galera: true`). In one batch: a live lease commits, a stale token commits
 * nothing, and with a cancel pending only the item that ignores cancellation commits. On the
 * write path every execution whose fence held had its row changed (fence_seq), which is what
 * Galera certifies.
 */
import { describeEachDb } from '../helpers/db';
import { createClient, defineWorkflow } from '../../engine';
import { claimExecutions } from '../../engine/store/claims';
import { insertEventsFenced } from '../../engine/store/transitions';
import type { SqlStore } from '../../engine/store/sql';
import type { Lease, NewEvent } from '../../engine/store/types';

const step = (seq: number): NewEvent => ({ seq, kind: 'step', name: `s${seq}`, status: 'completed', payload: '1', attempt: 1 });

describeEachDb(__filename, 'checkpoint fence', (ctx) => {
  const wf = defineWorkflow({ name: 'fence-wf' }, async () => 1);

  const paths: [string, (s: SqlStore) => SqlStore][] = [['one statement', (s) => s], ['guarded write (Galera)', (s) => ({ ...s, galera: s.mysql })]];
  test.each(paths)('%s: live commits, stale and cancelled-strict items commit nothing', async (label, storeOf) => {
    const store = storeOf(ctx.db.sql);
    const p = label.startsWith('one') ? 'f1' : 'f2';
    const client = await createClient({ db: ctx.db });
    for (const s of ['live', 'stale', 'cancel']) await client.start(wf, undefined, { id: `${p}-${s}` });
    await client.close();
    const claimed = await claimExecutions(ctx.db.sql, { owner: 'fence-runner', workflows: ['fence-wf'], limit: 10, leaseTtlMs: 60_000 });
    const lease = (s: string): Lease => {
      const c = claimed.find((e) => e.id === `${p}-${s}`)!;
      return { executionId: c.id, token: c.leaseToken, owner: 'fence-runner' };
    };
    await ctx.db.sql.run("UPDATE workflow_executions SET cancel_reason = 'stop' WHERE id = ?", [`${p}-cancel`]);
    const before = await fenceSeqs(p);
    const stale = { ...lease('stale'), token: lease('stale').token - 1 };
    const strict = { lease: lease('cancel'), events: [step(0)], ignoreCancel: false };
    const lenient = { lease: lease('cancel'), events: [step(1)], ignoreCancel: true };
    const failed = await insertEventsFenced(store, store, [
      { lease: lease('live'), events: [step(0), step(1)], ignoreCancel: false },
      { lease: stale, events: [step(0)], ignoreCancel: false },
      strict, lenient,
    ]);
    expect(failed).toEqual([stale, strict.lease]);
    const rows = await ctx.db.sql.all<{ execution_id: string; seq: unknown }>(
      'SELECT execution_id, seq FROM workflow_events WHERE execution_id LIKE ? ORDER BY execution_id, seq', [`${p}-%`]);
    expect(rows.map((r) => `${r.execution_id}#${Number(r.seq)}`)).toEqual([`${p}-cancel#1`, `${p}-live#0`, `${p}-live#1`]);
    const after = await fenceSeqs(p);
    const bumped = Object.keys(after).filter((id) => after[id] > before[id]).sort();
    expect(bumped).toEqual(store.galera ? [`${p}-cancel`, `${p}-live`] : []);
  });

  async function fenceSeqs(p: string): Promise<Record<string, number>> {
    const rows = await ctx.db.sql.all<{ id: string; f: unknown }>('SELECT id, fence_seq AS f FROM workflow_executions WHERE id LIKE ?', [`${p}-%`]);
    return Object.fromEntries(rows.map((r) => [r.id, Number(r.f)]));
  }
});
