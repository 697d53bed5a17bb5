/**
 * Two real runner processes drain one queue: every execution completes once, every step is
 * committed exactly once (the (execution, seq) rows are exactly the expected ones), and the
 * side table shows how many step bodies really ran and that no step ran twice under one lease.
 */
import { createClient } from '../../engine';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor, type RunnerProcess } from '../helpers/processes';
import { createAttemptsTable, readAttempts } from './fixtures/attempts';
import { eventFacts, eventKeys, executionFacts, expectedStepEvents, groupBy, statusCounts } from './fixtures/facts';
import { procSteps } from './fixtures/workflows';

const EXECUTIONS = 500;
const STEPS = 3;

describeEachDb(__filename, 'process drain', (ctx) => {
  let runners: RunnerProcess[] = [];
  afterAll(killAllRunners);

  test('two runner processes drain 500 executions, committing every step exactly once', async () => {
    await createAttemptsTable(ctx.db);
    const client = await createClient({ db: ctx.db });
    const ids = Array.from({ length: EXECUTIONS }, (_, i) => `drain-${String(i).padStart(3, '0')}`);
    try {
      for (let i = 0; i < ids.length; i += 50) {
        await Promise.all(ids.slice(i, i + 50).map((id) => client.start(procSteps, { steps: STEPS }, { id })));
      }
    } finally {
      await client.close();
    }
    const common = { dbUrl: ctx.url, concurrency: 16, leaseTtl: '10s', pollInterval: '50ms' };
    runners = await Promise.all([spawnRunner({ ...common, instanceId: 'drain-a-00000001' }), spawnRunner({ ...common, instanceId: 'drain-b-00000002' })]);

    await waitFor(async () => (await statusCounts(ctx.db, 'drain-')).completed === EXECUTIONS, {
      timeoutMs: 100_000, intervalMs: 250, what: `${EXECUTIONS} completed executions`,
    }).catch((err: Error) => { throw new Error(`${err.message}\n${runners.map((r) => r.dump()).join('\n')}`); });
    const exits = await Promise.all(runners.map((r) => r.terminate()));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);

    const executions = await executionFacts(ctx.db, 'drain-');
    expect(executions).toHaveLength(EXECUTIONS);
    expect(executions.filter((e) => e.status !== 'completed')).toEqual([]);

    // History: exactly the expected (execution, seq) rows, nothing more, nothing less.
    const events = await eventFacts(ctx.db, 'drain-');
    expect(eventKeys(events)).toEqual(expectedStepEvents(ids, STEPS));

    // Step bodies: every committed step ran; no step body ran twice under the same lease,
    // and the committed result came from a lease that really ran the body.
    const attempts = await readAttempts(ctx.db, 'execution_id LIKE ?', ['drain-%']);
    const ends = attempts.filter((a) => a.phase === 'end');
    const byStep = groupBy(ends, (a) => `${a.executionId}#${a.step}`);
    expect(byStep.size).toBe(EXECUTIONS * STEPS);
    for (const [key, rows] of byStep) {
      const tokens = rows.map((r) => r.leaseToken);
      expect({ key, duplicateTokens: tokens.length - new Set(tokens).size }).toEqual({ key, duplicateTokens: 0 });
    }
    const committedBy = new Map(events.map((e) => [`${e.executionId}#${e.name}`, e.leaseToken]));
    for (const [key, rows] of byStep) expect(rows.map((r) => r.leaseToken)).toContain(committedBy.get(key));

    // Both processes took part; without crashes no lease was lost and nothing re-ran.
    const perRunner = groupBy(ends, (a) => a.runnerId);
    expect([...perRunner.keys()].sort()).toEqual(['drain-a-00000001', 'drain-b-00000002']);
    expect(new Set(attempts.map((a) => a.pid))).toEqual(new Set(runners.map((r) => r.pid)));
    expect(runners.flatMap((r) => r.linesWithMsg(/lease lost|execution run failed/))).toEqual([]);
    expect(ends).toHaveLength(EXECUTIONS * STEPS);
    process.stdout.write(`[drain ${ctx.kind}] step bodies run: ${ends.length} for ${EXECUTIONS * STEPS} committed steps; ` +
      `per runner ${[...perRunner].map(([k, v]) => `${k}=${v.length}`).join(', ')}\n`);
  }, 150_000);
});
