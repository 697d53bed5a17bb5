/**
 * A rate limit across real runner processes (issue 13): `proc-rated` allows 10 starts per
 * second. 45 executions started at once and served by three runners (12 slots each, so capacity
 * never limits them) start at most 10 + 1 in ANY one-second window of the database clock
 * (started_at), at least 9 in every full second while the backlog lasts, and all complete — the
 * excess waited, nothing failed.
 */
import { join } from 'node:path';
import { createClient } from '../../engine';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor, type RunnerProcess } from '../helpers/processes';
import { procRated } from './fixtures/rated';

const COUNT = 45;
const LIMIT = 10;

describeEachDb(__filename, 'process rate limit', (ctx) => {
  let runners: RunnerProcess[] = [];
  afterAll(killAllRunners);

  test('10/s across three runners: at most limit + 1 starts in any 1 s window of the DB clock, the rate kept, all complete', async () => {
    const common = { dbUrl: ctx.url, concurrency: 12, leaseTtl: '5s', pollInterval: '50ms', workflows: join(__dirname, 'fixtures/rated.ts') };
    runners = await Promise.all(['rate-a-00000001', 'rate-b-00000002', 'rate-c-00000003'].map((instanceId) => spawnRunner({ ...common, instanceId })));
    const client = await createClient({ db: ctx.db });
    try {
      await Promise.all(Array.from({ length: COUNT }, (_, i) => client.start(procRated, { i }, { id: `rate-${String(i).padStart(2, '0')}` })));
    } finally {
      await client.close();
    }
    await waitFor(async () => {
      const [{ n }] = await ctx.db.sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM workflow_executions WHERE id LIKE 'rate-%' AND status = 'completed'");
      return Number(n) === COUNT;
    }, { timeoutMs: 60_000, intervalMs: 100, what: `${COUNT} completed executions` })
      .catch((err: Error) => { throw new Error(`${err.message}\n${runners.map((r) => r.dump()).join('\n')}`); });

    const rows = await ctx.db.sql.all<{ started_at: unknown }>(
      "SELECT started_at FROM workflow_executions WHERE id LIKE 'rate-%' ORDER BY started_at");
    const starts = rows.map((r) => (ctx.db.sql.date(r.started_at) as Date).getTime());
    expect(starts).toHaveLength(COUNT);
    // Every window [t, t + 1 s) that begins at a start: at most LIMIT + 1 starts.
    let worst = 0;
    for (let i = 0; i < starts.length; i++) {
      let j = i;
      while (j < starts.length && starts[j] < starts[i] + 1000) j++;
      worst = Math.max(worst, j - i);
    }
    expect(worst).toBeLessThanOrEqual(LIMIT + 1);
    expect(worst).toBeGreaterThanOrEqual(LIMIT - 1);
    // The rate is kept, not undershot badly: 45 starts take between 3.4 s and 12 s.
    const span = starts[starts.length - 1] - starts[0];
    expect(span).toBeGreaterThanOrEqual(((COUNT - 1) / LIMIT - 1) * 1000);
    expect(span).toBeLessThan(12_000);
    // The limit is shared, not per process: more than one runner ran them, and together they kept it.
    const completedBy = () => runners.map((r) => r.logs.filter((l) => (l as { msg?: string }).msg === 'execution completed').length);
    // Log lines arrive through a pipe: give the last ones a moment.
    await waitFor(() => completedBy().reduce((a, b) => a + b, 0) === COUNT, { timeoutMs: 10_000, what: 'a completion log line per execution' });
    const perRunner = completedBy();
    expect(perRunner.filter((n) => n > 0).length).toBeGreaterThan(1);
    process.stdout.write(`[rate ${ctx.kind}] ${COUNT} starts over ${span} ms, worst 1 s window ${worst}, per runner ${perRunner.join('/')}\n`);
  });
});
