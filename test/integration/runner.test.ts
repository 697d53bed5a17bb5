/**
 * The runner in-process: claims only what it serves, runs to completion, nudged by local
 * starts, heartbeats its leases, hands executions back on shutdown, validates options.
 */
import { describeEachDb } from '../helpers/db';
import { createClient, createRunner, defineWorkflow, silentLogger, type Client, type Runner } from '../../engine';

describeEachDb(__filename, 'runner', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());

  const add = defineWorkflow({ name: 'add' }, async (wctx, input: { a: number; b: number }) => {
    const s = await wctx.step('sum', async () => input.a + input.b);
    await wctx.sleep('tiny', '20ms');
    return wctx.step('double', async () => s * 2);
  });
  const other = defineWorkflow({ name: 'not-served' }, async () => 'never');

  async function withRunner<T>(opts: Partial<Parameters<typeof createRunner>[0]>, fn: (r: Runner) => Promise<T>): Promise<T> {
    const runner = await createRunner({ db: ctx.db, workflows: [add], logger: silentLogger(), concurrency: 8, pollInterval: '50ms', leaseTtl: '3s', ...opts });
    await runner.start();
    try { return await fn(runner); } finally { await runner.shutdown(); }
  }

  test('runs submitted executions to completion and never claims unserved workflows', async () => {
    await withRunner({}, async (runner) => {
      const claimed: string[] = [];
      runner.on('execution:claimed', (e) => claimed.push(e.workflow));
      const handles = await Promise.all(Array.from({ length: 30 }, (_, i) => client.start(add, { a: i, b: 1 })));
      const stray = await client.start(other, undefined, { id: 'stray-1' });
      const results = await Promise.all(handles.map((h) => h.result({ timeout: '30s' })));
      expect(results).toEqual(Array.from({ length: 30 }, (_, i) => (i + 1) * 2));
      expect(claimed.every((w) => w === 'add')).toBe(true);
      const d = await stray.describe();
      expect(d.status).toBe('queued');
      expect(d.attempts).toBe(0);
      expect(d.servedByLiveRunner).toBe(false);
    });
  });

  test('a throwing event listener does not break the runner', async () => {
    await withRunner({}, async (runner) => {
      runner.on('execution:claimed', () => { throw new Error('listener bug'); });
      const h = await client.start(add, { a: 1, b: 1 });
      expect(await h.result({ timeout: '20s' })).toBe(4);
    });
  });

  test('graceful shutdown hands running executions back at once', async () => {
    const slow = defineWorkflow({ name: 'slow-handoff' }, async (wctx) => {
      await wctx.step('one', async () => new Promise((r) => setTimeout(r, 300)));
      await wctx.step('two', async () => new Promise((r) => setTimeout(r, 5000)));
      return 'done';
    });
    const runner = await createRunner({ db: ctx.db, workflows: [slow], logger: silentLogger(), pollInterval: '20ms', leaseTtl: '60s', drainTimeout: '100ms' });
    await runner.start();
    const h = await client.start(slow, undefined, { id: 'handoff-1' });
    await new Promise<void>((r) => runner.once('execution:claimed', () => r()));
    const released: string[] = [];
    runner.on('execution:released', (e) => released.push(e.executionId));
    await runner.shutdown();
    expect(released).toEqual(['handoff-1']);
    const d = await h.describe();
    expect(d.status).toBe('queued'); // back in the queue, no TTL wait
    expect(d.leaseHolder).toBeNull();
    const locks = await ctx.db.sql.all('SELECT * FROM distributed_locks WHERE lock_key = ?', ['workflow_execution:handoff-1']);
    expect(locks).toHaveLength(0);
  });

  test('a runner runs a continue-as-new chain to its end, emitting execution:continued per hand-over', async () => {
    const loop = defineWorkflow({ name: 'loop-runner' }, async (wctx, n: number) => {
      await wctx.step('work', async () => n);
      return n > 0 ? wctx.continueAsNew(n - 1) : 'looped';
    });
    await withRunner({ workflows: [loop] }, async (runner) => {
      const continued: string[] = [];
      runner.on('execution:continued', (e) => continued.push(e.runId));
      const h = await client.start(loop, 3, { id: 'loop-runner-1' });
      expect(await h.result({ timeout: '30s' })).toBe('looped');
      expect(continued).toHaveLength(3);
      expect((await h.describe()).runId).toBe(continued[2]);
    });
  });

  test('options are validated with errors that name the option', async () => {
    await expect(createRunner({ db: ctx.db, workflows: [] })).rejects.toMatchObject({ code: 'VALIDATION', field: 'workflows' });
    await expect(createRunner({ db: ctx.db, workflows: [add], concurrency: 0 })).rejects.toMatchObject({ field: 'concurrency' });
    await expect(createRunner({ db: ctx.db, workflows: [add], leaseTtl: 'soon' })).rejects.toMatchObject({ field: 'leaseTtl' });
    await expect(createRunner({ db: ctx.db, workflows: [add], leaseTtl: '3s', heartbeatInterval: '5s' })).rejects.toMatchObject({ field: 'heartbeatInterval' });
  });
});
