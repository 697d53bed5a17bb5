/**
 * Durable execution on both dialects: replay after crashes, retries, timers, signals,
 * children, cancellation, determinism, fencing and idempotent start.
 */
import { describeEachDb } from '../helpers/db';
import { createLedger, drive, expireAllLeases, ledger, ledgerCounts, makeDue } from '../helpers/engine';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { createClient, type Client } from '../../engine/client/client';
import { claimExecutions } from '../../engine/store/claims';
import { executeClaimed } from '../../engine/runner/executor';
import { commitFenced } from '../../engine/store/transitions';
import { CancelledError, LeaseLostError, NonRetryableError, WorkflowIdConflictError } from '../../engine/errors';
import type { Database } from '../../engine/store/database';
import type { WorkflowDefinition } from '../../engine/workflow/define-workflow';

let db: Database;
/** Set by runWithCrash: simulates the process dying right now. */
let crashNow: () => void = () => undefined;

/** Claim one execution and run it, aborting (a simulated crash) when `crashWhen` says so. */
async function runWithCrash(wf: WorkflowDefinition<any, any>, crashWhen: (event: string, data: Record<string, unknown>) => boolean) { // eslint-disable-line @typescript-eslint/no-explicit-any
  const [execution] = await claimExecutions(db.sql, { owner: 'crashy-00000000', workflows: [wf.name], limit: 1, leaseTtlMs: 30_000 });
  expect(execution).toBeDefined();
  const ac = new AbortController();
  crashNow = () => ac.abort('simulated crash');
  return executeClaimed({
    store: db.sql, execution, definition: wf, owner: 'crashy-00000000', signal: ac.signal,
    emit: (event, data) => { if (crashWhen(event, data)) ac.abort('simulated crash'); },
  });
}

describeEachDb(__filename, 'durable execution', (ctx) => {
  let client: Client;
  beforeAll(async () => {
    db = ctx.db;
    await createLedger(db);
    client = await createClient({ db });
  });
  afterAll(async () => client.close());

  const threeSteps = defineWorkflow({ name: 'three-steps' }, async (wctx, input: { tag: string }) => {
    const a = await wctx.step('a', async () => { await ledger(db, `${input.tag}:a`); return 1; });
    const b = await wctx.step('b', async () => { await ledger(db, `${input.tag}:b`); return a + 1; });
    const c = await wctx.step('c', async () => { await ledger(db, `${input.tag}:c`); return b + 1; });
    return { a, b, c };
  });

  test('replay after a crash between steps re-runs no committed step', async () => {
    const h = await client.start(threeSteps, { tag: 'between' }, { id: 'between-1' });
    const first = await runWithCrash(threeSteps, (ev, d) => ev === 'step:completed' && d.step === 'b');
    expect(first.kind).toBe('aborted');
    expect(await expireAllLeases(db)).toBe(1);
    await drive(db, [threeSteps]);
    expect(await h.result()).toEqual({ a: 1, b: 2, c: 3 });
    expect(await ledgerCounts(db, 'between:')).toEqual({ 'between:a': 1, 'between:b': 1, 'between:c': 1 });
    const hist = await h.history();
    expect(hist.map((e) => `${e.kind}:${e.name}`)).toEqual(['step:a', 'step:b', 'step:c']);
    expect(new Set(hist.map((e) => e.leaseToken)).size).toBe(2); // two holders, each committed its own part
  });

  const crashInside = defineWorkflow({ name: 'crash-inside' }, async (wctx) => {
    await wctx.step('a', async () => { await ledger(db, 'inside:a'); });
    await wctx.step('b', async ({ attempt }) => {
      await ledger(db, 'inside:b');
      if (wctx.attempt === 1) {
        crashNow(); // the "process" dies in here, before the result is committed
        await new Promise((r) => setTimeout(r, 100));
      }
      return attempt;
    });
    return 'done';
  });

  test('a crash inside a step re-runs that step only', async () => {
    const h = await client.start(crashInside, undefined, { id: 'inside-1' });
    const first = await runWithCrash(crashInside, () => false);
    expect(first.kind).toBe('aborted');
    expect((await h.history()).map((e) => e.name)).toEqual(['a']);
    await expireAllLeases(db);
    await drive(db, [crashInside]);
    expect(await h.result()).toBe('done');
    expect(await ledgerCounts(db, 'inside:')).toEqual({ 'inside:a': 1, 'inside:b': 2 });
  });

  test('retries follow the policy and stop at non-retryable errors', async () => {
    const flaky = defineWorkflow({ name: 'flaky', retry: { maxAttempts: 5, initialInterval: '5ms', backoffCoefficient: 2 } }, async (wctx) => {
      const got = await wctx.step('until-third', async ({ attempt }) => {
        await ledger(db, 'retry:until-third');
        if (attempt < 3) throw new Error(`transient ${attempt}`);
        return attempt;
      });
      try {
        await wctx.step('declined', async () => {
          await ledger(db, 'retry:declined');
          const e = new Error('card declined');
          e.name = 'CardDeclined';
          throw e;
        }, { retry: { nonRetryable: ['CardDeclined'] } });
      } catch (err) {
        return { got, caught: (err as Error).name, message: (err as Error).message };
      }
      return { got };
    });
    const exhausted = defineWorkflow({ name: 'exhausted' }, async (wctx) => {
      await wctx.step('always', async () => { await ledger(db, 'retry:always'); throw new Error('nope'); }, { retry: { maxAttempts: 3, initialInterval: '1ms' } });
    });
    const nonRetryableClass = defineWorkflow({ name: 'non-retryable-class' }, async (wctx) => {
      await wctx.step('stop', async () => { await ledger(db, 'retry:stop'); throw new NonRetryableError('stop now'); }, { retry: { maxAttempts: 9, initialInterval: '1ms' } });
    });
    const h1 = await client.start(flaky, undefined);
    const h2 = await client.start(exhausted, undefined);
    const h3 = await client.start(nonRetryableClass, undefined);
    await drive(db, [flaky, exhausted, nonRetryableClass]);
    expect(await h1.result()).toEqual({ got: 3, caught: 'CardDeclined', message: 'card declined' });
    await expect(h2.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ name: 'Error', message: 'nope' }) });
    await expect(h3.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ name: 'NonRetryableError', message: 'stop now' }) });
    expect(await ledgerCounts(db, 'retry:')).toEqual({ 'retry:until-third': 3, 'retry:declined': 1, 'retry:always': 3, 'retry:stop': 1 });
    const steps = (await h2.history()).filter((e) => e.kind === 'step');
    expect(steps).toEqual([expect.objectContaining({ name: 'always', status: 'failed', attempt: 3 })]);
  });

  test('a step timeout aborts the attempt and counts as a failed attempt', async () => {
    const slow = defineWorkflow({ name: 'slow-step' }, async (wctx) => {
      return wctx.step('slow', async ({ signal, attempt }) => {
        if (attempt === 1) await new Promise((resolve, reject) => { const t = setTimeout(resolve, 5000); signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason); }); });
        return attempt;
      }, { timeout: '50ms', retry: { initialInterval: '1ms' } });
    });
    const h = await client.start(slow, undefined);
    await drive(db, [slow]);
    expect(await h.result()).toBe(2);
  });

  test('a 1-hour sleep completes once its due time is moved in the database', async () => {
    const reminder = defineWorkflow({ name: 'hour-sleep' }, async (wctx) => {
      await wctx.step('before', async () => ledger(db, 'sleep:before'));
      await wctx.sleep('an-hour', '1h');
      await wctx.step('after', async () => ledger(db, 'sleep:after'));
      return 'woke';
    });
    const h = await client.start(reminder, undefined, { id: 'sleepy' });
    const first = await drive(db, [reminder]);
    expect(first.map((o) => o.outcome.kind)).toEqual(['suspended']);
    const d = await h.describe();
    expect(d.status).toBe('waiting');
    expect(d.leaseHolder).toBeNull();
    expect(d.availableAt!.getTime() - d.updatedAt.getTime()).toBeGreaterThan(3_590_000);
    expect(await drive(db, [reminder])).toEqual([]); // not due: nothing to claim
    await makeDue(db, 'sleepy');
    await drive(db, [reminder]);
    expect(await h.result()).toBe('woke');
    expect(await ledgerCounts(db, 'sleep:')).toEqual({ 'sleep:before': 1, 'sleep:after': 1 });
  });

  const approval = defineWorkflow({ name: 'approval' }, async (wctx, input: { n: number; timeout?: string }) => {
    const got: unknown[] = [];
    for (let i = 0; i < input.n; i++) {
      const v = await wctx.waitForSignal('approve', { timeout: input.timeout });
      got.push(v === undefined ? 'timed out' : v);
    }
    return got;
  });

  test('signals sent before the wait are delivered, two signals once each in order', async () => {
    const h = await client.start(approval, { n: 2 }, { id: 'approval-early' });
    await h.signal('approve', { by: 'alice' });
    await h.signal('approve', { by: 'bob' });
    await h.signal('other', 'ignored');
    await drive(db, [approval]);
    expect(await h.result()).toEqual([{ by: 'alice' }, { by: 'bob' }]);
    await expect(h.signal('approve', 1)).rejects.toMatchObject({ code: 'EXECUTION_FINISHED' });
    const rows = await db.sql.all<{ name: string; consumed_seq: unknown }>('SELECT name, consumed_seq FROM workflow_signals WHERE execution_id = ? ORDER BY id', ['approval-early']);
    expect(rows.map((r) => [r.name, r.consumed_seq === null ? null : Number(r.consumed_seq)])).toEqual([['approve', 0], ['approve', 1], ['other', -1]]);
    // The one it never consumed was marked undelivered when it finished (issue 8, item 9).
    expect((await h.describe()).undeliveredSignals.map((u) => u.name)).toEqual(['other']);
  });

  test('a waiting execution is woken by a signal and gets it once', async () => {
    const h = await client.start(approval, { n: 1 }, { id: 'approval-late' });
    expect((await drive(db, [approval])).map((o) => o.outcome.kind)).toEqual(['suspended']);
    expect((await h.describe()).waitingFor).toMatchObject({ kind: 'signal', name: 'approve' });
    await h.signal('approve', null);
    await drive(db, [approval]);
    expect(await h.result()).toEqual([null]);
  });

  test('waitForSignal times out with undefined', async () => {
    const h = await client.start(approval, { n: 1, timeout: '1h' }, { id: 'approval-timeout' });
    await drive(db, [approval]);
    expect((await h.describe()).status).toBe('waiting');
    await makeDue(db, 'approval-timeout');
    await drive(db, [approval]);
    expect(await h.result()).toEqual(['timed out']);
    expect((await h.history()).map((e) => e.status)).toEqual(['timeout']);
  });

  const childOk = defineWorkflow({ name: 'child-ok' }, async (wctx, input: { x: number }) => wctx.step('double', async () => input.x * 2));
  const childBad = defineWorkflow({ name: 'child-bad' }, async (wctx) => {
    await wctx.step('boom', async () => { const e = new Error('child exploded'); e.name = 'ChildBoom'; throw e; }, { retry: { maxAttempts: 1 } });
  });
  const parent = defineWorkflow({ name: 'parent' }, async (wctx, input: { xs: number[] }) => {
    const handles = [];
    for (const x of input.xs) handles.push(await wctx.startChild(childOk, { x }));
    const results = [];
    for (const hh of handles) results.push(await hh.result());
    let failure: string | undefined;
    try { await wctx.child(childBad, {}); } catch (err) { failure = `${(err as Error).name}: ${(err as Error).message}`; }
    return { results, failure };
  });

  test('child workflow results and failures reach the parent', async () => {
    const h = await client.start(parent, { xs: [1, 2, 3] }, { id: 'fan-out' });
    await drive(db, [parent, childOk, childBad]);
    expect(await h.result()).toEqual({ results: [2, 4, 6], failure: 'ChildBoom: child exploded' });
    const kids = await client.list({ parentId: 'fan-out' });
    expect(kids.executions.map((k) => k.status).sort()).toEqual(['completed', 'completed', 'completed', 'failed']);
  });

  test('cancellation raises CancelledError inside the workflow and runs compensation', async () => {
    const order = defineWorkflow({ name: 'order-cancel' }, async (wctx) => {
      await wctx.step('charge', async () => ledger(db, 'cancel:charge'));
      try {
        await wctx.waitForSignal('ship');
        await wctx.step('ship', async () => ledger(db, 'cancel:ship'));
      } catch (err) {
        if (err instanceof CancelledError) await wctx.step('refund', async () => ledger(db, 'cancel:refund'));
        throw err;
      }
    });
    const h = await client.start(order, undefined, { id: 'order-c' });
    await drive(db, [order]);
    await h.cancel('customer asked');
    await drive(db, [order]);
    await expect(h.result()).rejects.toBeInstanceOf(CancelledError);
    expect((await h.describe()).status).toBe('cancelled');
    expect(await ledgerCounts(db, 'cancel:')).toEqual({ 'cancel:charge': 1, 'cancel:refund': 1 });
    expect((await h.history()).map((e) => `${e.kind}:${e.name}`)).toEqual(['step:charge', 'cancel:cancel', 'step:refund']);
    await expect(h.cancel()).rejects.toMatchObject({ code: 'EXECUTION_FINISHED' });
  });

  test('cancelling an execution that never started cancels it at once', async () => {
    const h = await client.start(threeSteps, { tag: 'never' }, { id: 'never-started', delay: '1h' });
    await h.cancel('not needed');
    await expect(h.result({ timeout: '5s' })).rejects.toMatchObject({ name: 'CancelledError' });
  });

  test('a changed workflow body raises NonDeterminismError and parks the execution', async () => {
    const v1 = defineWorkflow({ name: 'evolving' }, async (wctx) => {
      await wctx.step('first', async () => 1);
      await wctx.sleep('pause', '1h');
      return 'v1';
    });
    const v2 = defineWorkflow({ name: 'evolving', version: 2 }, async (wctx) => {
      await wctx.step('renamed-first', async () => 1);
      await wctx.sleep('pause', '1h');
      return 'v2';
    });
    const h = await client.start(v1, undefined, { id: 'evolving-1' });
    await drive(db, [v1]);
    await makeDue(db, 'evolving-1');
    await drive(db, [v2]);
    const d = await h.describe();
    expect(d.status).toBe('failed');
    expect(d.error).toMatchObject({ name: 'NonDeterminismError' });
    expect(d.error!.message).toContain('renamed-first');
    expect((await h.history()).map((e) => e.name)).toEqual(['first', 'pause']); // history untouched
  });

  test('a stale lease token cannot commit', async () => {
    await client.start(threeSteps, { tag: 'stale' }, { id: 'stale-1' });
    const [old] = await claimExecutions(db.sql, { owner: 'old-00000000', workflows: ['three-steps'], limit: 1, leaseTtlMs: 30_000 });
    await expireAllLeases(db);
    const [fresh] = await claimExecutions(db.sql, { owner: 'new-00000000', workflows: ['three-steps'], limit: 1, leaseTtlMs: 30_000 });
    expect(fresh.leaseToken).toBe(old.leaseToken + 1);
    await expect(commitFenced(db.sql, { executionId: 'stale-1', token: old.leaseToken, owner: 'old-00000000' }, {
      events: [{ seq: 0, kind: 'step', name: 'a', status: 'completed', payload: '1', attempt: 1 }], nextSeq: 1,
    })).rejects.toBeInstanceOf(LeaseLostError);
    const events = await db.sql.all('SELECT * FROM workflow_events WHERE execution_id = ?', ['stale-1']);
    expect(events).toHaveLength(0);
    const out = await executeClaimed({ store: db.sql, execution: fresh, definition: threeSteps, owner: 'new-00000000' });
    expect(out).toEqual({ kind: 'completed', output: { a: 1, b: 2, c: 3 } });
  });

  test('idempotent start under 16 concurrent callers creates exactly one execution', async () => {
    const clients = await Promise.all(Array.from({ length: 4 }, () => createClient({ db: ctx.url })));
    try {
      const handles = await Promise.all(Array.from({ length: 16 }, (_, i) => clients[i % 4].start(threeSteps, { tag: 'idem' }, { id: 'idem-1' })));
      expect(new Set(handles.map((x) => x.executionId))).toEqual(new Set(['idem-1']));
      const rows = await db.sql.all('SELECT id FROM workflow_executions WHERE id = ?', ['idem-1']);
      expect(rows).toHaveLength(1);
      await expect(client.start(threeSteps, { tag: 'other' }, { id: 'idem-1' })).rejects.toBeInstanceOf(WorkflowIdConflictError);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  test('a finished id can be reused under allow-duplicate, keeping the old run archived', async () => {
    const h = await client.start(threeSteps, { tag: 'reuse' }, { id: 'reuse-1' });
    await drive(db, [threeSteps]);
    await h.result();
    const again = await client.start(threeSteps, { tag: 'reuse' }, { id: 'reuse-1' });
    expect((await again.describe()).status).toBe('completed'); // reject-duplicate: same execution
    await client.start(threeSteps, { tag: 'reuse' }, { id: 'reuse-1', idReusePolicy: 'allow-duplicate' });
    expect((await client.getHandle('reuse-1').describe()).status).toBe('queued');
    expect((await client.getHandle('reuse-1#1').describe()).status).toBe('completed');
    expect(await client.getHandle('reuse-1#1').history()).toHaveLength(3);
  });
});
