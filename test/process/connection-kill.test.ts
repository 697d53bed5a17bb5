/**
 * MariaDB connections of live runner processes are killed (`KILL <id>`) again and again while
 * they claim, heartbeat and commit: every execution still completes, and every step is
 * committed exactly once. And the outcome a killed claim can leave behind — the claim committed
 * but its reply never reached the runner, so the runner owns a lease it does not know about —
 * is reproduced exactly: the runner must hand such a lease back instead of heartbeating it
 * forever. MariaDB/MySQL only. The side table lives in a second database, and the test watches
 * from there, so the killer only ever hits the runners' own connections.
 */
import { createClient, openDatabase, type Database } from '../../engine';
import { claimExecutions } from '../../engine/store/claims';
import { fileDbName, freshDbUrl, testDialects } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor, type RunnerProcess } from '../helpers/processes';
import { createAttemptsTable, readAttempts } from './fixtures/attempts';
import { eventFacts, eventKeys, executionFacts, expectedStepEvents, groupBy, statusCounts } from './fixtures/facts';
import { procSteps } from './fixtures/workflows';

const EXECUTIONS = 200;

/**
 * Runners here run as in production: the mariadb connector is pinned to 3.5.4 (package.json
 * overrides), which no longer leaves a rejected promise unhandled when a KILL lands on a
 * connection still running its init commands — before 3.5 that crashed the runner process.
 */
const RUNNER_ENV: Record<string, string> = {};
const describeMySql = testDialects().includes('mysql') ? describe : describe.skip;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describeMySql('process connection kill [mysql]', () => {
  let url: string;
  let sideUrl: string;
  let dbName: string;
  /** On the side database: never among the connections the killer hits. */
  let side: Database;

  beforeAll(async () => {
    url = await freshDbUrl('mysql', fileDbName(__filename));
    sideUrl = await freshDbUrl('mysql', fileDbName(__filename, '_side'));
    dbName = new URL(url).pathname.slice(1);
    const setup = await openDatabase(url);
    try { await setup.migrate(); } finally { await setup.close(); }
    side = await openDatabase(sideUrl);
    await createAttemptsTable(side);
  });
  afterAll(async () => {
    await killAllRunners();
    await side?.close();
  });

  /** The test database's connections (the runners'), other than the caller's. */
  async function runnerConnections(): Promise<number[]> {
    const rows = await side.sql.all<{ ID: unknown }>('SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [dbName]);
    return rows.map((r) => Number(r.ID));
  }

  async function withTestDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
    const db = await openDatabase(url);
    try { return await fn(db); } finally { await db.close(); }
  }

  test('runner connections killed again and again: every execution still completes, every step committed exactly once', async () => {
    const ids = Array.from({ length: EXECUTIONS }, (_, i) => `ck-${String(i).padStart(3, '0')}`);
    await withTestDb(async (db) => {
      const client = await createClient({ db });
      try {
        // Short step bodies keep the runners busy long enough for many rounds of kills.
        for (let i = 0; i < ids.length; i += 50) await Promise.all(ids.slice(i, i + 50).map((id) => client.start(procSteps, { steps: 3, sleepMs: 40 }, { id })));
      } finally {
        await client.close();
      }
    });
    const common = { dbUrl: url, concurrency: 8, leaseTtl: '3s', pollInterval: '50ms', env: { ...RUNNER_ENV, LEASEFLOW_TEST_ATTEMPTS_URL: sideUrl } };
    const runners: RunnerProcess[] = await Promise.all([
      spawnRunner({ ...common, instanceId: 'ck-a-00000001' }), spawnRunner({ ...common, instanceId: 'ck-b-00000002' }),
    ]);

    let kills = 0;
    let rounds = 0;
    const completed = async () => {
      const [{ n }] = await side.sql.all<{ n: unknown }>(`SELECT COUNT(*) AS n FROM \`${dbName}\`.workflow_executions WHERE status = 'completed'`);
      return Number(n);
    };
    const deadline = Date.now() + 90_000;
    let done = 0;
    // Kill until most of the work is done, so that kills land in every phase (claims, history
    // loads, checkpoints, completions, heartbeats); the rest shows that the runners recover.
    while ((done = await completed()) < EXECUTIONS && Date.now() < deadline) {
      if (done < EXECUTIONS * 0.85) {
        rounds++;
        for (const id of await runnerConnections()) {
          try {
            await side.sql.run(`KILL ${Number(id)}`);
            kills++;
          } catch { /* already gone */ }
        }
      }
      await sleep(50 + Math.random() * 100);
    }
    const warnings = runners.flatMap((r) => r.logs.filter((l) => (l.level ?? 0) >= 40));
    if (done < EXECUTIONS) throw new Error(`only ${done}/${EXECUTIONS} completed after 90 s of kills\n${runners.map((r) => r.dump()).join('\n')}`);
    const exits = await Promise.all(runners.map((r) => r.terminate()));
    if (exits.some((e) => e.code !== 0)) throw new Error(`a runner did not stop cleanly: ${JSON.stringify(exits)}\n${runners.map((r) => r.dump()).join('\n')}`);

    await withTestDb(async (db) => {
      expect(await statusCounts(db, 'ck-')).toEqual({ completed: EXECUTIONS });
      const events = await eventFacts(db, 'ck-');
      expect(eventKeys(events)).toEqual(expectedStepEvents(ids, 3));
      // Every committed result came from a body that really ran under the committing lease.
      const ends = (await readAttempts(side, "phase = 'end'"));
      const ranUnder = new Set(ends.map((a) => `${a.executionId}#${a.step}#${a.leaseToken}`));
      expect(events.filter((e) => !ranUnder.has(`${e.executionId}#${e.name}#${e.leaseToken}`))).toEqual([]);
      const executions = await executionFacts(db, 'ck-');
      const reclaimed = executions.filter((e) => e.leaseToken > 1).length;
      const byMsg = groupBy(warnings, (l) => String(l.msg));
      const driverRejections = runners.reduce((n, r) => n + (r.stderr.join('').match(/UnhandledPromiseRejection|Unhandled promise rejection/g)?.length ?? 0), 0);
      process.stdout.write(`[connection kill] ${kills} connections killed in ${rounds} rounds; ${ends.length} step bodies for ${events.length} commits; ` +
        `${reclaimed} executions re-claimed; runner warnings: ${[...byMsg].map(([m, v]) => `${m} ×${v.length}`).join('; ')}; ` +
        `unhandled driver rejections: ${driverRejections}\n`);
    });
    expect(kills).toBeGreaterThan(20);
    // The kills were felt: the runners logged failures and carried on.
    expect(warnings.length).toBeGreaterThan(0);
  }, 150_000);

  test('a claim that committed but whose reply was lost is handed back, not heartbeated forever', async () => {
    // The runner is kept full (concurrency 1, a 3 s step) so that it cannot claim the target
    // itself; meanwhile the target is claimed in its name, as a killed claim's commit would.
    const runner = await spawnRunner({ dbUrl: url, instanceId: 'lost-reply-00000001', concurrency: 1, leaseTtl: '3s', pollInterval: '50ms', env: { ...RUNNER_ENV, LEASEFLOW_TEST_ATTEMPTS_URL: sideUrl } });
    await withTestDb(async (db) => {
      const client = await createClient({ db });
      try {
        await client.start(procSteps, { steps: 2, sleepMs: 3000, sleepAt: [0] }, { id: 'lr-blocker' });
        await waitFor(async () => (await readAttempts(side, "execution_id = 'lr-blocker' AND phase = 'start'")).length > 0, { timeoutMs: 10_000, what: 'the blocker running' });
        const target = await client.start(procSteps, { steps: 2 }, { id: 'lr-target' });
        // Granted for a whole minute: only a hand-back can free it before the test's deadline.
        const [claimed] = await claimExecutions(db.sql, { owner: runner.instanceId, workflows: ['proc-steps'], limit: 1, leaseTtlMs: 60_000 });
        expect(claimed).toMatchObject({ id: 'lr-target', leaseToken: 1 });

        expect(await target.result({ timeout: '20s' })).toEqual({ done: ['s0', 's1'] });
        const events = await eventFacts(db, 'lr-target');
        expect(events.map((e) => [e.name, e.leaseToken])).toEqual([['s0', 2], ['s1', 2]]);
        expect(runner.linesWithMsg('released lease rows this runner no longer tracks').length).toBeGreaterThan(0);
      } finally {
        await client.close();
      }
    });
    expect((await runner.terminate()).code).toBe(0);
  }, 60_000);
});
