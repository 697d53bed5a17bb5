/**
 * Continue-as-new on both dialects: an endless poller keeps each run's history bounded and
 * completes, handles follow the chain (or not, when strict), describe() shows it, unconsumed
 * signals reach the next run, a stale holder commits nothing, and parent links and template
 * admission stay right across the chain.
 */
import { describeEachDb } from '../helpers/db';
import { drive, expireAllLeases } from '../helpers/engine';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { createClient, type Client } from '../../engine/client/client';
import { claimExecutions } from '../../engine/store/claims';
import { executeClaimed } from '../../engine/runner/executor';
import { WorkflowContinuedAsNewError } from '../../engine/errors';

describeEachDb(__filename, 'continue-as-new', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());

  const historySizes = async (id: string) => (await ctx.db.sql.all<{ id: string; n: unknown }>(
    "SELECT execution_id AS id, COUNT(*) AS n FROM workflow_events WHERE execution_id = ? OR execution_id LIKE ? GROUP BY execution_id", [id, `${id}#%`],
  )).map((r) => Number(r.n));

  /** Polls `every` times per run, continuing as new until `total` polls were made. */
  const poller = defineWorkflow({ name: 'poller' }, async (wctx, s: { done: number; total: number; every: number; sum: number }) => {
    let { done, sum } = s;
    for (let i = 0; i < s.every; i++) {
      if (done === s.total) return { done, sum, runId: wctx.runId };
      sum += await wctx.step('poll', async () => done + 1);
      done++;
    }
    return wctx.continueAsNew({ ...s, done, sum });
  });

  test('an endless poller that continues as new keeps every history bounded and completes', async () => {
    const h = await client.start(poller, { done: 0, total: 23, every: 5, sum: 0 }, { id: 'poller-1' });
    const firstRun = h.runId!;
    await drive(ctx.db, [poller]);
    const out = await h.result(); // the start handle follows the chain to its final result
    expect(out).toMatchObject({ done: 23, sum: (23 * 24) / 2 });
    const sizes = await historySizes('poller-1');
    expect(sizes).toHaveLength(5); // runs of 5, 5, 5, 5 and 3 polls
    expect(Math.max(...sizes)).toBe(5);

    const d = await h.describe();
    expect(d).toMatchObject({ id: 'poller-1', status: 'completed', runNumber: 5, firstRunId: firstRun, runId: (out as { runId: string }).runId });
    expect(d.previousRuns.map((r) => r.executionId)).toEqual(['poller-1#4', 'poller-1#3', 'poller-1#2', 'poller-1#1']);
    expect(d.continuedFrom).toBe(d.previousRuns[0].runId);
    expect(d.previousRuns[3].runId).toBe(firstRun);
    expect((await h.history()).length).toBe(3);

    // Bound strictly to the first run: it ended by continuing.
    const strict = client.getHandle('poller-1', { runId: firstRun, followContinuations: false });
    const err = await strict.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowContinuedAsNewError);
    expect(err).toMatchObject({ code: 'WORKFLOW_CONTINUED_AS_NEW', runId: firstRun, nextRunId: d.previousRuns[2].runId });
    expect(await strict.describe()).toMatchObject({ id: 'poller-1#1', status: 'continued', runNumber: 1 });
    expect(await strict.history()).toHaveLength(5);

    // Starting the chain again with its original input is idempotent (bound to the chain).
    const again = await client.start(poller, { done: 0, total: 23, every: 5, sum: 0 }, { id: 'poller-1' });
    expect(again.runId).toBe(firstRun);
    expect(await again.result()).toEqual(out);
  });

  test('signals not consumed by a run are delivered to the run it continued as', async () => {
    const ticker = defineWorkflow({ name: 'ticker' }, async (wctx, s: { got: number[]; want: number }) => {
      const got = [...s.got];
      for (let i = 0; i < 3 && got.length < s.want; i++) got.push((await wctx.waitForSignal<number>('tick')) as number);
      if (got.length < s.want) return wctx.continueAsNew({ got, want: s.want });
      return got;
    });
    const h = await client.start(ticker, { got: [], want: 7 }, { id: 'ticker-1' });
    for (let i = 1; i <= 7; i++) await h.signal('tick', i);
    await drive(ctx.db, [ticker]);
    expect(await h.result()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await historySizes('ticker-1')).toEqual(expect.arrayContaining([3, 3, 1]));
  });

  test('a stale holder\'s continue-as-new commits nothing', async () => {
    const once = defineWorkflow({ name: 'continue-once' }, async (wctx, n: number) => (n > 0 ? wctx.continueAsNew(n - 1) : 'end'));
    const h = await client.start(once, 1, { id: 'stale-can' });
    const [old] = await claimExecutions(ctx.db.sql, { owner: 'old-00000000', workflows: ['continue-once'], limit: 1, leaseTtlMs: 30_000 });
    await expireAllLeases(ctx.db);
    const [fresh] = await claimExecutions(ctx.db.sql, { owner: 'new-00000000', workflows: ['continue-once'], limit: 1, leaseTtlMs: 30_000 });
    const stale = await executeClaimed({ store: ctx.db.sql, execution: old, definition: once, owner: 'old-00000000' });
    expect(stale.kind).toBe('lease-lost');
    const rows = await ctx.db.sql.all<{ id: string; run_id: string; status: string }>("SELECT id, run_id, status FROM workflow_executions WHERE id LIKE 'stale-can%'");
    expect(rows).toEqual([{ id: 'stale-can', run_id: h.runId, status: 'running' }]);
    const live = await executeClaimed({ store: ctx.db.sql, execution: fresh, definition: once, owner: 'new-00000000' });
    expect(live.kind).toBe('continued');
    await drive(ctx.db, [once]);
    expect(await h.result()).toBe('end');
    expect(await historySizes('stale-can')).toEqual([]);
    expect((await h.describe()).leaseToken).toBe(fresh.leaseToken + 1); // tokens keep growing across the chain
  });

  const countdown = defineWorkflow({ name: 'countdown', template: { key: (s: { k: string; n: number }) => s.k, limit: 1 } },
    async (wctx, s: { k: string; n: number }) => {
      await wctx.step('tick', async () => s.n);
      return s.n > 0 ? wctx.continueAsNew({ k: s.k, n: s.n - 1 }) : `${s.k} done`;
    });
  const parentOfCountdown = defineWorkflow({ name: 'countdown-parent' }, async (wctx, k: string) => wctx.child(countdown, { k, n: 3 }));

  test('a child that continues as new reports to its parent; its template slot is kept across the chain', async () => {
    const p = await client.start(parentOfCountdown, 'kid', { id: 'cd-parent' });
    const a = await client.start(countdown, { k: 'shared', n: 2 }, { id: 'cd-a' });
    const b = await client.start(countdown, { k: 'shared', n: 0 }, { id: 'cd-b' });
    await drive(ctx.db, [parentOfCountdown, countdown]);
    expect(await p.result()).toBe('kid done');
    expect(await a.result()).toBe('shared done');
    expect(await b.result()).toBe('shared done');
    const child = await client.getHandle('cd-parent/0').describe();
    expect(child).toMatchObject({ parentId: 'cd-parent', runNumber: 4, status: 'completed' });
    // limit 1 on "shared": b was admitted only after a's whole chain had finished.
    const [da, db] = [await a.describe(), await b.describe()];
    expect(db.startedAt!.getTime()).toBeGreaterThanOrEqual(da.finishedAt!.getTime());
    expect(da.runNumber).toBe(3);
  });

  test('continueAsNew validates its input like a start, before writing anything', async () => {
    const bad = defineWorkflow({ name: 'bad-continue', template: { key: (s: { k: unknown }) => s.k as string } }, async (wctx, s: { k: unknown }) => {
      const errors: string[] = [];
      for (const next of [{ k: 'x', f: () => 1 }, { k: '' }]) {
        try { await wctx.continueAsNew(next); } catch (err) { errors.push(`${(err as Error).name}:${(err as { field?: string }).field ?? ''}`); }
      }
      return { errors, k: s.k };
    });
    const longKid = defineWorkflow({ name: 'long-kid' }, async (wctx) => wctx.continueAsNew(1).catch((err: Error & { field?: string }) => `${err.name}:${err.field}`));
    const longParent = defineWorkflow({ name: 'long-parent' }, async (wctx) => wctx.child(longKid, undefined, { id: 'k'.repeat(195) }));
    const h = await client.start(bad, { k: 'ok' }, { id: 'bad-continue' });
    const h2 = await client.start(longParent, undefined, { id: 'long-parent' });
    await drive(ctx.db, [bad, longParent, longKid]);
    expect(await h.result()).toEqual({ errors: ['SerializationError:', 'ValidationError:template.key'], k: 'ok' });
    expect((await h.describe()).runNumber).toBe(1);
    expect(await h2.result()).toBe('ValidationError:id'); // its run could not be archived as {id}#n
  });
});
