/**
 * Each overlap policy, proven with real executions: the schedule's workflow waits for a signal,
 * so its execution stays unfinished until the test lets it go; fires are made due through rows.
 */
import { describeEachDb } from '../helpers/db';
import { drive } from '../helpers/engine';
import { fireDue, makeRecheckDue, makeScheduleDue, scheduleExecutions } from '../helpers/schedules';
import { createClient, defineWorkflow, type Client, type OverlapPolicy } from '../../engine';

describeEachDb(__filename, 'schedule overlap policies', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());

  const held = defineWorkflow({ name: 'sched-held' }, async (wctx) => {
    await wctx.waitForSignal('go');
    return 'done';
  });

  /** Create a schedule of `held` under `overlap` (an hourly rule: only the fires the test makes due happen). */
  const create = (id: string, overlap: OverlapPolicy) => client.schedules.create({ id, workflow: held, every: '1h', overlap });
  /** Make the next fire due (1 s ago, a distinct instant each call) and fire; returns that fire's execution id. */
  let ago = 60_000;
  const fireOnce = async (id: string) => {
    const fire = await makeScheduleDue(ctx.db, id, (ago -= 1000));
    const outcome = (await fireDue(ctx.db)).find((o) => o.scheduleId === id);
    return { executionId: `${id}:${fire.toISOString()}`, outcome };
  };
  const release = async (executionId: string) => {
    await client.getHandle(executionId).signal('go');
    await drive(ctx.db, [held]);
    expect((await client.getHandle(executionId).describe()).status).toBe('completed');
  };
  const statuses = async (id: string) => Object.fromEntries((await scheduleExecutions(ctx.db, id)).map((e) => [e.id, e.status]));

  test('skip (the default): a fire while the last execution is unfinished is dropped and counted', async () => {
    await create('skip', 'skip');
    const a = await fireOnce('skip');
    expect(a.outcome?.started).toEqual([a.executionId]);
    await drive(ctx.db, [held]); // it now waits for its signal
    const b = await fireOnce('skip');
    expect(b.outcome).toMatchObject({ started: [], skipped: 1 });
    await release(a.executionId);
    const c = await fireOnce('skip');
    expect(c.outcome?.started).toEqual([c.executionId]);
    expect(Object.keys(await statuses('skip'))).toEqual([a.executionId, c.executionId]);
    expect((await client.schedules.describe('skip')).counts).toEqual({ fired: 2, skipped: 1, missed: 0 });
  });

  test('buffer_one: one fire waits for the running execution, later ones are dropped; it starts when that one finishes', async () => {
    await create('buf1', 'buffer_one');
    const a = await fireOnce('buf1');
    await drive(ctx.db, [held]);
    const b = await fireOnce('buf1');
    const c = await fireOnce('buf1');
    expect(b.outcome).toMatchObject({ started: [], buffered: 1, skipped: 0 });
    expect(c.outcome).toMatchObject({ started: [], buffered: 1, skipped: 1 });
    expect((await client.schedules.describe('buf1')).bufferedFireTimes).toEqual([new Date(b.executionId.slice('buf1:'.length))]);
    await makeRecheckDue(ctx.db, 'buf1'); // still running: nothing starts
    expect((await fireDue(ctx.db)).find((o) => o.scheduleId === 'buf1')).toMatchObject({ started: [], buffered: 1 });
    await release(a.executionId);
    await makeRecheckDue(ctx.db, 'buf1');
    expect((await fireDue(ctx.db)).find((o) => o.scheduleId === 'buf1')).toMatchObject({ started: [b.executionId], buffered: 0 });
    expect(Object.keys(await statuses('buf1'))).toEqual([a.executionId, b.executionId]);
  });

  test('buffer_all: every fire waits and they start one after another, in fire order', async () => {
    await create('bufall', 'buffer_all');
    const a = await fireOnce('bufall');
    await drive(ctx.db, [held]);
    const b = await fireOnce('bufall');
    const c = await fireOnce('bufall');
    expect(c.outcome).toMatchObject({ started: [], buffered: 2, skipped: 0 });
    await release(a.executionId);
    await makeRecheckDue(ctx.db, 'bufall');
    expect((await fireDue(ctx.db)).find((o) => o.scheduleId === 'bufall')?.started).toEqual([b.executionId]);
    await drive(ctx.db, [held]);
    await makeRecheckDue(ctx.db, 'bufall');
    expect((await fireDue(ctx.db)).find((o) => o.scheduleId === 'bufall')?.started).toEqual([]); // b still runs
    await release(b.executionId);
    await makeRecheckDue(ctx.db, 'bufall');
    expect((await fireDue(ctx.db)).find((o) => o.scheduleId === 'bufall')).toMatchObject({ started: [c.executionId], buffered: 0 });
    expect(Object.keys(await statuses('bufall'))).toEqual([a.executionId, b.executionId, c.executionId]);
  });

  test('allow_all: every fire starts while earlier ones still run', async () => {
    await create('all', 'allow_all');
    const a = await fireOnce('all');
    await drive(ctx.db, [held]);
    const b = await fireOnce('all');
    expect(b.outcome?.started).toEqual([b.executionId]);
    await drive(ctx.db, [held]);
    expect(await statuses('all')).toEqual({ [a.executionId]: 'waiting', [b.executionId]: 'waiting' });
    for (const id of [a.executionId, b.executionId]) await release(id);
  });

  test('cancel_other: a fire cancels the running execution and starts its own', async () => {
    await create('cancel', 'cancel_other');
    const a = await fireOnce('cancel');
    await drive(ctx.db, [held]);
    const b = await fireOnce('cancel');
    expect(b.outcome).toMatchObject({ started: [b.executionId], cancelled: a.executionId });
    await drive(ctx.db, [held]);
    expect(await statuses('cancel')).toEqual({ [a.executionId]: 'cancelled', [b.executionId]: 'waiting' });
    // A never-started execution is cancelled at once, without a runner.
    const c = await fireOnce('cancel');
    const d = await fireOnce('cancel');
    expect(d.outcome?.cancelled).toBe(c.executionId);
    expect((await statuses('cancel'))[c.executionId]).toBe('cancelled');
    await release(d.executionId);
  });
});
