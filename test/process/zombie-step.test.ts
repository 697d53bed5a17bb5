/**
 * A zombie runs no new step body: workflow code blocked between two steps (the whole process,
 * heartbeat included) past a short TTL in a real runner process; a peer takes over and
 * completes; once thawed, the frozen runner checks its local lease deadline before the next
 * command and stops — the side table shows s1's body ran once, on the peer only.
 */
import { createClient } from '../../engine';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor } from '../helpers/processes';
import { createAttemptsTable, readAttempts } from './fixtures/attempts';
import { procFreeze } from './fixtures/workflows';

describeEachDb(__filename, 'zombie step bodies', (ctx) => {
  beforeAll(async () => createAttemptsTable(ctx.db));
  afterEach(killAllRunners);
  afterAll(killAllRunners);

  test('a runner frozen between steps past its TTL runs no further step body after a peer took over', async () => {
    const common = { dbUrl: ctx.url, concurrency: 4, leaseTtl: '2000ms', pollInterval: '100ms' };
    const a = await spawnRunner({ ...common, instanceId: 'frz-a-00000001' });
    const client = await createClient({ db: ctx.db });
    const freezeMs = 6000;
    try {
      const h = await client.start(procFreeze, { freezeMs }, { id: 'freeze-1' });
      await waitFor(async () => (await readAttempts(ctx.db, "step = 's0' AND phase = 'end'")).length === 1, { timeoutMs: 15_000, what: 's0 done on the first runner' });
      const b = await spawnRunner({ ...common, instanceId: 'frz-b-00000002' });
      expect(await h.result({ timeout: '30s' })).toBe('done');
      // The freeze began before the peer started; by now the frozen runner has thawed: give it time to act.
      await new Promise((r) => setTimeout(r, 2000));
      const s1 = await readAttempts(ctx.db, "step = 's1' AND phase = 'start'");
      expect(s1.map((r) => r.runnerId)).toEqual([b.instanceId]);
    } finally {
      await client.close();
    }
  }, 90_000);
});
