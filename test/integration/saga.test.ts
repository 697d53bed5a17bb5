/**
 * Sagas on both dialects: `ctx.step(…, { compensate })` + `ctx.compensate()` / `saga()` run the
 * compensations of committed steps newest first, each committed once as `compensate:<step>`,
 * after a failure, a cancellation, or a crash in the middle of compensating.
 */
import { describeEachDb } from '../helpers/db';
import { crashNow, createLedger, drive, expireAllLeases, ledger, ledgerCounts, runOnceWithCrash } from '../helpers/engine';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { saga } from '../../engine/workflow/saga';
import { createClient, type Client } from '../../engine/client/client';
import { CancelledError, CompensationError, NonRetryableError, ValidationError, WorkflowFailedError } from '../../engine/errors';
import type { WorkflowContext } from '../../engine/workflow/context-types';

describeEachDb(__filename, 'sagas', (ctx) => {
  let client: Client;
  beforeAll(async () => {
    await createLedger(ctx.db);
    client = await createClient({ db: ctx.db });
  });
  afterAll(async () => client.close());

  const names = async (id: string) => (await client.getHandle(id).history()).map((e) => `${e.kind}:${e.name}:${e.status}`);

  /** Book car, hotel and flight (tag-scoped ledger); the flight fails when asked to. */
  async function bookTrip(wctx: WorkflowContext, tag: string, failFlight: boolean) {
    const car = await wctx.step('car', async () => { await ledger(ctx.db, `${tag}:car`); return `car-${tag}`; }, {
      compensate: async (id) => ledger(ctx.db, `${tag}:undo:${id}`),
    });
    const hotel = await wctx.step('hotel', async () => { await ledger(ctx.db, `${tag}:hotel`); return `hotel-${tag}`; }, {
      compensate: async (id) => ledger(ctx.db, `${tag}:undo:${id}`),
    });
    await wctx.step('note', async () => 'no compensation');
    const flight = await wctx.step('flight', async () => {
      if (failFlight) throw new NonRetryableError('no seats');
      return `flight-${tag}`;
    }, { compensate: async (id) => ledger(ctx.db, `${tag}:undo:${id}`) });
    return { car, hotel, flight };
  }

  test('a failed step compensates the committed steps in reverse order, each as a checkpointed step', async () => {
    const trip = defineWorkflow({ name: 'trip' }, async (wctx, tag: string) => saga(wctx, () => bookTrip(wctx, tag, true)));
    const h = await client.start(trip, 't1', { id: 'trip-1' });
    await drive(ctx.db, [trip]);
    const err = await h.result().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toMatchObject({ name: 'NonRetryableError', message: 'no seats' });
    expect(await names('trip-1')).toEqual([
      'step:car:completed', 'step:hotel:completed', 'step:note:completed', 'step:flight:failed',
      'value:compensations:recorded', 'step:compensate:hotel:completed', 'step:compensate:car:completed',
    ]);
    expect(await ledgerCounts(ctx.db, 't1:')).toEqual({ 't1:car': 1, 't1:hotel': 1, 't1:undo:hotel-t1': 1, 't1:undo:car-t1': 1 });
  });

  test('a crash in the middle of compensating commits each compensation exactly once, in reverse order', async () => {
    const crashy = defineWorkflow({ name: 'crashy-saga' }, async (wctx) => {
      for (const s of ['a', 'b', 'c']) {
        await wctx.step(s, async () => s, {
          compensate: async (r) => {
            await ledger(ctx.db, `crash:undo:${r}`);
            if (r === 'b' && wctx.attempt === 2) crashNow(); // the second holder dies inside compensate:b
          },
        });
      }
      try {
        await wctx.step('boom', async () => { throw new NonRetryableError('boom'); });
      } catch (err) {
        await wctx.compensate();
        throw err;
      }
    });
    const h = await client.start(crashy, undefined, { id: 'crashy-1' });
    // Holder 1 dies right after compensate:c committed.
    const first = await runOnceWithCrash(ctx.db, crashy, (ev, d) => ev === 'step:completed' && d.step === 'compensate:c');
    expect(first.kind).toBe('aborted');
    expect(await expireAllLeases(ctx.db)).toBe(1);
    // Holder 2 replays (re-registering a, b, c from history) and dies inside compensate:b's body.
    const second = await runOnceWithCrash(ctx.db, crashy);
    expect(second.kind).toBe('aborted');
    expect(await expireAllLeases(ctx.db)).toBe(1);
    await drive(ctx.db, [crashy]);
    await expect(h.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ message: 'boom' }) });
    const hist = await names('crashy-1');
    expect(hist.filter((n) => n.includes('compensat'))).toEqual([
      'value:compensations:recorded', 'step:compensate:c:completed', 'step:compensate:b:completed', 'step:compensate:a:completed',
    ]);
    // Bodies: c and a ran once; b ran twice (the crash came before its commit), committed once.
    expect(await ledgerCounts(ctx.db, 'crash:')).toEqual({ 'crash:undo:c': 1, 'crash:undo:b': 2, 'crash:undo:a': 1 });
  });

  test('compensations run after a cancellation, and a cancellation during compensation waits for them', async () => {
    const order = defineWorkflow({ name: 'saga-cancel' }, async (wctx, tag: string) => {
      await wctx.step('charge', async () => `charge-${tag}`, { compensate: (id) => ledger(ctx.db, `${tag}:refund:${id}`) });
      await wctx.step('reserve', async () => `res-${tag}`, {
        compensate: async (id) => {
          await ledger(ctx.db, `${tag}:release:${id}`);
          // A cancellation that arrives while compensating must not cut the compensations short.
          if (tag === 'during') await client.getHandle(wctx.executionId).cancel('too late').catch(() => undefined);
        },
      });
      try {
        if (tag === 'during') await wctx.step('ship', async () => { throw new NonRetryableError('no truck'); });
        else await wctx.waitForSignal('ship');
      } catch (err) {
        await wctx.compensate();
        throw err;
      }
    });
    const h = await client.start(order, 'after', { id: 'saga-cancel-after' });
    await drive(ctx.db, [order]);
    await h.cancel('customer asked');
    await drive(ctx.db, [order]);
    await expect(h.result()).rejects.toBeInstanceOf(CancelledError);
    expect(await ledgerCounts(ctx.db, 'after:')).toEqual({ 'after:release:res-after': 1, 'after:refund:charge-after': 1 });
    expect((await names('saga-cancel-after')).slice(2)).toEqual([
      'cancel:cancel:delivered', 'value:compensations:recorded', 'step:compensate:reserve:completed', 'step:compensate:charge:completed',
    ]);

    const h2 = await client.start(order, 'during', { id: 'saga-cancel-during' });
    await drive(ctx.db, [order]);
    await expect(h2.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ message: 'no truck' }) });
    expect(await ledgerCounts(ctx.db, 'during:')).toEqual({ 'during:release:res-during': 1, 'during:refund:charge-during': 1 });
  });

  test('a failing compensation is retried with its step\'s policy; the others still run and CompensationError names it', async () => {
    const flaky = defineWorkflow({ name: 'saga-flaky' }, async (wctx) => {
      await wctx.step('one', async () => 1, { compensate: () => ledger(ctx.db, 'flaky:undo-one') });
      await wctx.step('two', async () => 2, {
        retry: { maxAttempts: 2, initialInterval: '1ms' },
        compensate: async () => { await ledger(ctx.db, 'flaky:undo-two'); throw new Error('undo refused'); },
      });
      try {
        await wctx.compensate();
      } catch (err) {
        return { name: (err as Error).name, code: (err as CompensationError).code, failed: (err as CompensationError).failures.map((f) => f.step) };
      }
      return 'no error';
    });
    const h = await client.start(flaky, undefined, { id: 'saga-flaky-1' });
    await drive(ctx.db, [flaky]);
    expect(await h.result()).toEqual({ name: 'CompensationError', code: 'COMPENSATION_FAILED', failed: ['two'] });
    expect(await ledgerCounts(ctx.db, 'flaky:')).toEqual({ 'flaky:undo-two': 2, 'flaky:undo-one': 1 });
  });

  test('a second compensate() runs only what was registered since; compensate needs a function and room for its name', async () => {
    const twice = defineWorkflow({ name: 'saga-twice' }, async (wctx) => {
      await wctx.step('x', async () => 'x', { compensate: () => ledger(ctx.db, 'twice:undo-x') });
      await wctx.compensate();
      await wctx.step('y', async () => 'y', { compensate: () => ledger(ctx.db, 'twice:undo-y') });
      await wctx.compensate();
      await expect(wctx.step('z'.repeat(250), async () => 1, { compensate: () => 1 })).rejects.toBeInstanceOf(ValidationError);
      await expect(wctx.step('w', async () => 1, { compensate: 'nope' as never })).rejects.toMatchObject({ field: 'compensate' });
      return 'ok';
    });
    const h = await client.start(twice, undefined, { id: 'saga-twice-1' });
    await drive(ctx.db, [twice]);
    expect(await h.result()).toBe('ok');
    expect(await ledgerCounts(ctx.db, 'twice:')).toEqual({ 'twice:undo-x': 1, 'twice:undo-y': 1 });
    expect((await names('saga-twice-1')).filter((n) => n.startsWith('step:'))).toEqual([
      'step:x:completed', 'step:compensate:x:completed', 'step:y:completed', 'step:compensate:y:completed',
    ]);
  });
});
