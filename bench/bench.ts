/**
 * `npm run bench`: leaseflow's throughput, latency, failover, idle cost, memory and scale on a
 * MySQL-family server, next to the same server's raw limit for a step-shaped transaction,
 * measured in the same run. Work runs through R runner PROCESSES with ceil(C / R) executions
 * each (C in flight in total); the bench process submits through the public client and reads
 * figures from the database clock and the server's own counters. One JSON object on stdout
 * with --json; a readable table and PASS/FAIL lines on stderr always. See --help.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { loadavg, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createClient, openDatabase, parseDbUrl } from '../engine';
import { clusterBench } from './cluster/cluster-bench';
import { measureLimit } from './limit';
import { sleep, type BenchContext } from './lib/context';
import { measureFailover, POLL_INTERVAL_MS } from './lib/failover';
import { measureIdle } from './lib/idle';
import { inProcessLatency, pacedLatency, SPARSE } from './lib/latency';
import { measureMemory } from './lib/memory';
import { parseBenchArgs, type BenchOptions, type Section } from './lib/options';
import { findPidByName, findServerPidByPort } from './lib/proc';
import { formatReport, targets, type BenchResult, type TemplateResult } from './lib/report';
import { killAllRunnersSync, spawnRunners, stopRunners, type RunnerProc } from './lib/runners';
import { measureScale } from './lib/scale';
import { measureClaimLatency, measureRunnerScaling } from './lib/scaling';
import { formatProfile, monoUs, summariseProfileDir } from './lib/profile';
import { epochUs, Monitor, recreateDatabase } from './lib/server';
import { perRunnerConcurrency, ratio, round } from './lib/stats';
import { runWorkload, startBatch } from './lib/workload';
import { countBenchStatementsTo } from './lib/statements';
import { prioritizedWorkload, rateLimitedWorkload } from './lib/flow-workloads';
import { benchOneStep, benchSleep, benchSteps, benchTemplate } from './workloads/workflows';

const TEMPLATE_KEYS = 20;
/** The engine's pool size per runner process (runner/main.ts has no setting for it). */
const RUNNER_POOL_MAX = 10;

const NOTES = [
  'Server counters are GLOBAL STATUS deltas minus the bench monitor\'s own statements; other databases on the same server add noise (performance_schema is off, so they cannot be told apart).',
  'Statement counts under "statements" are exact: counted inside each runner process and the bench (protocol commands sent to the DB port), so other clients cannot disturb them; idle_queries_per_s uses them (the server-side figure is idle.per_runner_qps).',
  'Per-step/per-workflow counters include the client\'s submit INSERT and the completion commit, divided over the steps.',
  'Times come from the DB clock: submit = execution created_at (ms precision), first step = history event seq 0 created_at, complete = finished_at.',
  'Concurrency C is the total in flight: each of R runner processes gets ceil(C/R); each runner pool has at most 10 connections (engine default), the limit loop uses C connections.',
  'Failover = SIGKILL of a runner → first history event of one of its executions under a newer lease token (the survivor\'s first commit), DB clock.',
  'mariadbd CPU is the server process listening on the --db port (found through /proc/net/tcp): it serves every database on that server, so other clients\' work lands in it too (others_pct shows the machine-wide remainder).',
  'CPU µs/step = CPU seconds of the runner processes (/proc/<pid>/stat utime+stime) and of mariadbd over the workload window ÷ committed steps; a warm-up of --warmup workflows per runner process (default 1000: a fresh process spends its first few thousand workflows compiling hot code, ~2× the runner CPU per step; --warmup 100 shows that cold figure) runs first and is not counted.',
  'The memory figure is VmHWM of one runner after it took N executions into waitForSignal; the engine suspends such waits (lease and slot released).',
];

async function main(): Promise<void> {
  if (process.argv.includes('--cluster')) {
    process.exitCode = await clusterBench(process.argv.slice(2));
    return;
  }
  let opts: BenchOptions;
  try {
    opts = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    const help = process.argv.includes('--help') || process.argv.includes('-h');
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = help ? 0 : 2;
    return;
  }
  process.once('exit', killAllRunnersSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { killAllRunnersSync(); process.exit(130); });

  const startedAt = new Date();
  const t0 = performance.now();
  const log = (m: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);
  const url = opts.db;
  countBenchStatementsTo(parseDbUrl(url).port ?? 3306);
  log(`recreating ${parseDbUrl(url).dbName}`);
  await recreateDatabase(url);
  const db = await openDatabase(url, { poolMax: 16 });
  await db.migrate();
  const client = await createClient({ db });
  const monitor = await Monitor.open(url);
  const host = parseDbUrl(url).host;
  const local = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  const ctx: BenchContext = {
    opts, url, monitor, client, log,
    serverPid: local ? findServerPidByPort(parseDbUrl(url).port ?? 3306, ['mariadbd', 'mysqld']) ?? findPidByName(['mariadbd', 'mysqld']) : null,
    perRunner: perRunnerConcurrency(opts.concurrency, opts.runners),
  };
  const [ver] = await monitor.query<{ v: string }>('SELECT VERSION() AS v');
  const r: BenchResult = {
    started_at: startedAt.toISOString(), duration_s: 0, db: db.url, server: ver?.v ?? null, quick: opts.quick,
    config: {
      workflows: opts.workflows, steps: opts.steps, runners: opts.runners, concurrency: opts.concurrency, per_runner_concurrency: ctx.perRunner,
      runner_pool_max: RUNNER_POOL_MAX, poll_interval_ms: POLL_INTERVAL_MS, lease_ttl_ms: 15_000, submit_parallel: 16,
      sections: [...opts.sections].join(','), warmup_workflows: opts.warmup,
    },
    steps_per_s: null, limit_steps_per_s: null, ratio: null, workflows_per_s: null, failover_ms: null, idle_queries_per_s: null,
    limit: null, workloads: {}, latency: {}, idle: null, failover: {}, memory: null, scale: null, runner_scaling: null, claim: null, profile: null,
    targets: [], errors: [],
    machine: { cpus: cpus().length, loadavg_start: loadavg().map((v) => round(v, 2) as number), loadavg_end: [] },
    notes: [...NOTES],
  };

  const run = async (section: Section | string, fn: () => Promise<void>, enabled = opts.sections.has(section as Section)) => {
    if (!enabled) return;
    const s0 = performance.now();
    log(`${section}: start`);
    try {
      await fn();
    } catch (err) {
      r.errors.push({ section, message: (err as Error).message });
      log(`${section}: FAILED ${(err as Error).stack}`);
    }
    log(`${section}: done in ${((performance.now() - s0) / 1000).toFixed(1)} s`);
  };

  try {
    await run('limit', async () => { r.limit = await measureLimit(url, opts.concurrency, opts.limitSeconds); });

    // Throughput workloads and cross-process latency share one fleet of R runner processes.
    const fleetSections: Section[] = ['steps', 'one-step', 'sleep', 'template', 'rate-limited', 'priority', 'latency'];
    let fleet: RunnerProc[] = [];
    const profileDir = opts.profileDir === null ? null : opts.profileDir || mkdtempSync(join(tmpdir(), 'leaseflow-prof-'));
    if (profileDir) mkdirSync(profileDir, { recursive: true });
    /** Measured windows of the fleet, on the monotonic clock (the profile counts only these). */
    const windows: [number, number][] = [];
    await run('spawn runners', async () => {
      fleet = await spawnRunners(opts.runners, (i) => ({ dbUrl: url, instanceId: `bench-runner-${i}-${process.pid}`, concurrency: ctx.perRunner, profileDir }));
      await sleep(500);
      // Warm-up, per runner process: JIT (TurboFan settles after a few thousand workflows), pools, buffer pool; not counted.
      if (opts.warmup > 0) await runWorkload(ctx, fleet, { workflow: benchSteps, count: opts.warmup * fleet.length, stepsPerWorkflow: opts.steps, input: () => ({ steps: opts.steps }) });
    }, fleetSections.some((s) => opts.sections.has(s)));
    const withFleet = async (fn: () => Promise<void>) => {
      if (fleet.length === 0) throw new Error('no runner processes (spawning failed)');
      const from = monoUs();
      await fn();
      windows.push([from, monoUs()]);
      await sleep(300);
    };
    await run('steps', () => withFleet(async () => {
      r.workloads.steps = await runWorkload(ctx, fleet, { workflow: benchSteps, count: opts.workflows, stepsPerWorkflow: opts.steps, input: () => ({ steps: opts.steps }) });
    }));
    await run('one-step', () => withFleet(async () => {
      r.workloads.one_step = await runWorkload(ctx, fleet, { workflow: benchOneStep, count: opts.workflows, stepsPerWorkflow: 1, input: () => null });
    }));
    await run('sleep', () => withFleet(async () => {
      r.workloads.sleep = await runWorkload(ctx, fleet, { workflow: benchSleep, count: Math.ceil(opts.workflows / 4), stepsPerWorkflow: 1, input: () => ({ ms: 100 }) });
    }));
    await run('template', () => withFleet(async () => {
      const count = opts.quick ? 60 : Math.ceil(opts.workflows / 5);
      const batch = await startBatch(ctx, benchTemplate.name);
      const w = await runWorkload(ctx, fleet, { workflow: benchTemplate, count, stepsPerWorkflow: 1, input: (i) => ({ key: `k${i % TEMPLATE_KEYS}` }) });
      r.workloads.template = { ...w, keys: TEMPLATE_KEYS, limit: 1, overlapping_pairs: await templateOverlaps(ctx, batch.since) } satisfies TemplateResult;
    }));
    await run('rate-limited', () => withFleet(async () => {
      r.workloads.rate_limited = await rateLimitedWorkload(ctx, fleet, opts.quick ? 100 : Math.ceil(opts.workflows / 4));
    }));
    await run('priority', () => withFleet(async () => {
      r.workloads.priority = await prioritizedWorkload(ctx, fleet, opts.quick ? 200 : opts.workflows);
    }));
    await run('latency (across processes)', () => withFleet(async () => { r.latency.cross_process = await pacedLatency(ctx); }), opts.sections.has('latency'));
    await run('latency (across processes, sparse)', () => withFleet(async () => { r.latency.cross_process_sparse = await pacedLatency(ctx, SPARSE); }), opts.sections.has('latency'));
    await stopRunners(fleet);
    if (profileDir && fleet.length) {
      await run('profile', async () => {
        r.profile = { dir: profileDir, windows_us: windows, ...summariseProfileDir(profileDir, windows) };
      }, true);
    }
    await run('latency (in-process)', async () => { r.latency.in_process = await inProcessLatency(ctx); }, opts.sections.has('latency'));
    await run('idle', async () => { r.idle = await measureIdle(ctx); });
    await run('failover', async () => { r.failover.ttl_3s = await measureFailover(ctx, '3s', opts.failoverTrials); });
    await run('failover (default TTL)', async () => { r.failover.ttl_default = await measureFailover(ctx, undefined, opts.failoverTrials); },
      opts.sections.has('failover') && opts.failoverDefault);
    await run('memory', async () => { r.memory = await measureMemory(ctx); });
    await run('runners', async () => { r.runner_scaling = await measureRunnerScaling(ctx); });
    await run('claim', async () => { r.claim = await measureClaimLatency(ctx); });
    await run('scale', async () => { r.scale = await measureScale(ctx); });
  } finally {
    killAllRunnersSync();
    await monitor.close();
    await client.close();
    await db.close();
  }

  r.steps_per_s = r.workloads.steps?.steps_per_s ?? null;
  r.workflows_per_s = r.workloads.steps?.workflows_per_s ?? null;
  r.limit_steps_per_s = r.limit?.steps_per_s ?? null;
  r.ratio = round(ratio(r.steps_per_s, r.limit_steps_per_s), 3);
  r.failover_ms = r.failover.ttl_3s?.median_ms ?? null;
  r.idle_queries_per_s = r.idle?.per_runner_client_qps ?? r.idle?.per_runner_qps ?? null;
  r.machine.loadavg_end = loadavg().map((v) => round(v, 2) as number);
  r.duration_s = round((performance.now() - t0) / 1000, 1) as number;
  r.targets = targets(r, POLL_INTERVAL_MS);
  if (opts.quick) r.notes.push('QUICK run: a 200-workflow window lasts about a second and is dominated by ramp-up, so the throughput targets (wf/s, ratio) are only meaningful at the default sizes.');
  for (const [name, w] of Object.entries(r.workloads)) {
    if (w && (w.cpu.others_pct ?? 0) > 20) {
      r.notes.push(`BUSY MACHINE: other processes used ${w.cpu.others_pct}% of a core during the ${name} workload; its figures (and anything measured near it) are unreliable.`);
    }
  }
  process.stderr.write(`\n${formatReport(r)}`);
  if (r.profile) process.stderr.write(`\n${formatProfile(r.profile, r.profile.dir)}`);
  if (opts.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  if (r.errors.length) process.exitCode = 1;
  else if (opts.strict && r.targets.some((t) => t.verdict === 'FAIL')) process.exitCode = 1;
  // An in-process runner that was ever at full capacity leaves a poller timer armed for up to
  // 20 × pollInterval (engine/runner/poller.ts); do not let it hold the bench open.
  setTimeout(() => process.exit(), 1000).unref();
}

/** Pairs of executions of one template key whose runs overlapped (must be 0 with limit 1). */
async function templateOverlaps(ctx: BenchContext, since: string): Promise<number> {
  const rows = await ctx.monitor.query<{ k: string; s: number; f: number }>(
    `SELECT template_key AS k, ${epochUs('started_at')} AS s, ${epochUs('finished_at')} AS f FROM workflow_executions ` +
      "WHERE workflow_name = ? AND status = 'completed' AND created_at >= ? ORDER BY template_key, started_at",
    [benchTemplate.name, since],
  );
  let overlaps = 0;
  for (let i = 1; i < rows.length; i++) if (rows[i].k === rows[i - 1].k && Number(rows[i].s) < Number(rows[i - 1].f)) overlaps++;
  return overlaps;
}

main().catch((err: Error) => {
  killAllRunnersSync();
  process.stderr.write(`bench failed: ${err.stack}\n`);
  process.exitCode = 1;
});
