/**
 * Replay testing for users, on both dialects: `replayHistory` replays a stored history (from the
 * store or from `leaseflow show --json`) against the current code in-process, reports the first
 * divergence with its position and both names, runs no step body, and writes nothing.
 */
import { describeEachDb } from '../helpers/db';
import { drive } from '../helpers/engine';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { createClient, type Client } from '../../engine/client/client';
import { ValidationError } from '../../engine/errors';
import { replayHistory } from '../../testing';
import { runCli } from '../../runner/cli';
import type { Io } from '../../runner/commands/command';
import type { Database } from '../../engine/store/database';

let bodies = 0;
const body = <T>(v: T) => async () => { bodies++; return v; };

const order = defineWorkflow({ name: 'rh-order' }, async (ctx, n: number) => {
  const a = await ctx.step('reserve', body(n));
  const b = await ctx.step('charge', body(n * 2));
  const c = await ctx.step('ship', body(n * 3));
  return a + b + c;
});
const renamed = defineWorkflow({ name: 'rh-order' }, async (ctx, n: number) => {
  const a = await ctx.step('reserve', body(n));
  const b = await ctx.step('bill', body(n * 2));
  return a + b;
});
const inserted = defineWorkflow({ name: 'rh-order' }, async (ctx, n: number) => {
  const a = await ctx.step('reserve', body(n));
  await ctx.step('audit', body(0));
  const b = await ctx.step('charge', body(n * 2));
  const c = await ctx.step('ship', body(n * 3));
  return a + b + c;
});
const appended = defineWorkflow({ name: 'rh-order' }, async (ctx, n: number) => {
  const a = await ctx.step('reserve', body(n));
  const b = await ctx.step('charge', body(n * 2));
  const c = await ctx.step('ship', body(n * 3));
  await ctx.step('notify', body(0));
  return a + b + c;
});

const square = defineWorkflow({ name: 'rh-square' }, async (ctx, x: number) => ctx.step('sq', body(x * x)));
const fan = defineWorkflow({ name: 'rh-fan' }, async (ctx, xs: number[]) => {
  const [steps, kids] = await Promise.all([
    Promise.all(xs.map((x) => ctx.step(`s${x}`, body(x)))),
    Promise.all(xs.map((x) => ctx.child(square, x))),
    ctx.sleep('nap', '20ms'),
  ]);
  const first = await Promise.race([ctx.step('fast', body('fast')), ctx.sleep('slow', '1h').then(() => 'slow')]);
  return { steps, kids, first };
});
const racer = defineWorkflow({ name: 'rh-racer' }, async (ctx) => {
  const seen: string[] = [];
  await Promise.all([
    ctx.step('slow', async () => { await new Promise((r) => setTimeout(r, 100)); return 'slow'; }).then((v) => seen.push(v)),
    ctx.step('quick', async () => 'quick').then((v) => seen.push(v)),
  ]);
  return ctx.step(`after-${seen[0]}`, body(seen[0]));
});
const waiter = defineWorkflow({ name: 'rh-wait' }, async (ctx) => {
  await ctx.step('before', body(1));
  const v = await ctx.waitForSignal<string>('go');
  return ctx.step('after', body(v));
});

async function showJson(url: string, id: string): Promise<string> {
  let out = '';
  const io: Io = { out: (t) => { out += t; }, err: () => undefined, env: {}, isTTY: false, readStdin: async () => '' };
  expect(await runCli(['--db', url, 'show', id, '--json'], io)).toBe(0);
  return out;
}

async function footprint(db: Database): Promise<unknown> {
  const ev = await db.sql.all<{ n: number }>('SELECT COUNT(*) AS n FROM workflow_events');
  const ex = await db.sql.all<{ id: string; status: string; updated_at: unknown; next_seq: number }>('SELECT id, status, updated_at, next_seq FROM workflow_executions ORDER BY id');
  const locks = await db.sql.all<{ n: number }>('SELECT COUNT(*) AS n FROM distributed_locks');
  return { events: Number(ev[0].n), locks: Number(locks[0].n), executions: ex.map((r) => ({ ...r, updated_at: String(r.updated_at) })) };
}

describeEachDb(__filename, 'replay testing (replayHistory)', (ctx) => {
  let client: Client;
  beforeAll(async () => {
    client = await createClient({ db: ctx.db });
    const h = await client.start(order, 5, { id: 'rh-1' });
    await drive(ctx.db, [order]);
    expect(await h.result({ timeout: '10s' })).toBe(30);
  });
  afterAll(async () => client.close());

  test('a completed workflow replays ok from the store and from show --json, running no step body', async () => {
    bodies = 0;
    const fromDb = await replayHistory(order, { db: ctx.db, executionId: 'rh-1' });
    expect(fromDb).toEqual({ ok: true, replayedEvents: 3, status: 'completed', outcome: { ok: true, value: 30 } });
    const fromJson = await replayHistory(order, await showJson(ctx.url, 'rh-1'));
    expect(fromJson).toEqual(fromDb);
    expect(bodies).toBe(0);
  });

  test('a renamed step is reported as a divergence at its position with both names', async () => {
    bodies = 0;
    const res = await replayHistory(renamed, { db: ctx.db, executionId: 'rh-1' });
    expect(res).toMatchObject({ ok: false, divergence: { seq: 1, expected: { kind: 'step', name: 'charge' }, actual: { kind: 'step', name: 'bill' } } });
    expect(res.ok ? '' : res.divergence.message).toMatch(/position 1/);
    expect(bodies).toBe(0);
  });

  test('an inserted step is reported at the position it took, from show --json too', async () => {
    const res = await replayHistory(inserted, JSON.parse(await showJson(ctx.url, 'rh-1')));
    expect(res).toMatchObject({ ok: false, divergence: { seq: 1, expected: { kind: 'step', name: 'charge' }, actual: { kind: 'step', name: 'audit' } } });
  });

  test('code that goes on past the end of a finished history diverges there, without running the new step', async () => {
    bodies = 0;
    const res = await replayHistory(appended, { db: ctx.db, executionId: 'rh-1' });
    expect(res).toMatchObject({ ok: false, divergence: { seq: 3, expected: { kind: 'end', name: 'completed' }, actual: { kind: 'step', name: 'notify' } } });
    expect(bodies).toBe(0);
  });

  test('a concurrent workflow (Promise.all of steps, children and a timer, then a race) replays ok', async () => {
    const h = await client.start(fan, [1, 2, 3], { id: 'rh-fan' });
    await drive(ctx.db, [fan, square]);
    const out = await h.result({ timeout: '10s' });
    expect(out).toEqual({ steps: [1, 2, 3], kids: [1, 4, 9], first: 'fast' });
    bodies = 0;
    const res = await replayHistory(fan, { db: ctx.db, executionId: 'rh-fan' });
    expect(res).toMatchObject({ ok: true, status: 'completed', outcome: { ok: true, value: out } });
    expect(await replayHistory(fan, await showJson(ctx.url, 'rh-fan'))).toMatchObject({ ok: true, status: 'completed', outcome: { ok: true, value: out } });
    expect(bodies).toBe(0);
  });

  test('concurrent steps finishing out of position order replay in the recorded order from show --json', async () => {
    const h = await client.start(racer, undefined, { id: 'rh-racer' });
    await drive(ctx.db, [racer]);
    expect(await h.result({ timeout: '10s' })).toBe('quick');
    const json = JSON.parse(await showJson(ctx.url, 'rh-racer')) as { execution: unknown; history: { name: string; order: number | null }[] };
    expect(json.history.find((e) => e.name === 'quick')?.order).toBeLessThan(json.history.find((e) => e.name === 'slow')?.order as number);
    expect(await replayHistory(racer, json)).toMatchObject({ ok: true, status: 'completed', outcome: { ok: true, value: 'quick' } });
    expect(await replayHistory(racer, { db: ctx.db, executionId: 'rh-racer' })).toMatchObject({ ok: true, status: 'completed', outcome: { ok: true, value: 'quick' } });
  });

  test('a waiting execution replays to the end of its history and stops there (incomplete), running nothing', async () => {
    await client.start(waiter, undefined, { id: 'rh-wait' });
    await drive(ctx.db, [waiter]);
    expect((await client.getHandle('rh-wait').describe()).status).toBe('waiting');
    await client.getHandle('rh-wait').signal('go', 'now');
    bodies = 0;
    const res = await replayHistory(waiter, { db: ctx.db, executionId: 'rh-wait' });
    expect(res).toMatchObject({ ok: true, status: 'incomplete', replayedEvents: 1, next: { seq: 1, kind: 'signal', name: 'go' } });
    expect(bodies).toBe(0);
  });

  test('replay writes nothing: rows, next positions, leases and updated_at are unchanged', async () => {
    const before = await footprint(ctx.db);
    await replayHistory(order, { db: ctx.db, executionId: 'rh-1' });
    await replayHistory(renamed, { db: ctx.db, executionId: 'rh-1' });
    await replayHistory(appended, { db: ctx.db, executionId: 'rh-1' });
    await replayHistory(fan, { db: ctx.db, executionId: 'rh-fan' });
    await replayHistory(waiter, { db: ctx.db, executionId: 'rh-wait' });
    expect(await footprint(ctx.db)).toEqual(before);
  });

  test('malformed input is a ValidationError naming what is wrong', async () => {
    await expect(replayHistory(order, '{not json')).rejects.toThrow(ValidationError);
    await expect(replayHistory(order, { execution: { id: 'x', workflowName: 'rh-order' }, history: [{ seq: -1, kind: 'step', name: 'a', status: 'completed' }] }))
      .rejects.toThrow(/history\[0\]\.seq/);
    await expect(replayHistory(order, { db: ctx.db, executionId: 'no-such' })).rejects.toThrow(ValidationError);
    await expect(replayHistory(square, { db: ctx.db, executionId: 'rh-1' })).rejects.toThrow(/"rh-order", not "rh-square"/);
  });
});
