/**
 * Operator transitions: `resume` runs a failed execution again from its failed step (earlier
 * steps are not re-run; the failed attempt's event is kept aside), only a failed execution
 * resumes; `terminate` ends an unfinished execution at once and fences out its holder.
 */
import { describeEachDb } from '../helpers/db';
import { createLedger, drive, ledger, ledgerCounts } from '../helpers/engine';
import {
  createClient, defineWorkflow, ExecutionFinishedError, ExecutionNotFoundError, ExecutionNotResumableError, NonRetryableError, type Client,
} from '../../engine';
import { claimExecutions } from '../../engine/store/claims';
import { commitFenced } from '../../engine/store/transitions';

describeEachDb(__filename, 'operator transitions', (ctx) => {
  let client: Client;
  const broken = new Set<string>();
  beforeAll(async () => {
    client = await createClient({ db: ctx.db });
    await createLedger(ctx.db);
  });
  afterAll(async () => client.close());

  const flaky = defineWorkflow({ name: 'op-flaky' }, async (wf, input: { key: string }) => {
    const a = await wf.step('first', async () => { await ledger(ctx.db, `${input.key}:first`); return 1; });
    const b = await wf.step('second', async () => {
      await ledger(ctx.db, `${input.key}:second`);
      if (broken.has(input.key)) throw new NonRetryableError('downstream is broken');
      return 2;
    });
    return a + b;
  });

  test('resume runs a failed execution again from its failed step; earlier steps are replayed, not re-run', async () => {
    broken.add('r1');
    const h = await client.start(flaky, { key: 'r1' }, { id: 'op-r1' });
    await drive(ctx.db, [flaky]);
    expect((await h.describe()).status).toBe('failed');
    const failedHistory = await h.history();
    expect(failedHistory.map((e) => `${e.name}:${e.status}`)).toEqual(['first:completed', 'second:failed']);

    broken.delete('r1');
    expect(await h.resume()).toEqual({ retriedSeq: failedHistory[1].seq });
    expect((await h.describe()).status).toBe('queued');
    await drive(ctx.db, [flaky]);
    expect(await h.result()).toBe(3);
    expect(await ledgerCounts(ctx.db, 'r1:')).toEqual({ 'r1:first': 1, 'r1:second': 2 });
    expect((await h.history()).map((e) => `${e.name}:${e.status}`)).toEqual(['first:completed', 'second:completed']);
    // The failed attempt is kept, not deleted.
    const kept = await ctx.db.sql.all<{ status: string; name: string }>('SELECT name, status FROM workflow_events WHERE execution_id = ?', ['op-r1#retry-1']);
    expect(kept).toEqual([{ name: 'second', status: 'failed' }]);
  });

  test('only a failed execution resumes; an unknown id is not found', async () => {
    const h = await client.start(flaky, { key: 'r2' }, { id: 'op-r2' });
    await expect(h.resume()).rejects.toBeInstanceOf(ExecutionNotResumableError);
    await drive(ctx.db, [flaky]);
    await expect(h.resume()).rejects.toMatchObject({ code: 'NOT_RESUMABLE', message: expect.stringMatching(/it is completed/) });
    await expect(client.getHandle('op-none').resume()).rejects.toBeInstanceOf(ExecutionNotFoundError);
  });

  test('terminate ends a running execution now and its holder can no longer write', async () => {
    const h = await client.start(flaky, { key: 't1' }, { id: 'op-t1' });
    const [claimed] = await claimExecutions(ctx.db.sql, { owner: 'holder-00000000', workflows: ['op-flaky'], limit: 1, leaseTtlMs: 30_000 });
    expect(claimed.id).toBe('op-t1');
    await h.terminate('stuck');
    const d = await h.describe();
    expect(d).toMatchObject({ status: 'cancelled', error: { name: 'TerminatedError', message: 'workflow terminated: stuck' }, leaseHolder: null });
    const lease = { executionId: claimed.id, token: claimed.leaseToken, owner: 'holder-00000000' };
    await expect(commitFenced(ctx.db.sql, lease, { events: [], nextSeq: 1 })).rejects.toMatchObject({ code: 'LEASE_LOST' });
    await expect(h.terminate()).rejects.toBeInstanceOf(ExecutionFinishedError);
    await expect(h.result()).rejects.toMatchObject({ name: 'TerminatedError' });
  });
});
