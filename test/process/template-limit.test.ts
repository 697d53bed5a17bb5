/**
 * Template admission across real runner processes: with limit 1, twenty instances of one key
 * started at once and served by three runners run strictly one after another (no two step
 * bodies of the key ever overlap, neither in the side table's causal order nor on the DB clock),
 * in the order they were started, and all of them finish.
 */
import { createClient } from '../../engine';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor, type RunnerProcess } from '../helpers/processes';
import { createAttemptsTable, readAttempts } from './fixtures/attempts';
import { eventFacts, executionFacts, groupBy, statusCounts } from './fixtures/facts';
import { procSerial } from './fixtures/workflows';

const INSTANCES = 20;

describeEachDb(__filename, 'process template limit', (ctx) => {
  let runners: RunnerProcess[] = [];
  afterAll(killAllRunners);

  test('template limit 1: twenty instances across three runners never overlap, run in start order, and all finish', async () => {
    await createAttemptsTable(ctx.db);
    const ids = Array.from({ length: INSTANCES }, (_, i) => `tpl-${String(i).padStart(2, '0')}`);
    const client = await createClient({ db: ctx.db });
    try {
      for (const id of ids) await client.start(procSerial, { key: 'customer-7', sleepMs: 40 }, { id });
    } finally {
      await client.close();
    }
    const common = { dbUrl: ctx.url, concurrency: 4, leaseTtl: '5s', pollInterval: '50ms' };
    runners = await Promise.all(['tpl-a-00000001', 'tpl-b-00000002', 'tpl-c-00000003'].map((instanceId) => spawnRunner({ ...common, instanceId })));

    // While they work, sample what the database says is running for the key.
    let maxRunning = 0;
    let samples = 0;
    await waitFor(async () => {
      const [{ n }] = await ctx.db.sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM workflow_executions WHERE template_key = ? AND status = 'running'", ['customer-7']);
      maxRunning = Math.max(maxRunning, Number(n));
      samples++;
      return (await statusCounts(ctx.db, 'tpl-')).completed === INSTANCES;
    }, { timeoutMs: 60_000, intervalMs: 20, what: `${INSTANCES} completed instances` })
      .catch((err: Error) => { throw new Error(`${err.message}\n${runners.map((r) => r.dump()).join('\n')}`); });
    expect(maxRunning).toBeLessThanOrEqual(1);

    const executions = await executionFacts(ctx.db, 'tpl-');
    expect(executions.map((e) => e.status)).toEqual(ids.map(() => 'completed'));
    const events = await eventFacts(ctx.db, 'tpl-');
    expect(events.map((e) => `${e.executionId}:${e.name}`)).toEqual(ids.flatMap((id) => [`${id}:enter`, `${id}:leave`]));

    // Step bodies: one interval per instance, by insertion order (causal) and by DB time.
    const attempts = await readAttempts(ctx.db, 'execution_id LIKE ?', ['tpl-%']);
    const spans = [...groupBy(attempts, (a) => a.executionId)].map(([id, rows]) => ({
      id, firstRow: rows[0].id, lastRow: rows[rows.length - 1].id, startMs: rows[0].atMs,
      finishedMs: executions.find((e) => e.id === id)?.finishedAtMs as number,
    })).sort((a, b) => a.firstRow - b.firstRow);
    expect(spans).toHaveLength(INSTANCES);
    for (let i = 1; i < spans.length; i++) {
      const [prev, next] = [spans[i - 1], spans[i]];
      expect({ next: next.id, overlapsRows: next.firstRow < prev.lastRow }).toEqual({ next: next.id, overlapsRows: false });
      expect({ next: next.id, overlapsTime: next.startMs < prev.finishedMs }).toEqual({ next: next.id, overlapsTime: false });
    }
    // FIFO among the waiting: admitted in the order they were started.
    expect(spans.map((s) => s.id)).toEqual(ids);
    // Every body ran once: nothing was admitted twice or re-run.
    expect(attempts).toHaveLength(INSTANCES * 4);

    const perRunner = groupBy(attempts.filter((a) => a.phase === 'end' && a.step === 'enter'), (a) => a.runnerId);
    process.stdout.write(`[template ${ctx.kind}] ${samples} samples, max running ${maxRunning}; instances per runner ` +
      `${[...perRunner].map(([k, v]) => `${k}=${v.length}`).join(', ')}\n`);
    const exits = await Promise.all(runners.map((r) => r.terminate()));
    expect(exits.map((e) => e.code)).toEqual([0, 0, 0]);
  }, 120_000);
});
