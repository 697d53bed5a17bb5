/**
 * Flow control of starts (issue 13), on SQLite and MariaDB/MySQL: priorities (claim order and
 * the starvation bound, on the DB clock), rate limits (GCRA spacing per key, in-process runner;
 * the cross-process test is test/process/rate-limit.test.ts) and bad options.
 */
import { describeEachDb } from '../helpers/db';
import { createClient, createRunner, defineWorkflow, silentLogger, ValidationError } from '../../engine';
import { claimExecutions } from '../../engine/store/claims';
import { waitFor } from '../helpers/processes';
import { runCli } from '../../runner/cli';
import type { Io } from '../../runner/commands/command';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describeEachDb(__filename, 'flow control', (ctx) => {
  const ranked = defineWorkflow({ name: 'fc-ranked', priorityStep: '50ms' }, async () => 1);
  // A 10 s step: the six starts below are made well within one step of each other.
  const ordered = defineWorkflow({ name: 'fc-ordered', priorityStep: '10s' }, async () => 1);
  const paced = defineWorkflow({
    name: 'fc-paced', rateLimit: { limit: 5, period: '500ms', key: (input: { key: string }) => input.key },
  }, async (wctx) => wctx.step('only', async () => 1));

  /** Claim `wf` one at a time until nothing is due; the ids in claim order. */
  async function claimOrder(workflow: string): Promise<string[]> {
    const order: string[] = [];
    for (;;) {
      const [e] = await claimExecutions(ctx.db.sql, { owner: 'fc-claimer-00000000', workflows: [workflow], limit: 1, leaseTtlMs: 30_000 });
      if (!e) return order;
      order.push(e.id);
    }
  }

  test('higher priority is claimed first; equal priorities keep start order', async () => {
    const client = await createClient({ db: ctx.db });
    const plan: [string, number][] = [['p-low-1', 0], ['p-high-1', 5], ['p-mid-1', 2], ['p-low-2', 0], ['p-high-2', 5], ['p-mid-2', 2]];
    for (const [id, priority] of plan) await client.start(ordered, null, { id, priority });
    expect(await claimOrder(ordered.name)).toEqual(['p-high-1', 'p-high-2', 'p-mid-1', 'p-mid-2', 'p-low-1', 'p-low-2']);
    expect((await client.getHandle('p-high-1').describe()).priority).toBe(5);
    expect((await client.getHandle('p-low-1').describe()).priority).toBe(0);
    await client.close();
  });

  test('starvation bound: a priority-0 start is overtaken only by priority-4 starts made less than 4 × 50 ms after it', async () => {
    const client = await createClient({ db: ctx.db });
    await client.start(ranked, null, { id: 's-low', priority: 0 });
    const highs: string[] = [];
    for (let i = 0; i < 16; i++) {
      const id = `s-high-${String(i).padStart(2, '0')}`;
      await client.start(ranked, null, { id, priority: 4 });
      highs.push(id);
      await sleep(40);
    }
    const rows = await ctx.db.sql.all<{ id: string; created_at: unknown }>("SELECT id, created_at FROM workflow_executions WHERE id LIKE 's-%'");
    const created = new Map(rows.map((r) => [String(r.id), (ctx.db.sql.date(r.created_at) as Date).getTime()]));
    const order = await claimOrder(ranked.name);
    const lowAt = order.indexOf('s-low');
    const t0 = created.get('s-low') as number;
    const bound = 4 * 50;
    // Clear of the boundary by 15 ms either side (created_at is kept to the millisecond).
    const before = highs.filter((id) => (created.get(id) as number) - t0 < bound - 15);
    const after = highs.filter((id) => (created.get(id) as number) - t0 > bound + 15);
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    for (const id of before) expect({ id, beforeLow: order.indexOf(id) < lowAt }).toEqual({ id, beforeLow: true });
    for (const id of after) expect({ id, beforeLow: order.indexOf(id) < lowAt }).toEqual({ id, beforeLow: false });
    // Among themselves the highs keep their start order.
    expect(order.filter((id) => id !== 's-low')).toEqual(highs);
    await client.close();
  });

  test('rate limit: starts of a key are spaced period/limit apart (one of tolerance), keys are independent, none fails', async () => {
    const client = await createClient({ db: ctx.db });
    const runner = await createRunner({ db: ctx.db, workflows: [paced], concurrency: 16, pollInterval: '20ms', instanceId: 'fc-runner-00000001', logger: silentLogger() });
    await runner.start();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        for (const key of ['a', 'b']) {
          const h = await client.start(paced, { key }, { id: `r-${key}-${i}` });
          ids.push(h.executionId);
        }
      }
      await waitFor(async () => {
        const [{ n }] = await ctx.db.sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM workflow_executions WHERE id LIKE 'r-%' AND status = 'completed'");
        return Number(n) === ids.length;
      }, { timeoutMs: 60_000, intervalMs: 50, what: 'every rate-limited execution completed' });
      const step = 500 / 5;
      const spans: number[] = [];
      for (const key of ['a', 'b']) {
        const rows = await ctx.db.sql.all<{ started_at: unknown }>('SELECT started_at FROM workflow_executions WHERE id LIKE ? ORDER BY started_at', [`r-${key}-%`]);
        const starts = rows.map((r) => (ctx.db.sql.date(r.started_at) as Date).getTime());
        expect(starts).toHaveLength(8);
        // GCRA with a tolerance of one step: start i+2 is at least one step after start i.
        for (let i = 0; i + 2 < starts.length; i++) expect(starts[i + 2] - starts[i]).toBeGreaterThanOrEqual(step - 2);
        // Eight starts: at least 6 steps from the first to the last.
        expect(starts[7] - starts[0]).toBeGreaterThanOrEqual(6 * step - 2);
        spans.push(starts[0]);
      }
      // Key b did not wait behind key a: both began within a step of each other.
      expect(Math.abs(spans[0] - spans[1])).toBeLessThan(step * 3);
    } finally {
      await runner.shutdown();
      await client.close();
    }
  });

  test('child starts are rate-limited like client starts', async () => {
    const child = defineWorkflow({ name: 'fc-child', rateLimit: { limit: 1, period: '150ms' } }, async () => 1);
    const parent = defineWorkflow({ name: 'fc-parent' }, async (wctx) => {
      const handles = [];
      for (let i = 0; i < 5; i++) handles.push(await wctx.startChild(child, null, { id: `fc-child-${i}` }));
      for (const h of handles) await h.result();
      return 5;
    });
    const client = await createClient({ db: ctx.db });
    const runner = await createRunner({ db: ctx.db, workflows: [parent, child], concurrency: 8, pollInterval: '20ms', instanceId: 'fc-runner-00000002', logger: silentLogger() });
    await runner.start();
    try {
      const h = await client.start(parent, null, { id: 'fc-parent-1' });
      expect(await h.result({ timeout: '60s' })).toBe(5);
      const rows = await ctx.db.sql.all<{ started_at: unknown }>("SELECT started_at FROM workflow_executions WHERE id LIKE 'fc-child-%' ORDER BY started_at");
      const starts = rows.map((r) => (ctx.db.sql.date(r.started_at) as Date).getTime());
      expect(starts).toHaveLength(5);
      for (let i = 0; i + 2 < starts.length; i++) expect(starts[i + 2] - starts[i]).toBeGreaterThanOrEqual(148);
      expect(starts[4] - starts[0]).toBeGreaterThanOrEqual(3 * 150 - 2);
    } finally {
      await runner.shutdown();
      await client.close();
    }
  });

  test('a deferred start waits with wait_for "rate" and a future available_at, one turn per step', async () => {
    const client = await createClient({ db: ctx.db });
    for (let i = 0; i < 5; i++) await client.start(paced, { key: 'd' }, { id: `d-${i}` });
    const claimed = await claimExecutions(ctx.db.sql, { owner: 'fc-claimer-00000000', workflows: [paced.name], limit: 10, leaseTtlMs: 30_000 });
    // The token and its one step of tolerance: two pass at once, three wait their turn.
    expect(claimed.map((e) => e.id).sort()).toEqual(['d-0', 'd-1']);
    expect((await client.getHandle('d-2').describe()).waitingFor).toEqual({ kind: 'rate' });
    expect((await client.getHandle('d-2').describe()).rateKey).toBe('d');
    const rows = await ctx.db.sql.all<{ id: string; wait_for: string; available_at: unknown; attempt: unknown }>(
      "SELECT id, wait_for, available_at, attempt FROM workflow_executions WHERE id IN ('d-2', 'd-3', 'd-4') ORDER BY available_at");
    expect(rows.map((r) => [r.id, JSON.parse(r.wait_for), Number(r.attempt)])).toEqual([['d-2', { kind: 'rate' }, 0], ['d-3', { kind: 'rate' }, 0], ['d-4', { kind: 'rate' }, 0]]);
    const at = rows.map((r) => (ctx.db.sql.date(r.available_at) as Date).getTime());
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(99);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(99);
    await client.close();
  });

  test('bad options are a ValidationError and write nothing', async () => {
    const client = await createClient({ db: ctx.db });
    for (const priority of [-1, 1.5, 1001, Number.NaN]) {
      await expect(client.start(ranked, null, { id: `bad-${priority}`, priority })).rejects.toBeInstanceOf(ValidationError);
    }
    const [{ n }] = await ctx.db.sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM workflow_executions WHERE id LIKE 'bad-%'");
    expect(Number(n)).toBe(0);
    const body = async () => 1;
    expect(() => defineWorkflow({ name: 'x', rateLimit: { limit: 0, period: '1s' } }, body)).toThrow(ValidationError);
    expect(() => defineWorkflow({ name: 'x', rateLimit: { limit: 2, period: '0ms' } }, body)).toThrow(ValidationError);
    expect(() => defineWorkflow({ name: 'x', rateLimit: { limit: 2, period: '1s', key: 'k' as never } }, body)).toThrow(ValidationError);
    expect(() => defineWorkflow({ name: 'x', priorityStep: '0ms' }, body)).toThrow(ValidationError);
    const keyed = defineWorkflow({ name: 'fc-bad-key', rateLimit: { limit: 2, period: '1s', key: () => '' } }, body);
    await expect(client.start(keyed, null, { id: 'bad-key' })).rejects.toBeInstanceOf(ValidationError);
    await client.close();
  });
  test('leaseflow start --priority N sets the priority; a bad value is a usage error and writes nothing', async () => {
    const run = async (args: string[]) => {
      let err = '';
      const io: Io = { out: () => undefined, err: (t) => { err += t; }, env: {}, isTTY: false, readStdin: async () => '' };
      return { code: await runCli(args, io), err };
    };
    expect((await run(['start', ordered.name, '--id', 'cli-prio', '--priority', '7', '--db', ctx.url])).code).toBe(0);
    const client = await createClient({ db: ctx.db });
    expect((await client.getHandle('cli-prio').describe()).priority).toBe(7);
    for (const bad of ['abc', '1.5', '1001', '-1']) {
      const r = await run(['start', ordered.name, '--id', `cli-bad-${bad}`, '--priority', bad, '--db', ctx.url]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/priority/);
    }
    const [{ n }] = await ctx.db.sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM workflow_executions WHERE id LIKE 'cli-bad-%'");
    expect(Number(n)).toBe(0);
    await client.close();
  });
});
