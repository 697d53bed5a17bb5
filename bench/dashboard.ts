/**
 * `npm run bench:dashboard`: the dashboard's read costs on MariaDB with 1,000,000 executions.
 *  1. executions-list query time (the dashboard's /api/executions path: client.list) for each
 *     filter shape, p50/p95 over --reps runs, plus the counts-by-status query and one live tick;
 *  2. idle cost in statements/s: MariaDB's global `Questions` delta over --idle seconds with one
 *     live (SSE) client and with none (the global counter also counts other clients of the server,
 *     so the in-process store observer's exact count is printed beside it).
 * Usage: tsx bench/dashboard.ts [--rows 1000000] [--reps 30] [--idle 10] [--refill]
 * The data set is built once with MariaDB's SEQUENCE engine and kept for reruns.
 */
import { createClient, createInspector, openDatabase, type ListOptions } from '../engine';
import { observeStore } from '../engine/store/observer';
import { startDashboard } from '../dashboard/server';
import { percentile } from './lib/stats';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROWS = arg('rows', 1_000_000);
const REPS = arg('reps', 30);
const IDLE_S = arg('idle', 10);
const DB_URL = process.env.LEASEFLOW_BENCH_DB ?? 'mysql://root@127.0.0.1:3306/leaseflow_bench_dashboard';
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function fill(db: Awaited<ReturnType<typeof openDatabase>>): Promise<void> {
  const [{ n }] = await db.sql.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM workflow_executions');
  if (Number(n) === ROWS && !process.argv.includes('--refill')) return;
  console.log(`filling ${ROWS} executions …`);
  await db.sql.run('DELETE FROM workflow_executions');
  const started = performance.now();
  // Status mix: 90 % completed, 5 % failed, 3 % cancelled, 1 % waiting, 1 % queued; 5 workflows;
  // every 10th row has one of 1000 template keys; created over the last 30 days, in id order.
  for (let from = 1; from <= ROWS; from += 200_000) {
    const to = Math.min(ROWS, from + 199_999);
    await db.sql.run(
      `INSERT INTO workflow_executions (id, workflow_name, workflow_version, template_key, template_limit, admitted, status, input, ` +
        `available_at, lease_token, next_seq, step_attempt, attempt, created_at, updated_at, finished_at) ` +
        `SELECT CONCAT('bench-', LPAD(seq, 8, '0')), CONCAT('wf-', seq % 5), 1, IF(seq % 10 = 0, CONCAT('tpl-', seq % 1000), NULL), ` +
        `IF(seq % 10 = 0, 1, NULL), 0, ELT(1 + (seq % 100 >= 90) + (seq % 100 >= 95) + (seq % 100 >= 98) + (seq % 100 >= 99), 'completed', 'failed', 'cancelled', 'waiting', 'queued'), ` +
        `'{"n":1}', IF(seq % 100 = 99, UTC_TIMESTAMP(6) + INTERVAL 1 DAY, NULL), 1, 1, 0, 1, ` +
        `UTC_TIMESTAMP(3) - INTERVAL (30 * 86400 * (1 - seq / ?)) SECOND, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6) ` +
        `FROM seq_${from}_to_${to}`, [ROWS]);
  }
  await db.sql.run('ANALYZE TABLE workflow_executions');
  console.log(`filled in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  const db = await openDatabase(DB_URL);
  await db.migrate();
  await fill(db);
  const client = await createClient({ db });
  const inspector = await createInspector(db, { countsMaxAgeMs: 0 });
  const day = 86_400_000;
  const page1 = await client.list({ limit: 50 });
  const shapes: [string, ListOptions][] = [
    ['newest 50 (no filter)', {}],
    ['page 2 via cursor', { cursor: page1.nextCursor }],
    ['status=failed', { status: 'failed' }],
    ['status=queued,waiting', { status: ['queued', 'waiting'] }],
    ['workflow=wf-3', { workflow: 'wf-3' }],
    ['workflow=wf-3 + status=failed', { workflow: 'wf-3', status: 'failed' }],
    ['id prefix bench-00500', { idPrefix: 'bench-00500' }],
    ['template key tpl-420', { templateKey: 'tpl-420' }],
    ['created in a 1-day window', { from: new Date(Date.now() - 15 * day), to: new Date(Date.now() - 14 * day) }],
    ['status=failed + created window', { status: 'failed', from: new Date(Date.now() - 15 * day), to: new Date(Date.now() - 14 * day) }],
  ];
  console.log(`\nexecutions-list query time, ${ROWS.toLocaleString('en')} rows, limit 50, ${REPS} runs each (ms)`);
  console.log(`${'filter'.padEnd(34)} ${'p50'.padStart(7)} ${'p95'.padStart(7)}  rows`);
  const measure = async (fn: () => Promise<unknown>) => {
    await fn();
    const t: number[] = [];
    for (let i = 0; i < REPS; i++) {
      const s = performance.now();
      await fn();
      t.push(performance.now() - s);
    }
    return { p50: percentile(t, 50) as number, p95: percentile(t, 95) as number };
  };
  for (const [name, opts] of shapes) {
    const rows = (await client.list({ limit: 50, ...opts })).executions.length;
    const m = await measure(() => client.list({ limit: 50, ...opts }));
    console.log(`${name.padEnd(34)} ${m.p50.toFixed(2).padStart(7)} ${m.p95.toFixed(2).padStart(7)}  ${rows}`);
  }
  const counts = await measure(() => inspector.countsByStatus());
  console.log(`${'counts by status (GROUP BY)'.padEnd(34)} ${counts.p50.toFixed(2).padStart(7)} ${counts.p95.toFixed(2).padStart(7)}  (cached 10 s by the dashboard)`);
  const tick = await measure(() => inspector.snapshot());
  console.log(`${'live tick (one snapshot)'.padEnd(34)} ${tick.p50.toFixed(2).padStart(7)} ${tick.p95.toFixed(2).padStart(7)}`);

  // Idle cost.
  const questions = async () => Number((await db.sql.all<{ Value: unknown }>("SHOW GLOBAL STATUS LIKE 'Questions'"))[0].Value);
  const dash = await startDashboard({ db: DB_URL });
  let statements = 0;
  const stop = observeStore(() => statements++);
  const idle = async (label: string) => {
    await sleep(1000);
    const q0 = await questions();
    statements = 0;
    await sleep(IDLE_S * 1000);
    const own = statements;
    const q1 = await questions();
    console.log(`${label.padEnd(40)} ${((q1 - q0 - 2) / IDLE_S).toFixed(2).padStart(7)} Questions/s (server-wide)  ${(own / IDLE_S).toFixed(2).padStart(6)} statements/s (dashboard, exact)`);
  };
  console.log(`\ndashboard idle cost over ${IDLE_S} s`);
  await idle('no browser open');
  const ac = new AbortController();
  const res = await fetch(new URL('/api/live', dash.url), { headers: { authorization: `Bearer ${dash.token}` }, signal: ac.signal });
  void (async () => { const r = res.body!.getReader(); for (;;) if ((await r.read().catch(() => ({ done: true }))).done) break; })();
  await idle('one live view open (1 s tick)');
  ac.abort();
  stop();
  await dash.close();
  await inspector.close();
  await client.close();
  await db.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
