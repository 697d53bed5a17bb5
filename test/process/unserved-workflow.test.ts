/**
 * A runner process never claims a workflow it does not serve: an execution of a workflow no
 * live runner serves stays queued and untouched (no attempt, no lease, no event) while a runner
 * busily works next to it, and only a runner process that serves it picks it up later.
 */
import { createClient } from '../../engine';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor } from '../helpers/processes';
import { createAttemptsTable, readAttempts } from './fixtures/attempts';
import { eventFacts, executionFacts, statusCounts } from './fixtures/facts';
import { procAlpha, procBeta } from './fixtures/workflows';
import { join } from 'node:path';

const ALPHA_ONLY = join(__dirname, 'fixtures/alpha-only.ts');
const POLL_MS = 50;

describeEachDb(__filename, 'process unserved workflow', (ctx) => {
  afterAll(killAllRunners);

  test('a runner that lacks a workflow never claims it; a runner serving it picks it up later', async () => {
    await createAttemptsTable(ctx.db);
    const client = await createClient({ db: ctx.db });
    try {
      const alphas = Array.from({ length: 5 }, (_, i) => `un-alpha-${i}`);
      const beta = await client.start(procBeta, undefined, { id: 'un-beta-1' });
      for (const id of alphas) await client.start(procAlpha, undefined, { id });

      const lacking = await spawnRunner({ dbUrl: ctx.url, instanceId: 'un-alpha-only-00000001', workflows: ALPHA_ONLY, leaseTtl: '5s', pollInterval: `${POLL_MS}ms` });
      await waitFor(async () => (await statusCounts(ctx.db, 'un-alpha-')).completed === alphas.length, { timeoutMs: 20_000, what: 'the alpha executions' });
      // Let it poll some more with the beta execution due all along.
      const polledSince = lacking.logs.length;
      await new Promise((r) => setTimeout(r, 10 * POLL_MS));
      expect(lacking.logs.slice(polledSince).filter((l) => (l.level ?? 0) >= 40)).toEqual([]);

      const [untouched] = await executionFacts(ctx.db, 'un-beta-');
      expect(untouched).toMatchObject({ id: 'un-beta-1', status: 'queued', attempt: 0, leaseToken: 0, runnerId: null });
      expect(await ctx.db.sql.all('SELECT lock_key FROM distributed_locks WHERE lock_key = ?', ['workflow_execution:un-beta-1'])).toEqual([]);
      expect(await eventFacts(ctx.db, 'un-beta-')).toEqual([]);
      expect(await readAttempts(ctx.db, 'execution_id = ?', ['un-beta-1'])).toEqual([]);
      expect(await beta.describe()).toMatchObject({ status: 'queued', servedByLiveRunner: false });

      const serving = await spawnRunner({ dbUrl: ctx.url, instanceId: 'un-all-00000002', leaseTtl: '5s', pollInterval: `${POLL_MS}ms` });
      expect(await beta.result({ timeout: '20s' })).toBe('only');
      const attempts = await readAttempts(ctx.db, 'execution_id = ?', ['un-beta-1']);
      expect(attempts.map((a) => [a.phase, a.runnerId, a.pid])).toEqual([['start', serving.instanceId, serving.pid], ['end', serving.instanceId, serving.pid]]);
      expect((await eventFacts(ctx.db, 'un-beta-')).map((e) => [e.name, e.leaseToken])).toEqual([['only', 1]]);
      expect(lacking.linesWithMsg('runner started')[0]?.workflows).toEqual(['proc-alpha']);
      expect(lacking.logs.filter((l) => JSON.stringify(l).includes('un-beta-1'))).toEqual([]);
      expect((await readAttempts(ctx.db, 'runner_id = ?', [lacking.instanceId])).map((a) => a.executionId).every((id) => id.startsWith('un-alpha-'))).toBe(true);
      const exits = await Promise.all([lacking.terminate(), serving.terminate()]);
      expect(exits.map((e) => e.code)).toEqual([0, 0]);
    } finally {
      await client.close();
    }
  }, 60_000);
});
