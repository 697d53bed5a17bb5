/**
 * Group commit of plain starts (engine/client/start-batcher.ts): concurrent starts share one
 * multi-row INSERT; every row is exactly what the single-row insert writes; a batch that fails
 * (a duplicate id inside it, or a lost connection after the statement landed) writes nothing
 * twice and settles every start as if it had been made alone.
 */
import { describeEachDb } from '../helpers/db';
import { createClient } from '../../engine/client/client';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { WorkflowIdConflictError } from '../../engine/errors';
import type { Database } from '../../engine/store/database';
import type { SqlStore } from '../../engine/store/sql';

const wf = defineWorkflow({ name: 'sb-plain' }, async (c, n: number) => c.step('double', async () => n * 2));

/** The database with its `run` wrapped: counts execution INSERTs (rows per statement) and can inject one failure. */
function spyDb(base: Database, fail?: (sql: string, rows: number) => 'before' | 'after' | null) {
  const inserts: number[] = [];
  const sql: SqlStore = Object.create(base.sql);
  let injected = 0;
  sql.run = async (s, p) => {
    if (!s.startsWith('INSERT INTO workflow_executions')) return base.sql.run(s, p);
    const rows = s.includes(' VALUES ') ? s.split('), (').length : 1;
    inserts.push(rows);
    const when = injected === 0 ? fail?.(s, rows) ?? null : null;
    if (when === 'before') { injected++; throw Object.assign(new Error('Duplicate entry (injected)'), { errno: 1062, code: 'ER_DUP_ENTRY' }); }
    const r = await base.sql.run(s, p);
    if (when === 'after') { injected++; throw Object.assign(new Error('Connection lost (injected, after the statement landed)'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }); }
    return r;
  };
  return { db: { ...base, sql } as Database, inserts, injected: () => injected };
}

/** Every column that does not depend on the id, the time or the random run id. */
const COMPARABLE = 'workflow_name, workflow_version, template_key, template_limit, template_seq, admitted, priority, rate_key, rate_step_us, ' +
  'status, input, wait_for, lease_token, runner_id, next_seq, step_attempt, attempt, parent_id, parent_seq, namespace, run_number, continued_from';

describeEachDb(__filename, 'start group commit', (ctx) => {
  test('400 concurrent starts share a few statements and each row is what a lone start writes', async () => {
    const spy = spyDb(ctx.db);
    const client = await createClient({ db: spy.db });
    const lone = await client.start(wf, 7);
    const handles = await Promise.all(Array.from({ length: 400 }, (_, i) => client.start(wf, 7, { priority: i % 2 })));
    expect(new Set(handles.map((h) => h.executionId)).size).toBe(400);
    // The lone start, then batches: far fewer statements than starts, and some carried many rows.
    expect(spy.inserts.length).toBeLessThanOrEqual(20);
    expect(Math.max(...spy.inserts)).toBeGreaterThan(50);
    const all = await ctx.db.sql.all<Record<string, unknown>>(`SELECT id, ${COMPARABLE} FROM workflow_executions`);
    expect(all).toHaveLength(401);
    const norm = (r: Record<string, unknown>) => JSON.stringify(Object.entries(r).filter(([k]) => k !== 'id' && k !== 'priority').map(([k, v]) => [k, v === null ? null : String(v)]));
    const reference = norm(all.find((r) => String(r.id) === lone.executionId)!);
    for (const r of all) expect(norm(r)).toBe(reference);
    // available_at carries the priority offset exactly as the single-row insert computes it.
    const due = await ctx.db.sql.all<{ priority: unknown; n: unknown }>('SELECT priority, COUNT(*) AS n FROM workflow_executions GROUP BY priority ORDER BY priority');
    expect(due.map((r) => [Number(r.priority), Number(r.n)])).toEqual([[0, 201], [1, 200]]);
    const [p1] = await ctx.db.sql.all<{ id: unknown }>('SELECT id FROM workflow_executions ORDER BY available_at, id LIMIT 1');
    expect(handles.filter((_, i) => i % 2 === 1).map((h) => h.executionId)).toContain(String(p1.id));
    await client.close();
  });

  test('a duplicate id inside a batch fails only its own start; the others land once', async () => {
    await ctx.db.sql.run('DELETE FROM workflow_executions');
    const spy = spyDb(ctx.db);
    const client = await createClient({ db: spy.db });
    await client.start(wf, 1, { id: 'sb-dup' });
    const before = spy.inserts.length;
    const starts = [
      ...Array.from({ length: 30 }, () => client.start(wf, 3)),
      client.start(wf, 1, { id: 'sb-dup' }), // same workflow and input: the existing execution
      client.start(wf, 2, { id: 'sb-dup' }).then(() => 'started', (e: unknown) => e), // a different input: a conflict
      ...Array.from({ length: 30 }, () => client.start(wf, 3)),
    ];
    const results = await Promise.all(starts);
    // The duplicate failed a multi-row statement, which wrote nothing; each start then went alone.
    expect(spy.inserts.slice(before).some((rows) => rows > 2)).toBe(true);
    expect((results[30] as { executionId: string }).executionId).toBe('sb-dup');
    expect(results[31]).toBeInstanceOf(WorkflowIdConflictError);
    const rows = await ctx.db.sql.all<{ id: unknown; input: unknown }>('SELECT id, input FROM workflow_executions');
    expect(rows).toHaveLength(61);
    expect(String(rows.find((r) => String(r.id) === 'sb-dup')?.input)).toBe('1');
    await client.close();
  });

  test('a batch whose connection drops after it landed: every start resolves to its own single row', async () => {
    await ctx.db.sql.run('DELETE FROM workflow_executions');
    const spy = spyDb(ctx.db, (_s, rows) => (rows > 1 ? 'after' : null));
    const client = await createClient({ db: spy.db });
    const handles = await Promise.all(Array.from({ length: 50 }, (_, i) => client.start(wf, i)));
    expect(spy.injected()).toBe(1);
    const rows = await ctx.db.sql.all<{ id: unknown; input: unknown }>('SELECT id, input FROM workflow_executions');
    expect(rows).toHaveLength(50);
    const byId = new Map(rows.map((r) => [String(r.id), Number(r.input)]));
    handles.forEach((h, i) => expect(byId.get(h.executionId)).toBe(i));
    await client.close();
  });

  test('a start under fake timers still lands: nothing on the start path waits for a timer', async () => {
    const client = await createClient({ db: ctx.db });
    jest.useFakeTimers({ doNotFake: ['nextTick'] }); // the drivers' sockets need nextTick; every timer is fake
    try {
      const [a, b] = await Promise.all([client.start(wf, 11), client.start(wf, 12)]);
      const rows = await ctx.db.sql.all<{ id: unknown }>('SELECT id FROM workflow_executions WHERE id IN (?, ?)', [a.executionId, b.executionId]);
      expect(rows).toHaveLength(2);
    } finally {
      jest.useRealTimers();
      await client.close();
    }
  });

  test('a batch refused before it ran (injected duplicate error) is written start by start', async () => {
    await ctx.db.sql.run('DELETE FROM workflow_executions');
    const spy = spyDb(ctx.db, (_s, rows) => (rows > 1 ? 'before' : null));
    const client = await createClient({ db: spy.db });
    const handles = await Promise.all(Array.from({ length: 40 }, (_, i) => client.start(wf, i)));
    expect(spy.injected()).toBe(1);
    const rows = await ctx.db.sql.all<{ id: unknown; input: unknown }>('SELECT id, input FROM workflow_executions');
    expect(new Map(rows.map((r) => [String(r.id), Number(r.input)]))).toEqual(new Map(handles.map((h, i) => [h.executionId, i])));
    await client.close();
  });
});
