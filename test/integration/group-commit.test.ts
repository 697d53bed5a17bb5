/**
 * Group commit: one fenced multi-row INSERT carries the checkpoints of several executions;
 * a stale holder's rows are dropped while the others commit; a runner under load sends fewer
 * checkpoint statements than checkpoints.
 */
import { describeEachDb } from '../helpers/db';
import { expireAllLeases } from '../helpers/engine';
import { createClient, createRunner, defineWorkflow, LeaseLostError, silentLogger } from '../../engine';
import { claimExecutions } from '../../engine/store/claims';
import { insertEventsFenced } from '../../engine/store/transitions';
import { CommitBatcher } from '../../engine/runner/commit-batcher';

describeEachDb(__filename, 'group commit', (ctx) => {
  const wf = defineWorkflow({ name: 'gc' }, async (wctx, n: number) => {
    let acc = 0;
    for (let i = 0; i < 5; i++) acc += await wctx.step(`s${i}`, async () => n + i);
    return acc;
  });

  test('one statement commits several executions; a stale lease is dropped and only it fails', async () => {
    const client = await createClient({ db: ctx.db });
    for (const id of ['g1', 'g2', 'g3']) await client.start(wf, 1, { id });
    const first = await claimExecutions(ctx.db.sql, { owner: 'old-00000000', workflows: ['gc'], limit: 3, leaseTtlMs: 30_000 });
    expect(first).toHaveLength(3);
    // g2 is taken over by someone else: its old token is stale.
    await expireAllLeases(ctx.db);
    const taken = await claimExecutions(ctx.db.sql, { owner: 'new-00000000', workflows: ['gc'], limit: 3, leaseTtlMs: 30_000 });
    const fresh = new Map(taken.map((t) => [t.id, t.leaseToken]));
    const items = first.map((e) => ({
      lease: { executionId: e.id, token: e.id === 'g2' ? e.leaseToken : fresh.get(e.id)!, owner: 'x' },
      events: [{ seq: 0, kind: 'step' as const, name: 's0', status: 'completed', payload: '1', attempt: 1 }, { seq: 1, kind: 'value' as const, name: 'now', status: 'recorded', payload: '2', attempt: 1 }],
      ignoreCancel: false,
    }));
    const failed = await insertEventsFenced(ctx.db.sql, ctx.db.sql, items);
    expect(failed.map((l) => l.executionId)).toEqual(['g2']);
    const rows = await ctx.db.sql.all<{ execution_id: string; n: unknown }>('SELECT execution_id, COUNT(*) AS n FROM workflow_events GROUP BY execution_id ORDER BY execution_id');
    expect(rows.map((r) => [r.execution_id, Number(r.n)])).toEqual([['g1', 2], ['g3', 2]]);
    // Through the batcher, the stale one is rejected with LeaseLostError, the fresh one commits.
    const batcher = new CommitBatcher(ctx.db.sql);
    const next = (id: string, token: number) => batcher.submit({ lease: { executionId: id, token, owner: 'x' }, events: [{ seq: 2, kind: 'step', name: 's1', status: 'completed', payload: '2', attempt: 1 }], ignoreCancel: false });
    const results = await Promise.allSettled([next('g1', fresh.get('g1')!), next('g2', first[1].leaseToken), next('g3', fresh.get('g3')!)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
    await client.close();
  });

  test('a busy runner sends fewer checkpoint statements than checkpoints', async () => {
    const client = await createClient({ db: ctx.db });
    const runner = await createRunner({ db: ctx.db, workflows: [wf], concurrency: 20, pollInterval: '20ms', logger: silentLogger() });
    await runner.start();
    try {
      const hs = await Promise.all(Array.from({ length: 40 }, (_, i) => client.start(wf, i)));
      expect(await Promise.all(hs.map((h) => h.result({ timeout: '60s' })))).toEqual(Array.from({ length: 40 }, (_, i) => 5 * i + 10));
      const { statements, checkpoints } = runner.commitStats;
      expect(checkpoints).toBe(200);
      expect(statements).toBeLessThan(checkpoints);
    } finally {
      await runner.shutdown();
      await client.close();
    }
  });
});
