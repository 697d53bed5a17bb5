/**
 * client.schedules against the real stores: create/describe/list/update, validation that writes
 * nothing, exactly one execution per fire (racing tickers, a redone fire), the catch-up window,
 * pause/unpause, trigger, backfill, delete, and a runner's ticker firing on its own.
 */
import { describeEachDb } from '../helpers/db';
import { drive } from '../helpers/engine';
import { dbNowMs, waitFor } from '../helpers/processes';
import { fireDue, makeScheduleDue, scheduleExecutions } from '../helpers/schedules';
import { fireDueSchedules } from '../../engine/schedules/fire';
import {
  createClient, createRunner, defineWorkflow, openDatabase, ScheduleAlreadyExistsError, ScheduleNotFoundError, silentLogger, ValidationError, type Client,
} from '../../engine';

const HOUR = 3_600_000;

describeEachDb(__filename, 'schedules', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db, payloadLimitBytes: 4096 }); });
  afterAll(async () => client.close());

  const echo = defineWorkflow({ name: 'sched-echo' }, async (_wctx, input: unknown) => input);
  const count = async (table: string) => Number((await ctx.db.sql.all<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);

  test('create stores the schedule; describe shows the next fire times on the DB clock; list pages by id', async () => {
    const before = await dbNowMs(ctx.db);
    const d = await client.schedules.create({ id: 'hourly', workflow: echo, input: { n: 1 }, every: '1h' });
    expect(d).toMatchObject({ id: 'hourly', workflowName: 'sched-echo', input: { n: 1 }, everyMs: HOUR, cron: null, overlap: 'skip', paused: false,
      catchupWindowMs: HOUR, jitterMs: 0, counts: { fired: 0, skipped: 0, missed: 0 }, recentRuns: [], lastFireAt: null });
    expect(d.nextFireTimes).toHaveLength(5);
    expect(d.nextFireTimes[0].getTime()).toBe(Math.floor(before / HOUR) * HOUR + HOUR);
    expect(d.nextFireTimes[1].getTime() - d.nextFireTimes[0].getTime()).toBe(HOUR);
    await client.schedules.create({ id: 'berlin', workflow: 'sched-echo', cron: '30 2 * * *', timezone: 'Europe/Berlin', overlap: 'allow_all' });
    expect((await client.schedules.list()).map((s) => s.id)).toEqual(expect.arrayContaining(['berlin', 'hourly']));
    const page = await client.schedules.list({ limit: 1 });
    expect(page).toHaveLength(1);
    expect((await client.schedules.list({ limit: 1, after: page[0].id }))[0].id > page[0].id).toBe(true);
    await expect(client.schedules.create({ id: 'hourly', workflow: echo, every: '1h' })).rejects.toBeInstanceOf(ScheduleAlreadyExistsError);
  });

  test('bad cron, unknown time zone, bad durations and bad ids are typed errors and write nothing', async () => {
    const before = await count('workflow_schedules');
    const bad = [
      [{ id: 'v1', workflow: echo, cron: '61 * * * *' }, 'cron'],
      [{ id: 'v2', workflow: echo, cron: '0 3 * * *', timezone: 'Europe/Atlantis' }, 'timezone'],
      [{ id: 'v3', workflow: echo, every: 'often' }, 'every'],
      [{ id: 'v4', workflow: echo, every: '1s', catchupWindow: 'long' }, 'catchupWindow'],
      [{ id: 'v5', workflow: echo, every: '1s', jitter: '-1s' }, 'jitter'],
      [{ id: 'v:6', workflow: echo, every: '1s' }, 'id'],
      [{ id: 'v7', workflow: echo, every: '1s', overlap: 'queue' }, 'overlap'],
      [{ id: 'v8', workflow: echo }, 'cron'],
    ] as const;
    for (const [options, field] of bad) {
      await expect(client.schedules.create(options as never)).rejects.toMatchObject({ code: 'VALIDATION', field });
    }
    await expect(client.schedules.create({ id: 'v9', workflow: echo, every: '1s', input: 'x'.repeat(5000) })).rejects.toMatchObject({ code: 'SERIALIZATION' });
    expect(await count('workflow_schedules')).toBe(before);
    // A bad update changes nothing either.
    await client.schedules.create({ id: 'upd-bad', workflow: echo, every: '1h' });
    const d = await client.schedules.describe('upd-bad');
    await expect(client.schedules.update('upd-bad', { cron: 'nope' })).rejects.toMatchObject({ field: 'cron' });
    await expect(client.schedules.update('upd-bad', { every: '1h', timezone: 'UTC' })).rejects.toMatchObject({ field: 'timezone' });
    expect(await client.schedules.describe('upd-bad')).toEqual(d);
  });

  test('a due fire starts exactly one execution named {schedule}:{fire time}, and it runs', async () => {
    await client.schedules.create({ id: 'once', workflow: echo, input: 'hello', every: '1h' });
    const fire = await makeScheduleDue(ctx.db, 'once');
    const [outcome] = (await fireDue(ctx.db)).filter((o) => o.scheduleId === 'once');
    expect(outcome).toMatchObject({ started: [`once:${fire.toISOString()}`], alreadyFired: [], skipped: 0, missed: 0 });
    expect((await fireDue(ctx.db)).filter((o) => o.scheduleId === 'once')).toEqual([]); // nothing due any more
    await drive(ctx.db, [echo]);
    expect(await client.getHandle(`once:${fire.toISOString()}`).result({ timeout: '10s' })).toBe('hello');
    const d = await client.schedules.describe('once');
    expect(d.counts.fired).toBe(1);
    expect(d.lastFireAt).toEqual(fire);
    expect(d.recentRuns).toEqual([expect.objectContaining({ executionId: `once:${fire.toISOString()}`, fireTime: fire, status: 'completed' })]);
    expect(d.nextFireTimes[0].getTime()).toBeGreaterThan(fire.getTime());
  });

  test('tickers racing on separate connections start one execution per fire; a redone fire meets its own row', async () => {
    await client.schedules.create({ id: 'race', workflow: echo, every: '1h', overlap: 'allow_all' });
    const fire = await makeScheduleDue(ctx.db, 'race');
    const handles = await Promise.all(Array.from({ length: 4 }, () => openDatabase(ctx.url)));
    try {
      const outcomes = (await Promise.all(handles.map((h) => fireDueSchedules(h.sql)))).flat().filter((o) => o.scheduleId === 'race');
      expect(outcomes.flatMap((o) => o.started)).toEqual([`race:${fire.toISOString()}`]);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
    // The same fire again (as if the advance had been lost): the execution exists, nothing new starts.
    const p = ctx.db.sql.dateParam(fire);
    await ctx.db.sql.run('UPDATE workflow_schedules SET next_fire_at = ?, due_at = ? WHERE id = ?', [p, p, 'race']);
    const [again] = (await fireDue(ctx.db)).filter((o) => o.scheduleId === 'race');
    expect(again).toMatchObject({ started: [], alreadyFired: [`race:${fire.toISOString()}`] });
    expect(await scheduleExecutions(ctx.db, 'race')).toHaveLength(1);
  });

  test('after downtime only the fires inside the catch-up window start; older ones count as missed', async () => {
    await client.schedules.create({ id: 'catchup', workflow: echo, every: '1s', catchupWindow: '3s', overlap: 'allow_all' });
    const first = await makeScheduleDue(ctx.db, 'catchup', 10_000, 1000);
    const nowBefore = await dbNowMs(ctx.db);
    const [outcome] = (await fireDue(ctx.db)).filter((o) => o.scheduleId === 'catchup');
    const times = outcome.started.map((id) => new Date(id.slice('catchup:'.length)).getTime());
    expect(times.length).toBeGreaterThanOrEqual(3);
    expect(times.length).toBeLessThanOrEqual(5);
    times.forEach((t, i) => { if (i > 0) expect(t - times[i - 1]).toBe(1000); });
    expect(times[0]).toBeGreaterThanOrEqual(nowBefore - 3000 - 1000);
    expect(outcome.missed + times.length).toBe((times[times.length - 1] - first.getTime()) / 1000 + 1);
    expect((await client.schedules.describe('catchup')).counts).toEqual({ fired: times.length, skipped: 0, missed: outcome.missed });
    await client.schedules.delete('catchup');
  });

  test('pause stops firing; unpause fires from now on without catching up the pause', async () => {
    await client.schedules.create({ id: 'pausable', workflow: echo, every: '1h', paused: true });
    expect(await client.schedules.describe('pausable')).toMatchObject({ paused: true, nextFireTimes: [] });
    await client.schedules.unpause('pausable');
    await client.schedules.pause('pausable');
    await ctx.db.sql.run('UPDATE workflow_schedules SET next_fire_at = ? WHERE id = ?', [ctx.db.sql.dateParam(new Date((await dbNowMs(ctx.db)) - 5000)), 'pausable']);
    expect((await fireDue(ctx.db)).filter((o) => o.scheduleId === 'pausable')).toEqual([]);
    await client.schedules.unpause('pausable');
    const d = await client.schedules.describe('pausable');
    expect(d.paused).toBe(false);
    expect(d.nextFireTimes[0].getTime()).toBeGreaterThan(await dbNowMs(ctx.db));
    expect((await fireDue(ctx.db)).filter((o) => o.scheduleId === 'pausable')).toEqual([]);
    expect(await scheduleExecutions(ctx.db, 'pausable')).toEqual([]);
  });

  test('trigger fires now under the overlap policy (or the one given), also while paused', async () => {
    const waiter = defineWorkflow({ name: 'sched-waiter' }, async (wctx) => wctx.waitForSignal('go'));
    await client.schedules.create({ id: 'trig', workflow: waiter, every: '1h', paused: true });
    const t0 = await dbNowMs(ctx.db);
    const first = await client.schedules.trigger('trig');
    expect(first.started).toHaveLength(1);
    expect(new Date(first.started[0].slice('trig:'.length)).getTime()).toBeGreaterThanOrEqual(t0);
    await drive(ctx.db, [waiter]);
    expect(await client.schedules.trigger('trig')).toMatchObject({ started: [], skipped: 1 }); // skip: the first still waits
    const forced = await client.schedules.trigger('trig', { overlap: 'allow_all' });
    expect(forced.started).toHaveLength(1);
    await expect(client.schedules.trigger('trig', { overlap: 'sometimes' as never })).rejects.toMatchObject({ field: 'overlap' });
    await expect(client.schedules.trigger('nope')).rejects.toBeInstanceOf(ScheduleNotFoundError);
    for (const id of [...first.started, ...forced.started]) await client.getHandle(id).cancel();
  });

  test('backfill starts one execution per fire time in [from, to) and never twice', async () => {
    await client.schedules.create({ id: 'bf', workflow: echo, every: '1h', overlap: 'allow_all' });
    const now = await dbNowMs(ctx.db);
    const from = new Date(Math.floor(now / HOUR) * HOUR - 3 * HOUR);
    const to = new Date(from.getTime() + 3 * HOUR);
    const r = await client.schedules.backfill('bf', from, to);
    expect(r.started).toEqual([0, 1, 2].map((i) => `bf:${new Date(from.getTime() + i * HOUR).toISOString()}`));
    const again = await client.schedules.backfill('bf', new Date(from.getTime() - 1), to);
    expect(again).toMatchObject({ started: [], alreadyFired: r.started });
    const before = await count('workflow_executions');
    await expect(client.schedules.backfill('bf', to, from)).rejects.toMatchObject({ field: 'to' });
    await expect(client.schedules.backfill('bf', from, new Date(now + HOUR))).rejects.toMatchObject({ field: 'to' });
    await client.schedules.update('bf', { every: '1s' });
    await expect(client.schedules.backfill('bf', new Date(now - 2 * HOUR), new Date(now - HOUR))).rejects.toThrow(/more than 1000/);
    expect(await count('workflow_executions')).toBe(before);
    await drive(ctx.db, [echo]);
    expect((await client.schedules.describe('bf')).recentRuns.map((x) => x.status)).toEqual(['completed', 'completed', 'completed']);
  });

  test('update changes the rule and the policy; delete removes the schedule and leaves its executions', async () => {
    await client.schedules.create({ id: 'upd', workflow: echo, every: '1h' });
    const d = await client.schedules.update('upd', { cron: '0 12 * * *', timezone: 'America/New_York', overlap: 'buffer_one', input: [1, 2] });
    expect(d).toMatchObject({ cron: '0 12 * * *', everyMs: null, timezone: 'America/New_York', overlap: 'buffer_one', input: [1, 2] });
    expect(d.nextFireTimes[0].getUTCHours() === 16 || d.nextFireTimes[0].getUTCHours() === 17).toBe(true);
    await client.schedules.trigger('upd');
    const runs = await scheduleExecutions(ctx.db, 'upd');
    await client.schedules.delete('upd');
    await expect(client.schedules.describe('upd')).rejects.toBeInstanceOf(ScheduleNotFoundError);
    await expect(client.schedules.delete('upd')).rejects.toBeInstanceOf(ScheduleNotFoundError);
    await expect(client.schedules.update('upd', { paused: true })).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expect(await scheduleExecutions(ctx.db, 'upd')).toEqual(runs);
    await expect(client.schedules.update('hourly', { id: 'x' } as never)).rejects.toBeInstanceOf(ValidationError);
  });

  test('a stored rule that no longer evaluates parks its schedule and does not hold up the others', async () => {
    await client.schedules.create({ id: 'broken', workflow: echo, cron: '0 * * * *' });
    await client.schedules.create({ id: 'healthy', workflow: echo, every: '1h' });
    await makeScheduleDue(ctx.db, 'broken', 2000);
    const fire = await makeScheduleDue(ctx.db, 'healthy', 1000);
    await ctx.db.sql.run("UPDATE workflow_schedules SET timezone = 'Nowhere/Gone' WHERE id = 'broken'");
    const outcomes = await fireDue(ctx.db);
    expect(outcomes.find((o) => o.scheduleId === 'healthy')?.started).toEqual([`healthy:${fire.toISOString()}`]);
    expect(outcomes.find((o) => o.scheduleId === 'broken')).toMatchObject({ started: [], parked: expect.stringMatching(/Nowhere\/Gone/) });
    expect((await ctx.db.sql.all("SELECT due_at FROM workflow_schedules WHERE id = 'broken'"))[0]).toEqual({ due_at: null });
    await ctx.db.sql.run("UPDATE workflow_schedules SET timezone = 'UTC' WHERE id = 'broken'");
    await client.schedules.update('broken', { cron: '0 * * * *' }); // an update re-arms it
    expect((await client.schedules.describe('broken')).nextFireTimes).toHaveLength(5);
    await client.schedules.delete('broken');
    await client.schedules.delete('healthy');
  });

  test("a runner's ticker fires an every-second schedule on its own, one execution per second", async () => {
    const tick = defineWorkflow({ name: 'sched-tick' }, async () => 'ok');
    const runner = await createRunner({ db: ctx.db, workflows: [tick], logger: silentLogger(), pollInterval: '50ms', scheduleCheckInterval: '100ms' });
    await runner.start();
    try {
      await client.schedules.create({ id: 'ticker', workflow: tick, every: '1s', overlap: 'allow_all' });
      await waitFor(async () => (await scheduleExecutions(ctx.db, 'ticker')).filter((e) => e.status === 'completed').length >= 2, { timeoutMs: 15_000, what: 'two fires' });
    } finally {
      await client.schedules.pause('ticker');
      await runner.shutdown();
    }
    const times = (await scheduleExecutions(ctx.db, 'ticker')).map((e) => new Date(e.id.slice('ticker:'.length)).getTime());
    times.forEach((t, i) => { expect(t % 1000).toBe(0); if (i > 0) expect(t - times[i - 1]).toBe(1000); });
  });
});
