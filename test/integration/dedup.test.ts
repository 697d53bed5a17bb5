/**
 * Deduplication windows: starts of a workflow whose dedup key (computed from the input) was
 * started within the window return that execution — also for 16 starters racing on their own
 * connections; after the window a start runs anew; keys and workflows are separate; a bad key is
 * a typed error that writes nothing.
 */
import { describeEachDb } from '../helpers/db';
import { drive } from '../helpers/engine';
import { createClient, defineWorkflow, ValidationError, type Client } from '../../engine';
import { raceStarts } from '../helpers/racers';

describeEachDb(__filename, 'dedup windows', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());

  const notify = defineWorkflow({ name: 'dedup-notify', dedup: { key: (i: { user: string; n: number }) => i.user, window: '1h' } },
    async (_wctx, input: { user: string; n: number }) => input.n);
  const count = async (where = '1 = 1', params: unknown[] = []) =>
    Number((await ctx.db.sql.all<{ n: unknown }>(`SELECT COUNT(*) AS n FROM workflow_executions WHERE ${where}`, params))[0].n);

  test('16 starters racing on their own connections with one key get one execution, which runs with its own input', async () => {
    const started = await raceStarts(ctx.url, notify, 16, (i) => ({ user: 'u-race', n: i }));
    expect(new Set(started.map((h) => h.executionId)).size).toBe(1);
    expect(await count("workflow_name = 'dedup-notify'")).toBe(1);
    await drive(ctx.db, [notify]);
    const h = client.getHandle(started[0].executionId);
    const n = await h.result({ timeout: '10s' });
    expect((await h.describe()).input).toEqual({ user: 'u-race', n });
  });

  test('after the window a start runs anew; other keys and explicit ids behave as usual', async () => {
    const a = await client.start(notify, { user: 'u-1', n: 1 });
    expect((await client.start(notify, { user: 'u-1', n: 2 })).executionId).toBe(a.executionId);
    const b = await client.start(notify, { user: 'u-2', n: 1 });
    expect(b.executionId).not.toBe(a.executionId);
    await ctx.db.sql.run(`UPDATE workflow_dedup_keys SET expires_at = ${ctx.db.sql.mysql ? 'UTC_TIMESTAMP(6) - INTERVAL 1 SECOND' : `${ctx.db.sql.now} - 1000`} WHERE dedup_key = 'u-1'`);
    const c = await client.start(notify, { user: 'u-1', n: 3 });
    expect(c.executionId).not.toBe(a.executionId);
    expect((await client.start(notify, { user: 'u-1', n: 4 })).executionId).toBe(c.executionId);
    // The same explicit id twice inside the window: idempotent as ever.
    const d1 = await client.start(notify, { user: 'u-3', n: 1 }, { id: 'dedup-explicit' });
    const d2 = await client.start(notify, { user: 'u-3', n: 1 }, { id: 'dedup-explicit' });
    expect([d1.executionId, d2.executionId]).toEqual(['dedup-explicit', 'dedup-explicit']);
  });

  test('a bad key or window is a typed error and writes nothing', async () => {
    const bad = defineWorkflow({ name: 'dedup-bad', dedup: { key: (i: { k: unknown }) => i.k as string, window: '1m' } }, async () => 1);
    const before = await count();
    const keysBefore = Number((await ctx.db.sql.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM workflow_dedup_keys'))[0].n);
    await expect(client.start(bad, { k: 42 })).rejects.toMatchObject({ code: 'VALIDATION', field: 'dedup.key' });
    await expect(client.start(bad, { k: '' })).rejects.toBeInstanceOf(ValidationError);
    await expect(client.start(bad, { k: 'x'.repeat(256) })).rejects.toBeInstanceOf(ValidationError);
    expect(await count()).toBe(before);
    expect(Number((await ctx.db.sql.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM workflow_dedup_keys'))[0].n)).toBe(keysBefore);
    expect(() => defineWorkflow({ name: 'x', dedup: { key: () => 'k', window: 'soon' } }, async () => 1)).toThrow(expect.objectContaining({ field: 'dedup.window' }));
    expect(() => defineWorkflow({ name: 'x', dedup: { key: 'k' as never, window: '1m' } }, async () => 1)).toThrow(expect.objectContaining({ field: 'dedup.key' }));
  });
});
