/**
 * The property test's real-crash subset, on SQLite and MariaDB: random programs run by runner
 * processes (`node` running tsx's loader, the real process) that are killed with kill -9 at random
 * moments and replaced; every program must end as its uninterrupted in-process run (result and
 * the commands issued), its own history replaying to that result, with nothing left running or waiting.
 */
import fc from 'fast-check';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor, type RunnerProcess } from '../helpers/processes';
import { createClient, type Client } from '../../engine/client/client';
import { commandsOf, expectSettled, readRan, replayOutput, runProgram } from './drive-program';
import { programs, propProgram, sentSignals } from './program';
import { join } from 'node:path';

const PROGRAMS = Number(process.env.LEASEFLOW_PROP_KILL_PROGRAMS ?? 8);
const KILLS = 2;
const SEED = Number(process.env.LEASEFLOW_PROP_SEED ?? 20261130);

describeEachDb(__filename, 'random workflow programs under kill -9', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => { await killAllRunners(); await client.close(); });

  test('programs whose runner processes are killed with kill -9 at random moments end as their uninterrupted runs', async () => {
    const sample = fc.sample(programs, { numRuns: PROGRAMS, seed: SEED });
    const pauses = fc.sample(fc.integer({ min: 50, max: 700 }), { numRuns: KILLS, seed: SEED });
    const refs = [];
    for (let i = 0; i < sample.length; i++) refs.push(await runProgram(ctx.db, client, `k9-${i}-ref`, sample[i], {}));
    const common = { dbUrl: ctx.url, concurrency: 8, leaseTtl: '1500ms', pollInterval: '50ms', workflows: join(__dirname, 'program.ts'), logLevel: 'warn' };
    for (let i = 0; i < sample.length; i++) {
      const h = await client.start(propProgram, sample[i], { id: `k9-${i}` });
      for (const s of sentSignals(sample[i])) await h.signal(s, s);
    }
    const ids = sample.map((_, i) => `k9-${i}`);
    const finished = async () => Number((await ctx.db.sql.all<{ n: unknown }>(
      "SELECT COUNT(*) AS n FROM workflow_executions WHERE id IN (?) AND status IN ('completed', 'failed', 'cancelled')", [ids]))[0].n);
    const atKill: number[] = [];
    let runner: RunnerProcess = await spawnRunner({ ...common, instanceId: 'k9-run-00000000' });
    for (let k = 0; k < KILLS; k++) {
      await new Promise((r) => setTimeout(r, pauses[k]));
      await runner.kill9();
      atKill.push(await finished());
      runner = await spawnRunner({ ...common, instanceId: `k9-run-0000000${k + 1}` });
    }
    process.stderr.write(`kill -9 property [${ctx.db.dialect}]: ${sample.length} programs, ${KILLS} kills; programs finished at each kill: ${atKill.join(', ')}\n`);
    await waitFor(async () => {
      const rows = await ctx.db.sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM workflow_executions WHERE id IN (?) AND status IN ('completed', 'failed', 'cancelled')", [ids]);
      return Number(rows[0].n) === ids.length;
    }, { timeoutMs: 60_000, what: 'every program to finish' });
    for (let i = 0; i < sample.length; i++) {
      const ran = await readRan(ctx.db, client, `k9-${i}`);
      expect({ program: i, status: ran.status, output: ran.output, error: ran.error, commands: commandsOf(ran) })
        .toEqual({ program: i, status: refs[i].status, output: refs[i].output, error: refs[i].error, commands: commandsOf(refs[i]) });
      expect(await replayOutput(ctx.db, `k9-${i}`)).toEqual({ kind: 'completed', output: refs[i].output });
      await expectSettled(ctx.db, `k9-${i}`, ran);
    }
  }, 180_000);
});
