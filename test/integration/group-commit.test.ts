/**
 * Group commit: one fenced multi-row INSERT carries the checkpoints of several executions;
 * a stale holder's rows are dropped while the others commit; a runner under load sends fewer
 * checkpoint statements than checkpoints.
 */
import { describeEachDb } from '../helpers/db';
import { expireAllLeases } from '../helpers/engine';
import { createClient, createRunner, defineWorkflow, LeaseLostError, silentLogger } from '../../engine';
import { claimExecutions } from '../../engine/store/claims';
import { releaseExpiredLeases } from '../../engine/store/expired-leases';
import { insertEventsFenced } from '../../engine/store/transitions';
import { CommitBatcher } from '../../engine/runner/commit-batcher';
import { FinishBatcher } from '../../engine/runner/finish-batcher';

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

describeEachDb(__filename + '.finish', 'group finish', (ctx) => {
  const one = defineWorkflow({ name: 'gf' }, async (wctx, n: number) => wctx.step('only', async () => n));

  test('terminal commits share a transaction; a stale one is rejected and the others land', async () => {
    const client = await createClient({ db: ctx.db });
    for (const id of ['f1', 'f2', 'f3']) await client.start(one, 1, { id });
    const first = await claimExecutions(ctx.db.sql, { owner: 'old-00000000', workflows: ['gf'], limit: 3, leaseTtlMs: 30_000 });
    await ctx.db.sql.run("UPDATE distributed_locks SET expires_at = " + (ctx.db.sql.mysql ? 'UTC_TIMESTAMP(6) - INTERVAL 1 SECOND' : `${ctx.db.sql.now} - 1000`) + " WHERE lock_key = 'workflow_execution:f2'");
    await releaseExpiredLeases(ctx.db.sql);
    const batcher = new FinishBatcher(ctx.db.sql);
    const results = await Promise.allSettled(first.map((e) => batcher.submit({
      lease: { executionId: e.id, token: e.leaseToken, owner: 'old-00000000' }, status: 'completed', output: '7', error: null, nextSeq: 1,
    })));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(LeaseLostError);
    const rows = await ctx.db.sql.all<{ id: string; status: string }>("SELECT id, status FROM workflow_executions WHERE id IN ('f1', 'f2', 'f3') ORDER BY id");
    expect(rows.map((r) => `${r.id}:${r.status}`)).toEqual(['f1:completed', 'f2:queued', 'f3:completed']);
    const leases = await ctx.db.sql.all<{ lock_key: string }>("SELECT lock_key FROM distributed_locks WHERE lock_key LIKE 'workflow_execution:f%' ORDER BY lock_key");
    expect(leases).toEqual([]);
    expect(await client.getHandle('f1').result()).toBe(7);
    await client.close();
  });

  test('a busy runner finishes executions in fewer transactions than executions', async () => {
    const client = await createClient({ db: ctx.db });
    const runner = await createRunner({ db: ctx.db, workflows: [one], concurrency: 20, pollInterval: '20ms', logger: silentLogger() });
    await runner.start();
    try {
      const hs = await Promise.all(Array.from({ length: 60 }, (_, i) => client.start(one, i)));
      expect(await Promise.all(hs.map((h) => h.result({ timeout: '60s' })))).toEqual(Array.from({ length: 60 }, (_, i) => i));
      const s = runner.commitStats;
      expect(s.finishes).toBe(61); // the 60, plus f2 handed back to the queue by the test above
      expect(s.finishTransactions).toBeLessThan(s.finishes);
    } finally {
      await runner.shutdown();
      await client.close();
    }
  });
});
