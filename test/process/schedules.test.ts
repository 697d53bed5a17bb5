/**
 * Schedules across real runner processes: an every-second schedule served by three runners, one
 * of them killed with SIGKILL mid-run. Every fire between the first and the last starts exactly
 * one execution (`{schedule}:{fire time}`), none is skipped or missed, and every one completes.
 */
import { createClient } from '../../engine';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor } from '../helpers/processes';
import { scheduleExecutions } from '../helpers/schedules';
import { createAttemptsTable } from './fixtures/attempts';

/** How long the schedule runs before and after the kill. */
const BEFORE_KILL_MS = 4000;
const AFTER_KILL_MS = 5000;

describeEachDb(__filename, 'schedules across runner processes', (ctx) => {
  beforeAll(async () => createAttemptsTable(ctx.db));
  afterEach(killAllRunners);
  afterAll(killAllRunners);

  test('an every-second schedule on 3 runners with one kill -9 starts exactly one execution per fire, none skipped', async () => {
    const common = { dbUrl: ctx.url, concurrency: 4, leaseTtl: '2s', pollInterval: '100ms', env: { LEASEFLOW_SCHEDULE_CHECK_INTERVAL: '200ms' } };
    const runners = await Promise.all(['sa', 'sb', 'sc'].map((n, i) => spawnRunner({ ...common, instanceId: `${n}-0000000${i}` })));
    const client = await createClient({ db: ctx.db });
    try {
      const created = await client.schedules.create({ id: 'tick', workflow: 'proc-alpha', every: '1s', overlap: 'allow_all', catchupWindow: '30s' });
      const first = created.nextFireTimes[0];
      await new Promise((r) => setTimeout(r, BEFORE_KILL_MS));
      // Kill the runner that fired last: the one most likely to be in a ticker transaction again.
      const firedBy = (p: (typeof runners)[number]) => p.linesWithMsg('schedule fired').map((l) => Number(l.time ?? 0));
      const victim = [...runners].sort((a, b) => Math.max(0, ...firedBy(b)) - Math.max(0, ...firedBy(a)))[0];
      await victim.kill9();
      await new Promise((r) => setTimeout(r, AFTER_KILL_MS));
      await client.schedules.pause('tick');
      const d = await client.schedules.describe('tick');
      const last = d.lastFireAt as Date;
      const expected: string[] = [];
      for (let t = first.getTime(); t <= last.getTime(); t += 1000) expected.push(`tick:${new Date(t).toISOString()}`);
      expect(expected.length).toBeGreaterThanOrEqual((BEFORE_KILL_MS + AFTER_KILL_MS) / 1000 - 3);
      const runs = await scheduleExecutions(ctx.db, 'tick');
      expect(runs.map((r) => r.id)).toEqual(expected);
      expect(d.counts).toEqual({ fired: expected.length, skipped: 0, missed: 0 });
      const survivors = runners.filter((r) => r !== victim);
      // Executions the victim held are taken over after its lease TTL; all of them complete.
      await waitFor(async () => (await scheduleExecutions(ctx.db, 'tick')).every((r) => r.status === 'completed'), { timeoutMs: 20_000, what: 'every fire completed' })
        .catch((err: Error) => { throw new Error(`${err.message}\n${survivors.map((s) => s.dump()).join('\n')}`); });
    } finally {
      await client.close();
    }
  });
});
