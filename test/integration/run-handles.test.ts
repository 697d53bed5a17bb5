/**
 * Run-bound handles and result() errors on both dialects: a handle keeps meaning the run it was
 * given after the id is reused, getHandle(id) follows the latest run, describe() shows run ids,
 * and result() rejects with WorkflowFailedError (cause = the workflow's error), CancelledError
 * or TimeoutError.
 */
import { describeEachDb } from '../helpers/db';
import { drive } from '../helpers/engine';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { createClient, type Client } from '../../engine/client/client';
import { CancelledError, ExecutionFinishedError, ExecutionNotFoundError, TimeoutError, WorkflowFailedError } from '../../engine/errors';

describeEachDb(__filename, 'run-bound handles', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());

  const echo = defineWorkflow({ name: 'echo' }, async (wctx, input: { v: string }) => {
    const got = await wctx.step('echo', async () => input.v);
    return { got, runId: wctx.runId };
  });

  test('after an allow-duplicate restart the original handle still means the original run', async () => {
    const first = await client.start(echo, { v: 'one' }, { id: 'reused' });
    await drive(ctx.db, [echo]);
    const firstOut = await first.result();
    expect(firstOut).toEqual({ got: 'one', runId: first.runId });

    const second = await client.start(echo, { v: 'two' }, { id: 'reused', idReusePolicy: 'allow-duplicate' });
    expect(second.runId).toBeDefined();
    expect(second.runId).not.toBe(first.runId);

    // Before and after the new run finishes, the old handle sees only its own run.
    for (const pass of [1, 2]) {
      const d = await first.describe();
      expect(d).toMatchObject({ id: 'reused#1', runId: first.runId, runNumber: 1, status: 'completed', input: { v: 'one' } });
      expect(await first.result()).toEqual(firstOut);
      expect((await first.history()).map((e) => e.value)).toEqual(['one']);
      await expect(first.signal('poke', 1)).rejects.toBeInstanceOf(ExecutionFinishedError);
      await expect(first.cancel()).rejects.toBeInstanceOf(ExecutionFinishedError);
      if (pass === 1) {
        expect((await second.describe()).status).toBe('queued');
        await drive(ctx.db, [echo]);
      }
    }
    expect(await second.result()).toEqual({ got: 'two', runId: second.runId });
    expect(await second.describe()).toMatchObject({ id: 'reused', runId: second.runId, runNumber: 2, firstRunId: second.runId, continuedFrom: null });

    // Following the id: getHandle(id) and handle.latest() see the newest run.
    expect((await client.getHandle('reused').describe()).runId).toBe(second.runId);
    expect((await first.latest().describe()).runId).toBe(second.runId);
    expect(first.latest().runId).toBeUndefined();
    // Binding explicitly to a run id.
    expect((await client.getHandle('reused', { runId: first.runId }).describe()).input).toEqual({ v: 'one' });
    await expect(client.getHandle('reused', { runId: 'no-such-run' }).describe()).rejects.toBeInstanceOf(ExecutionNotFoundError);
    await expect(client.getHandle('other-id', { runId: first.runId! }).describe()).rejects.toBeInstanceOf(ExecutionNotFoundError);
  });

  test('an idempotent start returns a handle bound to the existing run', async () => {
    const a = await client.start(echo, { v: 'same' }, { id: 'idem-run' });
    const b = await client.start(echo, { v: 'same' }, { id: 'idem-run' });
    expect(b.runId).toBe(a.runId);
  });

  test('lease tokens of an id keep growing across its runs', async () => {
    const h1 = await client.start(echo, { v: 'a' }, { id: 'tokens' });
    await drive(ctx.db, [echo]);
    const t1 = (await h1.describe()).leaseToken;
    expect(t1).toBeGreaterThan(0);
    const h2 = await client.start(echo, { v: 'b' }, { id: 'tokens', idReusePolicy: 'allow-duplicate' });
    expect((await h2.describe()).leaseToken).toBe(t1);
    await drive(ctx.db, [echo]);
    expect((await h2.describe()).leaseToken).toBe(t1 + 1);
  });

  const kid = defineWorkflow({ name: 'kid' }, async (wctx, n: number) => wctx.step('twice', async () => n * 2));
  const parentOfKid = defineWorkflow({ name: 'parent-of-kid' }, async (wctx, n: number) => wctx.child(kid, n));

  test('a reused id\'s new run starts its children under new ids', async () => {
    const h1 = await client.start(parentOfKid, 1, { id: 'pk' });
    await drive(ctx.db, [parentOfKid, kid]);
    expect(await h1.result()).toBe(2);
    const h2 = await client.start(parentOfKid, 2, { id: 'pk', idReusePolicy: 'allow-duplicate' });
    await drive(ctx.db, [parentOfKid, kid]);
    expect(await h2.result()).toBe(4);
    const kids = await ctx.db.sql.all<{ id: string; parent_id: string }>("SELECT id, parent_id FROM workflow_executions WHERE workflow_name = 'kid' ORDER BY id");
    expect(kids.map((k) => [k.id, k.parent_id])).toEqual([['pk/0', 'pk#1'], ['pk/2.0', 'pk']]);
  });

  test('result() rejects with WorkflowFailedError whose cause is the workflow\'s own error', async () => {
    const fails = defineWorkflow({ name: 'fails' }, async () => {
      const err = new Error('out of stock') as Error & { code: string };
      err.name = 'StockError';
      err.code = 'NO_STOCK';
      throw err;
    });
    const h = await client.start(fails, undefined, { id: 'fails-1' });
    await drive(ctx.db, [fails]);
    const err = await h.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const wf = err as WorkflowFailedError;
    expect(wf).toMatchObject({ code: 'WORKFLOW_FAILED', executionId: 'fails-1', runId: h.runId });
    expect(wf.message).toBe('workflow execution "fails-1" failed: StockError: out of stock');
    expect(wf.cause).toBeInstanceOf(Error);
    expect(wf.cause).toMatchObject({ name: 'StockError', message: 'out of stock', code: 'NO_STOCK' });
    expect(String((wf.cause as Error).stack)).toContain('out of stock');
  });

  test('result() rejects with CancelledError on cancellation and TimeoutError on its own timeout', async () => {
    const slow = defineWorkflow({ name: 'slow' }, async (wctx) => { await wctx.waitForSignal('never'); });
    const h = await client.start(slow, undefined, { id: 'slow-1' });
    const t0 = Date.now();
    const timedOut = await h.result({ timeout: '100ms' }).then(() => undefined, (e: unknown) => e);
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(timedOut).toMatchObject({ code: 'TIMEOUT' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    await drive(ctx.db, [slow]);
    await h.cancel('not needed');
    await drive(ctx.db, [slow]);
    const cancelled = await h.result().then(() => undefined, (e: unknown) => e);
    expect(cancelled).toBeInstanceOf(CancelledError);
    expect(cancelled).toMatchObject({ code: 'CANCELLED', reason: 'not needed' });
  });
});
