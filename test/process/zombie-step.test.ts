/**
 * A zombie runs no new step body: workflow code blocked between two steps (the whole process,
 * heartbeat included) past a short TTL in a real runner process; the execution is taken over
 * (by the peer, or by the thawed runner's own new claim) and completes; once thawed, the frozen
 * run checks its local lease deadline before the next command and stops — the side table shows
 * s1's body ran once, under a newer lease than the frozen one.
 */
import { createClient } from '../../engine';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner } from '../helpers/processes';
import { createAttemptsTable, readAttempts } from './fixtures/attempts';
import { procFreeze } from './fixtures/workflows';

describeEachDb(__filename, 'zombie step bodies', (ctx) => {
  beforeAll(async () => createAttemptsTable(ctx.db));
  afterEach(killAllRunners);
  afterAll(killAllRunners);

  test('a runner frozen between steps past its TTL runs no further step body after a peer took over', async () => {
    const common = { dbUrl: ctx.url, concurrency: 4, leaseTtl: '2000ms', pollInterval: '100ms' };
    await Promise.all([spawnRunner({ ...common, instanceId: 'frz-a-00000001' }), spawnRunner({ ...common, instanceId: 'frz-b-00000002' })]);
    const client = await createClient({ db: ctx.db });
    try {
      const h = await client.start(procFreeze, { freezeMs: 6000 }, { id: 'freeze-1' });
      expect(await h.result({ timeout: '60s' })).toBe('done');
      // Whichever runner froze, it checked its local lease deadline when it thawed: s1's body
      // ran exactly once, under a newer lease than the frozen claim that ran s0.
      await new Promise((r) => setTimeout(r, 2000));
      const [s0] = await readAttempts(ctx.db, "step = 's0' AND phase = 'start'");
      const s1 = await readAttempts(ctx.db, "step = 's1' AND phase = 'start'");
      expect(s1).toHaveLength(1);
      expect(s1[0].leaseToken).toBeGreaterThan(s0.leaseToken);
    } finally {
      await client.close();
    }
  }, 90_000);
});
