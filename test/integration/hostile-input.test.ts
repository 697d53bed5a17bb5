/**
 * Hostile input (issue 8, items 3 and 5): what passes validation must fit the database, and
 * every id and name must round-trip exactly. Rejected input gets a typed error and writes
 * nothing; accepted input (4-byte emoji, trailing spaces, escaped-heavy names) reads back the
 * same, on SQLite and on MariaDB/MySQL.
 */
import { describeEachDb } from '../helpers/db';
import { drive } from '../helpers/engine';
import { claimExecutions } from '../../engine/store/claims';
import { createClient, defineWorkflow, DistributedLockManager, SerializationError, ValidationError, type Client } from '../../engine';

const BAD_TEXT: [string, string][] = [
  ['a NUL', 'q\0nul'],
  ['a lone high surrogate', 'x\uD800'],
  ['a lone low surrogate', 'x\uDC00'],
  ['half an emoji', 'e' + '😀'[0]],
];

describeEachDb(__filename, 'hostile input', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());
  const count = async (table = 'workflow_executions') => Number((await ctx.db.sql.all<{ n: unknown }>(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);

  const echo = defineWorkflow({ name: 'hi-echo' }, async (_c, input: unknown) => input);
  const waiter = defineWorkflow({ name: 'hi-waiter' }, async (wctx, name: string) => wctx.waitForSignal<string>(name));
  const stepNamed = defineWorkflow({ name: 'hi-step' }, async (wctx, name: string) => wctx.step(name, async () => name));
  const sleeper = defineWorkflow({ name: 'hi-sleep' }, async (wctx, ms: number) => { await wctx.sleep('nap', ms); return 1; });
  const keyed = defineWorkflow({ name: 'hi-keyed', template: { key: (k: unknown) => k as string } }, async () => 1);
  const parent = defineWorkflow({ name: 'hi-parent' }, async (wctx, key: unknown) => wctx.child(keyed, key));

  test.each(BAD_TEXT)('an execution id, workflow name, signal name or lock key holding %s is rejected with ValidationError and nothing is written', async (_what, text) => {
    const before = await count();
    await expect(client.start(echo, 1, { id: text })).rejects.toBeInstanceOf(ValidationError);
    await expect(client.start(text, 1)).rejects.toBeInstanceOf(ValidationError);
    expect(() => defineWorkflow({ name: text }, async () => 1)).toThrow(ValidationError);
    expect(() => client.getHandle(text)).toThrow(ValidationError);
    await client.start(echo, 1, { id: `hi-sig-${BAD_TEXT.findIndex((b) => b[1] === text)}` });
    await expect(client.getHandle(`hi-sig-${BAD_TEXT.findIndex((b) => b[1] === text)}`).signal(text)).rejects.toBeInstanceOf(ValidationError);
    const locks = new DistributedLockManager(ctx.db);
    await expect(locks.tryLock({ lockKey: text, owner: 'o', ttl: 1000 })).rejects.toBeInstanceOf(ValidationError);
    expect(await count()).toBe(before + 1);
    expect(await count('workflow_signals')).toBe(0);
  });

  test('a step name holding a lone surrogate fails the run with ValidationError and stores no step', async () => {
    const h = await client.start(stepNamed, 'x\uD800', { id: 'hi-step-bad' });
    await drive(ctx.db, [stepNamed]);
    await expect(h.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ code: 'VALIDATION' }) });
    expect((await h.history()).filter((e) => e.kind === 'step')).toEqual([]);
  });

  test('4-byte emoji and trailing spaces round-trip exactly in ids and step names', async () => {
    const ids = ['hi-😀', 'hi-😀 ', 'hi-😀  '];
    for (const id of ids) await client.start(stepNamed, id.slice(3), { id });
    await drive(ctx.db, [stepNamed]);
    for (const id of ids) {
      const h = client.getHandle<string>(id);
      expect(await h.result()).toBe(id.slice(3));
      expect((await h.history()).find((e) => e.kind === 'step')?.name).toBe(id.slice(3));
    }
    const rows = await ctx.db.sql.all<{ id: string }>("SELECT id FROM workflow_executions WHERE id LIKE 'hi-😀%' ORDER BY id");
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
  });

  test.each([
    ['255 backslashes', '\\'.repeat(255)],
    ['255 control characters', '\u0001'.repeat(255)],
    ['255 emoji', '😀'.repeat(255)],
  ])('a signal name of %s fits what the execution stores while it waits, and is delivered', async (_what, name) => {
    const id = `hi-wait-${_what.replace(/\W/g, '')}`;
    const h = await client.start(waiter, name, { id });
    await drive(ctx.db, [waiter]);
    expect((await h.describe()).status).toBe('waiting');
    await h.signal(name, 'ok');
    await drive(ctx.db, [waiter]);
    expect(await h.result()).toBe('ok');
  });

  test.each([
    ['300 characters', 'k'.repeat(300)],
    ['empty', ''],
    ['null', null],
    ['a NUL', 'k\0'],
  ])('a child whose template key is %s fails the parent with ValidationError and inserts no child', async (what, key) => {
    const id = `hi-parent-${what.replace(/\W/g, '')}`;
    const h = await client.start(parent, key, { id });
    await drive(ctx.db, [parent, keyed]);
    await expect(h.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ code: 'VALIDATION' }) });
    expect(await ctx.db.sql.all('SELECT id FROM workflow_executions WHERE parent_id = ?', [id])).toEqual([]);
    // The client applies the same rule to its own starts.
    await expect(client.start(keyed, key)).rejects.toBeInstanceOf(ValidationError);
  });

  test('delays and times beyond the datetime range are rejected with ValidationError, before any write', async () => {
    const before = await count();
    await expect(client.start(echo, 1, { delay: 1e300 })).rejects.toMatchObject({ code: 'VALIDATION', field: 'delay' });
    await expect(client.start(echo, 1, { delay: '99999999d' })).rejects.toMatchObject({ code: 'VALIDATION', field: 'delay' });
    await expect(client.start(echo, 1, { startAt: new Date(8.64e15) })).rejects.toMatchObject({ code: 'VALIDATION', field: 'startAt' });
    expect(await count()).toBe(before);
    const h = await client.start(sleeper, 1e300, { id: 'hi-sleep-huge' });
    await drive(ctx.db, [sleeper]);
    await expect(h.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ code: 'VALIDATION' }) });
  });

  test('toJSON returning undefined or NaN is a SerializationError, not a TypeError or a silent null', async () => {
    const before = await count();
    await expect(client.start(echo, { toJSON: () => undefined })).rejects.toBeInstanceOf(SerializationError);
    await expect(client.start(echo, { a: { toJSON: () => Number.NaN } })).rejects.toBeInstanceOf(SerializationError);
    await expect(client.start(echo, { toJSON: () => ({ n: Number.POSITIVE_INFINITY }) })).rejects.toBeInstanceOf(SerializationError);
    expect(await count()).toBe(before);
    // A toJSON that returns a plain value is still honoured.
    const h = await client.start(echo, { toJSON: () => ({ v: 1 }) }, { id: 'hi-tojson-ok' });
    await drive(ctx.db, [echo]);
    expect(await h.result()).toEqual({ v: 1 });
  });

  test('a claim leases only the rows its UPDATE reached: an id the store cannot address is not run or re-claimed', async () => {
    // Written past validation, as a row from before it (SQLite stops at the NUL when binding it).
    const nul = ctx.db.sql.mysql ? null : "'hi-q' || char(0) || 'nul'";
    if (!nul) return expect(true).toBe(true); // MariaDB/MySQL keep NUL ids exactly; nothing to check there
    await ctx.db.sql.run(
      `INSERT INTO workflow_executions (id, workflow_name, workflow_version, admitted, status, input, available_at, lease_token, next_seq, step_attempt, attempt, created_at, updated_at) ` +
        `VALUES (${nul}, 'hi-echo', 1, 0, 'queued', '1', ${ctx.db.sql.now} - 1000, 0, 0, 0, 0, ${ctx.db.sql.now}, ${ctx.db.sql.now})`);
    const claimed = await claimExecutions(ctx.db.sql, { owner: 'hi-claimer-0000', workflows: ['hi-echo'], limit: 10, leaseTtlMs: 30_000 });
    expect(claimed.filter((e) => e.id.startsWith('hi-q'))).toEqual([]);
    expect(await ctx.db.sql.all("SELECT lock_key FROM distributed_locks WHERE lock_key LIKE 'workflow_execution:hi-q%'")).toEqual([]);
    await ctx.db.sql.run(`DELETE FROM workflow_executions WHERE id = ${nul}`);
  });
});
