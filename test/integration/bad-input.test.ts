/**
 * Bad input gets a clear, typed error and writes nothing; values round-trip exactly where
 * JSON allows (undefined vs null), and documented conversions (Dates) hold.
 */
import { describeEachDb } from '../helpers/db';
import { drive } from '../helpers/engine';
import { createClient, defineWorkflow, SerializationError, ValidationError, type Client } from '../../engine';

describeEachDb(__filename, 'bad input', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db, payloadLimitBytes: 64 * 1024 }); });
  afterAll(async () => client.close());

  const echo = defineWorkflow({ name: 'echo' }, async (_ctx, input: unknown) => input);
  const count = async () => Number((await ctx.db.sql.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM workflow_executions'))[0].n);

  test.each([
    ['a function', { f: () => 1 }, 'input of workflow "echo" is not JSON-serializable: $.f is a function'],
    ['a bigint', { n: BigInt(1) }, '$.n is a bigint'],
    ['a Map', { m: new Map() }, '$.m is a Map'],
    ['NaN', [1, Number.NaN], '$[1] is NaN'],
    ['a cycle', (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })(), '$.self contains a circular reference'],
  ])('an input holding %s is rejected with SerializationError and nothing is written', async (_what, input, message) => {
    const before = await count();
    const err = await client.start(echo, input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as Error).message).toContain(message);
    expect(await count()).toBe(before);
  });

  test('an input over the size limit is rejected and nothing is written', async () => {
    const before = await count();
    await expect(client.start(echo, 'x'.repeat(70 * 1024))).rejects.toThrow(/over the limit of 65536 bytes/);
    expect(await count()).toBe(before);
  });

  test('malformed durations, over-long ids and bad names are rejected before any write', async () => {
    const before = await count();
    await expect(client.start(echo, 1, { delay: 'soon' })).rejects.toMatchObject({ code: 'VALIDATION', field: 'delay' });
    await expect(client.start(echo, 1, { id: 'x'.repeat(181) })).rejects.toBeInstanceOf(ValidationError);
    await expect(client.start(echo, 1, { id: '' })).rejects.toBeInstanceOf(ValidationError);
    await expect(client.start('', 1)).rejects.toBeInstanceOf(ValidationError);
    await expect(client.start(echo, 1, { idReusePolicy: 'sometimes' as never })).rejects.toMatchObject({ field: 'idReusePolicy' });
    expect(await count()).toBe(before);
    expect(() => defineWorkflow({ name: 'bad', version: 0 }, async () => 1)).toThrow(ValidationError);
    expect(() => defineWorkflow({ name: 'bad', template: { limit: 0 } }, async () => 1)).toThrow(/template.limit/);
    expect(() => defineWorkflow({ name: 'bad', retry: { maxAttempts: 0 } }, async () => 1)).toThrow(/maxAttempts/);
  });

  test('an id of exactly 180 characters (emoji count as one) is accepted', async () => {
    const id = '😀'.repeat(180);
    const h = await client.start(echo, 'ok', { id });
    expect((await h.describe()).id).toBe(id);
  });

  test('an unknown workflow name is stored, never claimed, and visible in describe()', async () => {
    const h = await client.start('no-such-workflow', { a: 1 }, { id: 'unknown-1' });
    await drive(ctx.db, [echo]);
    const d = await h.describe();
    expect(d).toMatchObject({ status: 'queued', attempts: 0, servedByLiveRunner: false, workflowName: 'no-such-workflow' });
  });

  test('undefined and null round-trip exactly through steps, inputs and outputs; Dates become ISO strings', async () => {
    const values = defineWorkflow({ name: 'values' }, async (wctx, input: { n: null }) => {
      const u = await wctx.step('undef', async () => undefined);
      const n = await wctx.step('null', async () => null);
      const d = await wctx.step('date', async () => new Date('2026-01-02T03:04:05.678Z'));
      const nested = await wctx.step('nested', async () => ({ a: undefined, b: null, c: [undefined] }));
      return { u: u === undefined, n: n === null, input: input.n === null, d, nested };
    });
    const undefOut = defineWorkflow({ name: 'undef-out' }, async () => undefined);
    const h = await client.start(values, { n: null });
    const h2 = await client.start(undefOut, undefined);
    await drive(ctx.db, [values, undefOut]);
    expect(await h.result()).toEqual({ u: true, n: true, input: true, d: '2026-01-02T03:04:05.678Z', nested: { b: null, c: [null] } });
    expect(await h2.result()).toBeUndefined();
    const hist = await h.history();
    expect(hist.find((e) => e.name === 'undef')!.value).toBeUndefined();
    expect(hist.find((e) => e.name === 'null')!.value).toBeNull();
  });

  test('workflow code that throws a non-Error fails with a clear recorded error', async () => {
    const throwsString = defineWorkflow({ name: 'throws-string' }, async () => { throw 'just a string'; }); // eslint-disable-line no-throw-literal
    const throwsObject = defineWorkflow({ name: 'throws-object' }, async () => { throw { code: 42 }; }); // eslint-disable-line no-throw-literal
    const h1 = await client.start(throwsString, undefined);
    const h2 = await client.start(throwsObject, undefined);
    await drive(ctx.db, [throwsString, throwsObject]);
    await expect(h1.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ name: 'NonErrorThrown', message: 'workflow code threw a non-Error value: "just a string"' }) });
    await expect(h2.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ name: 'NonErrorThrown', message: 'workflow code threw a non-Error value: {"code":42}' }) });
  });

  test('a step result that is not serializable fails the step without retries; an oversized output fails the workflow', async () => {
    let runs = 0;
    const badStep = defineWorkflow({ name: 'bad-step' }, async (wctx) => {
      try {
        await wctx.step('fn', async () => { runs++; return { f: () => 1 } as unknown; }, { retry: { maxAttempts: 5, initialInterval: '1ms' } });
      } catch (err) {
        return { name: (err as Error).name, message: (err as Error).message };
      }
    });
    const bigOut = defineWorkflow({ name: 'big-out' }, async () => 'y'.repeat(3 * 1024 * 1024));
    const h1 = await client.start(badStep, undefined);
    const h2 = await client.start(bigOut, undefined);
    await drive(ctx.db, [badStep, bigOut]);
    expect(await h1.result()).toEqual({ name: 'SerializationError', message: 'result of step "fn" is not JSON-serializable: $.f is a function, which JSON cannot represent' });
    expect(runs).toBe(1);
    await expect(h2.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ name: 'SerializationError' }) });
  });

  test('a malformed duration inside workflow code fails the workflow with a ValidationError', async () => {
    const badSleep = defineWorkflow({ name: 'bad-sleep' }, async (wctx) => { await wctx.sleep('nap', 'a while'); });
    const h = await client.start(badSleep, undefined);
    await drive(ctx.db, [badSleep]);
    await expect(h.result()).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ name: 'ValidationError', message: expect.stringContaining('"a while" is not a duration') }) });
  });

  test('signals: unknown execution and bad payloads are rejected clearly', async () => {
    await expect(client.getHandle('nobody').signal('x', 1)).rejects.toMatchObject({ code: 'EXECUTION_NOT_FOUND' });
    const h = await client.start(echo, 1, { id: 'sig-target', delay: '1h' });
    await expect(h.signal('x', { f: () => 1 })).rejects.toBeInstanceOf(SerializationError);
    await expect(h.signal('', 1)).rejects.toBeInstanceOf(ValidationError);
    expect((await h.describe()).pendingSignals).toBe(0);
  });

  test('list paginates with a cursor and filters by status and workflow', async () => {
    for (let i = 0; i < 7; i++) await client.start(echo, i, { id: `page-${i}` });
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.list({ workflow: 'echo', status: 'queued', limit: 3, cursor });
      seen.push(...page.executions.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.filter((id) => id.startsWith('page-')).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `page-${i}`));
    expect(new Set(seen).size).toBe(seen.length);
    await expect(client.list({ cursor: 'garbage' })).rejects.toMatchObject({ field: 'cursor' });
    await expect(client.list({ limit: 0 })).rejects.toMatchObject({ field: 'limit' });
  });
});
