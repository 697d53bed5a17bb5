/**
 * Trailing debounce: starts with one key collect into ONE execution that runs a window after the
 * last of them with the last input — also for 16 starters racing on their own connections; once a
 * runner claimed it, the next start makes a new execution; a bad key writes nothing.
 */
import { describeEachDb } from '../helpers/db';
import { drive, makeDue } from '../helpers/engine';
import { dbNowMs } from '../helpers/processes';
import { createClient, defineWorkflow, type Client } from '../../engine';
import { raceStarts } from '../helpers/racers';

describeEachDb(__filename, 'debounce', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());

  const reindex = defineWorkflow({ name: 'debounce-reindex', debounce: { key: (i: { doc: string; v: number }) => i.doc, window: '1h' } },
    async (_wctx, input: { doc: string; v: number }) => input.v);
  const count = async (where: string, params: unknown[] = []) =>
    Number((await ctx.db.sql.all<{ n: unknown }>(`SELECT COUNT(*) AS n FROM workflow_executions WHERE ${where}`, params))[0].n);

  test('a burst becomes one execution with the last input, due a window after the last start', async () => {
    const a = await client.start(reindex, { doc: 'd-1', v: 1 });
    const b = await client.start(reindex, { doc: 'd-1', v: 2 });
    const before = await dbNowMs(ctx.db);
    const c = await client.start(reindex, { doc: 'd-1', v: 3 });
    expect(new Set([a.executionId, b.executionId, c.executionId]).size).toBe(1);
    const d = await c.describe();
    expect(d).toMatchObject({ status: 'queued', input: { doc: 'd-1', v: 3 } });
    expect(d.availableAt!.getTime()).toBeGreaterThanOrEqual(before + 3_600_000 - 5);
    expect((await client.start(reindex, { doc: 'd-2', v: 9 })).executionId).not.toBe(a.executionId); // another key
    await makeDue(ctx.db, a.executionId);
    await drive(ctx.db, [reindex]);
    expect(await a.result({ timeout: '10s' })).toBe(3);
    // It ran: the next start of the key is a new execution.
    const next = await client.start(reindex, { doc: 'd-1', v: 4 });
    expect(next.executionId).not.toBe(a.executionId);
    expect((await next.describe()).input).toEqual({ doc: 'd-1', v: 4 });
  });

  test('16 starters racing on their own connections with one key leave one execution holding one of their inputs', async () => {
    const started = await raceStarts(ctx.url, reindex, 16, (i) => ({ doc: 'd-race', v: i }));
    expect(new Set(started.map((h) => h.executionId)).size).toBe(1);
    expect(await count("workflow_name = 'debounce-reindex' AND input LIKE ?", ['%d-race%'])).toBe(1);
    const { input } = await client.getHandle(started[0].executionId).describe();
    expect((input as { v: number }).v).toBeGreaterThanOrEqual(0);
  });

  test('a bad key writes nothing; dedup and debounce together are refused', async () => {
    const before = await count('1 = 1');
    await expect(client.start(reindex, { doc: '', v: 1 })).rejects.toMatchObject({ code: 'VALIDATION', field: 'debounce.key' });
    expect(await count('1 = 1')).toBe(before);
    expect(() => defineWorkflow({ name: 'x', dedup: { key: () => 'k', window: '1m' }, debounce: { key: () => 'k', window: '1m' } }, async () => 1))
      .toThrow(expect.objectContaining({ field: 'debounce' }));
    expect(() => defineWorkflow({ name: 'x', debounce: { key: () => 'k', window: '0ms' } }, async () => 1)).toThrow(expect.objectContaining({ field: 'debounce.window' }));
  });
});
