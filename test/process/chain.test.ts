/**
 * Continue-as-new and sagas across real runner processes: chains that continue as new every
 * few steps and end by compensating keep every run's history bounded and commit every step and
 * compensation exactly once, although the runner holding most of them is killed with SIGKILL.
 */
import { join } from 'node:path';
import { createClient } from '../../engine';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor } from '../helpers/processes';
import { createAttemptsTable } from './fixtures/attempts';
import { eventFacts, executionFacts, groupBy } from './fixtures/facts';
import { procChain } from './fixtures/chain';

const CHAIN_WORKFLOWS = join(__dirname, 'fixtures', 'chain.ts');

describeEachDb(__filename, 'continue-as-new chains across processes', (ctx) => {
  beforeAll(async () => createAttemptsTable(ctx.db));
  afterAll(killAllRunners);

  test('kill -9 during chains: every step and compensation committed once, histories bounded, chains complete', async () => {
    const common = { dbUrl: ctx.url, workflows: CHAIN_WORKFLOWS, concurrency: 8, leaseTtl: '2s', pollInterval: '100ms' };
    const runners = await Promise.all([spawnRunner({ ...common, instanceId: 'chain-a-00000001' }), spawnRunner({ ...common, instanceId: 'chain-b-00000002' })]);
    const client = await createClient({ db: ctx.db });
    try {
      const ids = Array.from({ length: 4 }, (_, i) => `chain-${i}`);
      const handles = await Promise.all(ids.map((id) => client.start(procChain, { done: 0, total: 12, every: 3, sleepMs: 150 }, { id })));
      // Once chains have continued at least once, kill the runner holding the most leases.
      await waitFor(async () => (await executionFacts(ctx.db, 'chain-')).some((e) => e.id.includes('#')), { timeoutMs: 30_000, what: 'a chain continued' });
      const owners = await ctx.db.sql.all<{ owner: string; n: unknown }>("SELECT owner, COUNT(*) AS n FROM distributed_locks WHERE lock_key LIKE 'workflow_execution:chain-%' GROUP BY owner ORDER BY n DESC");
      const victim = runners.find((r) => r.instanceId === owners[0]?.owner) ?? runners[0];
      await victim.kill9();

      for (const h of handles) {
        await expect(h.result({ timeout: '60s' })).rejects.toMatchObject({ code: 'WORKFLOW_FAILED', cause: expect.objectContaining({ message: 'no capacity' }) });
      }
      const rows = await executionFacts(ctx.db, 'chain-');
      const events = await eventFacts(ctx.db, 'chain-');
      const byRow = groupBy(events, (e) => e.executionId);
      for (const id of ids) {
        const runs = rows.filter((r) => r.id === id || r.id.startsWith(`${id}#`));
        expect(runs.map((r) => `${r.id}:${r.status}`).sort()).toEqual([`${id}#1:continued`, `${id}#2:continued`, `${id}#3:continued`, `${id}:failed`]);
        for (const r of runs) expect((byRow.get(r.id) ?? []).length).toBeLessThanOrEqual(r.id === id ? 3 + 6 : 3); // the last run: 3 polls, then the saga
        const runOrder = (rid: string) => (rid === id ? Infinity : Number(rid.slice(id.length + 1)));
        const committed = [...runs].sort((x, y) => runOrder(x.id) - runOrder(y.id)).flatMap((r) => (byRow.get(r.id) ?? []).map((e) => `${e.kind}:${e.name}:${e.status}`));
        const steps = Array.from({ length: 12 }, (_, i) => `step:s${i}:completed`);
        expect(committed).toEqual([...steps, 'step:book-a:completed', 'step:book-b:completed', 'step:fail:failed',
          'value:compensations:recorded', 'step:compensate:book-b:completed', 'step:compensate:book-a:completed']);
      }
      // The victim really held work: some run was re-claimed by the survivor.
      expect(rows.some((r) => r.attempt > 1)).toBe(true);
    } finally {
      await client.close();
    }
  }, 120_000);
});
