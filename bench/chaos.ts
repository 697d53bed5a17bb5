/**
 * `npm run chaos [-- --quick] [--seed N] [--runners 3..5] [--db URL] [--restart-db]`: a seeded
 * mixed workload on 3–5 real runner processes while faults hit them (kill -9, SIGSTOP past the
 * TTL, killed DB connections, graceful SIGTERM, stale commits, optionally a MariaDB restart);
 * then, once everything settled and a last kill -9 was absorbed, a checker proves the SPEC §4
 * guarantees from the database rows and the `chaos_attempts` side table. Prints each invariant
 * with its counts and exits non-zero on any violation, with the seed to replay.
 * Phases: setup → main (workload + faults) → drain → final (one kill -9, quiesce time) → check.
 * `--cluster [--long] [--multi-writer] [--hosts N]`: the same on the local Galera cluster behind
 * HAProxy, runners spread over simulated hosts, plus writer-node kills, node restarts and host
 * partitions (bench/chaos/cluster-*.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient, openDatabase, parseDbUrl, type Client, type Database } from '../engine';
import { ATTEMPTS_DDL } from './chaos/attempts';
import { runChecks, type ChaosData } from './chaos/checker';
import { otherTestProcesses } from './chaos/db-admin';
import { planFaults } from './chaos/faults';
import { ClusterFaults } from './chaos/cluster-faults';
import { setupCluster, type ClusterRun } from './chaos/cluster-setup';
import { checkHostile, HostileSubmitter, loadHostileErrors } from './chaos/hostile';
import { FaultInjector } from './chaos/injector';
import { loadChaosRows } from './chaos/loader';
import { parseChaosArgs, type ChaosOptions } from './chaos/options';
import { RunnerFleet } from './chaos/processes';
import { createRng } from './chaos/random';
import { faultSummary, formatChecks, mergeCounts, runnerLogSummary } from './chaos/report';
import { retryOnConnection, Submitter } from './chaos/submitter';
import { scheduleSubmissions, startChaosSchedule, stopChaosSchedule } from './chaos/schedule';
import { FINAL_STEP_WORK_MS, FINAL_STEPS, MAX_STEP_WORK_MS, planWorkload } from './chaos/workload';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const out = (line: string) => process.stdout.write(`${line}\n`);
const started = Date.now();
const stamp = () => `[chaos +${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
const say = (line: string) => out(`${stamp()} ${line}`);

/** Drop and re-create the run's database, migrate it, add the side table; returns an admin handle. */
async function freshDatabase(url: string, dbName: string): Promise<Database> {
  const boot = await openDatabase(url, { poolMax: 1, createDatabase: true });
  try {
    await boot.sql.run(`DROP DATABASE IF EXISTS \`${dbName}\``);
    await boot.sql.run(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4`);
  } finally {
    await boot.close();
  }
  const admin = await openDatabase(url, { poolMax: 4 });
  await admin.migrate();
  await admin.sql.run(ATTEMPTS_DDL);
  return admin;
}

/** DB clock minus harness clock, from the midpoint of one round trip. */
async function clockOffset(db: Database): Promise<number> {
  const t0 = Date.now();
  const [row] = await db.sql.all<{ now: unknown }>('SELECT CAST(UTC_TIMESTAMP(6) AS CHAR) AS now');
  const t1 = Date.now();
  const s = String(row.now);
  const dbMs = Date.parse(`${s.replace(' ', 'T').slice(0, 23)}Z`);
  return dbMs - (t0 + t1) / 2;
}

async function statusCounts(db: Database): Promise<Record<string, number>> {
  const rows = await db.sql.all<{ status: unknown; n: unknown }>('SELECT status, COUNT(*) AS n FROM workflow_executions GROUP BY status');
  return Object.fromEntries(rows.map((r) => [String(r.status), Number(r.n)]));
}

async function unfinished(db: Database): Promise<number> {
  const rows = await db.sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM workflow_executions WHERE status NOT IN ('completed', 'failed', 'cancelled')");
  return Number(rows[0]?.n ?? 0);
}

/** Wait until every execution is terminal; returns when (harness ms), or null on timeout. */
async function waitQuiet(db: Database, timeoutMs: number, pollMs: number, expectAtLeast: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  let lastReport = Date.now();
  while (Date.now() < deadline) {
    try {
      const [left, total] = await Promise.all([unfinished(db), db.sql.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM workflow_executions')]);
      if (left === 0 && Number(total[0]?.n) >= expectAtLeast) return Date.now();
      if (Date.now() - lastReport > 10_000) { say(`waiting: ${left} execution(s) not finished`); lastReport = Date.now(); }
    } catch { /* database restarting */ }
    await sleep(pollMs);
  }
  return null;
}

/** Cluster mode: the cluster and simulated hosts around the run (closed whatever happens). */
async function main(opts: ChaosOptions): Promise<number> {
  if (!opts.cluster) return runChaos(opts, opts.dbUrl);
  const cluster = await setupCluster({ dbName: parseDbUrl(opts.dbUrl).dbName, mode: opts.multiWriter ? 'multi-writer' : 'single-writer', hostCount: opts.hosts, hostPrefix: 'lfchaos', subnet: 231, log: say });
  try {
    return await runChaos(opts, cluster.harnessUrl, cluster);
  } finally {
    await cluster.close();
  }
}

async function runChaos(opts: ChaosOptions, dbUrl: string, cluster?: ClusterRun): Promise<number> {
  const rng = createRng(opts.seed);
  const dbName = parseDbUrl(dbUrl).dbName;
  const mode = opts.cluster ? `cluster ${opts.long ? 'long' : 'quick'} (${opts.multiWriter ? 'multi' : 'single'}-writer, ${opts.hosts} hosts)` : opts.quick ? 'quick' : 'default';
  out(`leaseflow chaos — seed ${opts.seed}${opts.seedWasGiven ? '' : ' (random)'}, ${mode} mode, ${opts.runners} runners, main phase ${opts.durationMs / 1000}s, ` +
    `lease TTL ${opts.leaseTtlMs} ms, poll ${opts.pollIntervalMs} ms, db ${dbUrl}${opts.restartDb ? ', WITH MariaDB restarts' : ''}`);
  if (opts.restartDb) {
    const others = otherTestProcesses();
    if (others.length && !opts.restartDbForce) {
      out(`refusing --restart-db: other test processes use this MariaDB:\n  ${others.slice(0, 5).join('\n  ')}\n(pass --force to restart it anyway)`);
      return 2;
    }
  }
  const workload = planWorkload(rng.fork('workload'), { durationMs: opts.durationMs, quick: opts.quick });
  const faults = planFaults(rng.fork('faults'), { durationMs: opts.durationMs, leaseTtlMs: opts.leaseTtlMs, restartDb: opts.restartDb, quick: opts.quick, cluster: opts.cluster });
  const runDir = join(tmpdir(), 'leaseflow-chaos', `seed-${opts.seed}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(runDir, { recursive: true });
  say(`plan: ${workload.submissions.length} executions (+${workload.finalBatch.length} final), ${faults.length} faults; logs in ${runDir}`);

  const admin = await freshDatabase(dbUrl, dbName);
  if (cluster) await admin.sql.run('CREATE TABLE cluster_probe (id INT PRIMARY KEY, n BIGINT NOT NULL)').then(() => admin.sql.run('INSERT INTO cluster_probe VALUES (1, 0)'));
  const offset = await clockOffset(admin);
  const clientDbs = await Promise.all([0, 1, 2].map(() => openDatabase(dbUrl, { poolMax: 3 })));
  const clients: Client[] = await Promise.all(clientDbs.map((db) => createClient({ db })));
  const maxBackoffMs = opts.pollIntervalMs * 10; // the poll loop's error backoff cap (≥ the watchdog interval)
  const failoverBoundMs = opts.leaseTtlMs + opts.pollIntervalMs + maxBackoffMs;
  // A graceful stop hands over "at once": after the longest step body in flight (300 ms) drains.
  const handoffBoundMs = MAX_STEP_WORK_MS + opts.pollIntervalMs + maxBackoffMs;

  let mainPhase = true;
  const harnessLog: string[] = [];
  const log = (line: string) => { harnessLog.push(`${new Date().toISOString()} ${line}`); say(line); };
  let injector!: FaultInjector;
  const fleet = new RunnerFleet({
    dbUrl: cluster?.runnerUrl ?? dbUrl, placement: cluster?.placement, workflowsModule: resolve(__dirname, 'chaos/workflows.ts'), concurrency: opts.concurrency,
    leaseTtl: `${opts.leaseTtlMs}ms`, pollInterval: `${opts.pollIntervalMs}ms`, drainTimeout: `${opts.drainTimeoutMs}ms`, logDir: runDir, logLevel: opts.logLevel,
  }, opts.runners, (e) => {
    if (e.type === 'exit' && !e.expected) {
      harnessLog.push(`${new Date().toISOString()} ${e.proc.instanceId} exited on its own (${e.signal ?? e.code})`);
      if (mainPhase && injector) void injector.crashed(e.proc);
    }
  });
  const onExit = () => fleet.killAllNow();
  process.once('exit', onExit);
  process.once('SIGINT', () => { fleet.killAllNow(); process.exit(130); });

  try {
    await fleet.start();
    say(`runners ready: ${fleet.slots.map((p) => `${p.instanceId}(pid ${p.pid})`).join(' ')}`);
    const clusterFaults = cluster && new ClusterFaults(cluster.cluster, cluster.hosts, fleet, opts.leaseTtlMs, () => admin.sql.run('UPDATE cluster_probe SET n = n + 1 WHERE id = 1').then(() => undefined));
    injector = new FaultInjector({ admin, dbName, dbUrl, fleet, leaseTtlMs: opts.leaseTtlMs, toDbClock: (ms) => ms + offset, log, cluster: clusterFaults });
    const submitter = new Submitter(clients, admin);
    const hostile = new HostileSubmitter(clients[0], admin);
    const hostileTasks: Promise<void>[] = [];

    // ── main phase: workload and faults on their schedules, and an every-second schedule ──────
    const firstFireMs = await startChaosSchedule(clients[0]);
    const t0 = Date.now();
    const timers: NodeJS.Timeout[] = [];
    for (const s of workload.submissions) timers.push(setTimeout(() => submitter.submit(s), s.atMs));
    for (const f of faults) timers.push(setTimeout(() => injector.fire(f), f.atMs));
    // Hostile input rounds (typed rejections, exact round-trips, huge errors) amid the faults.
    for (const at of opts.quick ? [0.35] : [0.2, 0.5, 0.8]) {
      timers.push(setTimeout(() => hostileTasks.push(hostile.fire(rng.fork(`hostile-${at}`).next()).catch((err: Error) => log(`hostile round failed: ${err.message}`))), Math.round(opts.durationMs * at)));
    }
    while (Date.now() - t0 < opts.durationMs) {
      await sleep(Math.min(10_000, opts.durationMs - (Date.now() - t0)));
      const counts = await statusCounts(admin).catch(() => ({}));
      say(`main ${Math.round((Date.now() - t0) / 1000)}s: ${JSON.stringify(counts)} runners alive ${fleet.slots.filter((p) => p.alive).length}, restarts ${fleet.restarts}, faults ${faultSummary(injector.records)}`);
    }
    timers.forEach(clearTimeout);
    const schedule = await retryOnConnection(() => stopChaosSchedule(clients[0], firstFireMs));
    say(`schedule: ${schedule.fired} fires, ${schedule.skipped} skipped, ${schedule.missed} missed; paused`);

    // ── drain: every start and signal sent, every fault over, every execution terminal ───────
    const drainStart = Date.now();
    await submitter.settle();
    await injector.settle();
    await Promise.all(hostileTasks);
    mainPhase = false;
    const drained = await waitQuiet(admin, opts.quick ? 120_000 : 240_000, 100, workload.submissions.length);
    const drainInfo = drained === null ? 'TIMED OUT' : `${((drained - drainStart) / 1000).toFixed(1)}s after the main phase, ${((drained - injector.lastFaultAt) / 1000).toFixed(1)}s after its last fault (${injector.lastFault})`;
    say(`drain: ${drainInfo}`);

    // ── final: a fresh batch, one kill -9 of the runner holding most of it, time to quiesce ──
    let quiesce: ChaosData['harness']['quiesce'] = null;
    if (drained !== null) {
      for (const s of workload.finalBatch) submitter.submit(s);
      await submitter.settle();
      let victimId: string | undefined;
      for (let i = 0; i < 400 && !victimId; i++) {
        const rows = await admin.sql.all<{ runner_id: unknown; n: unknown }>(
          "SELECT runner_id, COUNT(*) AS n FROM workflow_executions WHERE id LIKE 'final-%' AND status = 'running' GROUP BY runner_id ORDER BY n DESC",
        );
        const live = rows.map((r) => fleet.byInstance(String(r.runner_id))).filter((p) => p?.usable);
        if (live.length && fleet.usable().length > 1) victimId = live[0]?.instanceId;
        else await sleep(25);
      }
      const victim = victimId ? fleet.byInstance(victimId) : undefined;
      if (victim) {
        await sleep(60); // let its step bodies start
        await injector.kill9(victim);
        const lastAt = injector.lastFaultAt;
        const quietAt = await waitQuiet(admin, 60_000, 20, workload.submissions.length + workload.finalBatch.length);
        const workMs = FINAL_STEPS * FINAL_STEP_WORK_MS;
        quiesce = {
          lastFault: `kill9 ${victim.instanceId}`, lastFaultAtMs: lastAt, quiescedAtMs: quietAt, boundMs: failoverBoundMs + workMs,
          terms: { ttl_ms: opts.leaseTtlMs, poll_ms: opts.pollIntervalMs, max_backoff_ms: maxBackoffMs, remaining_work_ms: workMs }, batchIds: workload.finalBatch.map((s) => s.id),
        };
        say(`final: killed ${victim.instanceId}; quiesced ${quietAt === null ? 'NEVER' : `${quietAt - lastAt} ms`} after it`);
      } else {
        say('final: no runner held a final execution long enough to kill it; quiesce not measured');
      }
      await injector.settle();
    }

    // ── stop the runners, load, check ──────────────────────────────────────────────────────
    await fleet.stop(opts.drainTimeoutMs + 5000);
    for (const w of injector.dbWindows) {
      for (const f of injector.failovers) if (f.faultAtMs >= w.downAt - failoverBoundMs && f.faultAtMs <= w.upAt + 15_000) f.excluded = w.label ?? 'MariaDB restart';
    }
    // A hand-off whose release statement lost its connection falls back to the lease TTL.
    const connKills = injector.records.filter((r) => r.kind === 'kill-connections').map((r) => r.atMs);
    for (const f of injector.failovers) {
      if (f.fault === 'sigterm' && !f.excluded && connKills.some((at) => at >= f.faultAtMs - 3000 && at <= f.faultAtMs + (f.latencyMs ?? 60_000))) f.excluded = 'connections killed meanwhile';
    }
    const rows = await retryOnConnection(() => loadChaosRows(admin));
    const data: ChaosData = {
      ...rows,
      harness: {
        submissions: [...submitter.submissions, ...scheduleSubmissions(schedule, rows.executions)], schedule,
        startFailures: submitter.startFailures, sentSignals: submitter.sentSignals, signalFailures: submitter.signalFailures,
        stops: injector.stops, txPauses: injector.txPauses, dbClockOffsetMs: offset, partitions: clusterFaults?.partitions, probes: injector.probes, failovers: injector.failovers, failoverBoundMs, handoffBoundMs, quiesce,
        requireZombies: !opts.quick,
      },
    };
    const results = [...runChecks(data), checkHostile(hostile.results, await retryOnConnection(() => loadHostileErrors(admin, hostile.errorRuns)))];
    const failed = results.filter((r) => !r.ok);
    const steps = rows.events.filter((e) => e.kind === 'step').length;
    out('');
    out(`── invariants (seed ${opts.seed}) ${'─'.repeat(60)}`);
    out(formatChecks(results));
    out('');
    out(`faults: ${faultSummary(injector.records)}; runner restarts ${fleet.restarts}; runner processes ${fleet.all.length}`);
    if (clusterFaults) {
      out(`cluster: writer failovers (kill -9 → first write through the proxy) ${clusterFaults.writerFailovers.map((w) => `node${w.node}→node${w.newWriter ?? '?'} ${w.firstWriteMs ?? 'never'} ms`).join(', ') || 'none'}; ` +
        `partitions ${clusterFaults.partitions.map((p) => `host${p.host} ${p.healedAtMs - p.cutAtMs} ms (${p.runners.length} runners)`).join(', ') || 'none'}; ` +
        `failover samples excluded by cluster faults ${injector.failovers.filter((f) => f.excluded && !/MariaDB/.test(f.excluded)).length}`);
    }
    out(`work: ${rows.executions.length} executions, ${steps} committed steps, ${rows.attempts.length} step bodies run, ${rows.signals.length} signals`);
    out(`timing: total ${((Date.now() - started) / 1000).toFixed(1)}s; drain ${drainInfo}; DB clock offset ${offset.toFixed(1)} ms`);
    out('runner logs (all processes):');
    out(runnerLogSummary(mergeCounts(fleet.all.map((p) => p.counts))));
    const errors = fleet.all.flatMap((p) => p.errors.map((e) => `${p.instanceId}: ${e}`));
    if (errors.length) out(`runner error lines (first 5 of ${errors.length}):\n  ${errors.slice(0, 5).join('\n  ')}`);
    writeFileSync(join(runDir, 'report.json'), JSON.stringify({ options: opts, results, faults: injector.records, cluster: clusterFaults && { writerFailovers: clusterFaults.writerFailovers, partitions: clusterFaults.partitions }, probes: injector.probes, failovers: injector.failovers, stops: injector.stops }, null, 2));
    writeFileSync(join(runDir, 'harness.log'), harnessLog.join('\n'));
    const clusterFlags = opts.cluster ? `--cluster ${opts.long ? '--long ' : ''}${opts.multiWriter ? '--multi-writer ' : ''}--hosts ${opts.hosts} ` : opts.quick ? '--quick ' : '';
    const replay = `npm run chaos -- ${clusterFlags}--seed ${opts.seed} --runners ${opts.runners}${opts.restartDb ? ' --restart-db' : ''}`;
    if (failed.length) {
      out(`RESULT: FAIL — ${failed.length} invariant(s) violated: ${failed.map((r) => r.name).join('; ')}`);
      out(`replay: ${replay}   (logs: ${runDir})`);
      return 1;
    }
    out(`RESULT: PASS — ${results.length} invariants hold (seed ${opts.seed}; replay: ${replay})`);
    return 0;
  } finally {
    await fleet.stop(2000).catch(() => undefined);
    process.off('exit', onExit);
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(clientDbs.map((db) => db.close()));
    await admin.close();
  }
}

let options: ChaosOptions;
try {
  options = parseChaosArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
main(options).then((code) => { process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`chaos harness failed (seed ${options.seed}): ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 3;
});
