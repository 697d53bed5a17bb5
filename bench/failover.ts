/**
 * Failover time after kill -9, with real runner processes: a victim runner claims K executions
 * and is SIGKILLed in the middle of a step (at a random point of its heartbeat period); the
 * figure is the time from the kill (DB clock) to the survivor's first commit for one of them,
 * and to the last of them resumed. Median and max over several runs; prints one JSON object.
 *   npx tsx bench/failover.ts [--ttl 3s] [--runs 5] [--poll 500ms] [--executions 4] [--db URL]
 * The default poll interval is the engine's (500 ms), so the figures compare with SPEC §4.3:
 * "continue on another replica within leaseTtl + pollInterval".
 */
import { createClient, openDatabase, toMs, type Database } from '../engine';
import { dbNowMs, killAllRunners, spawnRunner, waitFor } from '../test/helpers/processes';
import { createAttemptsTable, readAttempts } from '../test/process/fixtures/attempts';
import { median } from '../test/process/fixtures/facts';
import { procSteps } from '../test/process/fixtures/workflows';
import { argValue } from './args';

interface Run {
  first_commit_ms: number;
  all_resumed_ms: number;
  executions: number;
}

async function oneRun(db: Database, url: string, o: { ttl: string; ttlMs: number; poll: string; executions: number; tag: string }): Promise<Run> {
  const common = { dbUrl: url, concurrency: o.executions, leaseTtl: o.ttl, pollInterval: o.poll, logLevel: 'warn' };
  const victim = await spawnRunner({ ...common, instanceId: `fo-victim-${o.tag}` });
  const ids = Array.from({ length: o.executions }, (_, i) => `fo-${o.tag}-${i}`);
  const client = await createClient({ db });
  try {
    // s1 sleeps long on the first claim only: the victim is inside it when killed, the survivor's re-run is instant.
    await Promise.all(ids.map((id) => client.start(procSteps, { steps: 3, sleepMs: o.ttlMs + 30_000, sleepAt: [1], firstClaimOnly: true }, { id })));
  } finally {
    await client.close();
  }
  await waitFor(async () => (await readAttempts(db, "step = 's1' AND phase = 'start' AND execution_id IN (?)", [ids])).length === ids.length, {
    timeoutMs: 30_000, what: 'the victim inside s1 of every execution',
  });
  const survivor = await spawnRunner({ ...common, instanceId: `fo-survivor-${o.tag}` });
  // Kill at a random point of the victim's heartbeat period (leaseTtl / 3 by default).
  await new Promise((r) => setTimeout(r, Math.random() * (o.ttlMs / 3)));
  const killedAt = await dbNowMs(db);
  await victim.kill9();
  await waitFor(async () => {
    const [{ n }] = await db.sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM workflow_executions WHERE status = 'completed' AND id IN (?)", [ids]);
    return Number(n) === ids.length;
  }, { timeoutMs: o.ttlMs + 60_000, intervalMs: 20, what: 'the survivor completing every execution' });
  const rows = await db.sql.all<{ execution_id: unknown; created_at: unknown }>(
    'SELECT execution_id, MIN(created_at) AS created_at FROM workflow_events WHERE execution_id IN (?) AND lease_token > 1 GROUP BY execution_id', [ids],
  );
  const resumed = rows.map((r) => (db.sql.date(r.created_at) as Date).getTime() - killedAt);
  await survivor.terminate();
  return { first_commit_ms: Math.min(...resumed), all_resumed_ms: Math.max(...resumed), executions: resumed.length };
}

async function main(): Promise<void> {
  const url = argValue('--db') ?? 'mariadb://root@127.0.0.1:3306/leaseflow_bench_failover';
  const ttl = argValue('--ttl') ?? '3s';
  const poll = argValue('--poll') ?? '500ms';
  const runs = Number(argValue('--runs') ?? 5);
  const executions = Number(argValue('--executions') ?? 4);
  const ttlMs = toMs(ttl);
  const pollMs = toMs(poll);
  const db = await openDatabase(url, { createDatabase: true });
  try {
    await db.migrate();
    await createAttemptsTable(db);
    const results: Run[] = [];
    for (let i = 0; i < runs; i++) {
      results.push(await oneRun(db, url, { ttl, ttlMs, poll, executions, tag: `${Date.now().toString(36)}-${i}` }));
      process.stderr.write(`run ${i + 1}/${runs}: first commit after ${results[i].first_commit_ms} ms, all resumed after ${results[i].all_resumed_ms} ms\n`);
    }
    const first = results.map((r) => r.first_commit_ms);
    const all = results.map((r) => r.all_resumed_ms);
    process.stdout.write(`${JSON.stringify({
      db: db.url, dialect: db.dialect, lease_ttl_ms: ttlMs, poll_interval_ms: pollMs,
      heartbeat_interval_ms: Math.floor(ttlMs / 3), watchdog_interval_ms: Math.min(pollMs, 1000),
      runs, executions_per_run: executions,
      first_commit_ms: first, first_commit_median_ms: median(first), first_commit_max_ms: Math.max(...first),
      all_resumed_ms: all, all_resumed_median_ms: median(all), all_resumed_max_ms: Math.max(...all),
      spec_bound_ms: ttlMs + pollMs,
    })}\n`);
  } finally {
    await killAllRunners();
    await db.close();
  }
}

main().catch(async (err: Error) => {
  await killAllRunners();
  process.stderr.write(`bench/failover: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
