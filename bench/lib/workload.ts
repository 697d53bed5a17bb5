/**
 * One throughput workload through runner processes: submit N executions through the public
 * client (16 in flight), wait until all have finished, and read from the database itself how
 * long it took (first created_at → last finished_at, DB clock), with the server's counter
 * deltas and the CPU time of the runners, mariadbd and the bench over the same window.
 */
import { performance } from 'node:perf_hooks';
import type { StartOptions, WorkflowDefinition } from '../../engine';
import { forEachParallel, waitUntil, type BenchContext } from './context';
import { cpuSeconds, machineBusySeconds } from './proc';
import type { RunnerProc } from './runners';
import { epochUs, serverDelta } from './server';
import { statementMark } from './statements';
import { perSecond, perUnit, round, summarize, type Summary } from './stats';

/** Executions the bench submits at once. */
export const SUBMIT_PARALLEL = 16;

/** CPU seconds of the runners, the server and the bench at one instant. */
interface CpuMark { runners: (number | null)[]; server: number | null; bench: number; machine: number | null; at: number }

function cpuMark(ctx: BenchContext, runners: readonly RunnerProc[]): CpuMark {
  const u = process.cpuUsage();
  return {
    runners: runners.map((r) => r.cpuSeconds()),
    server: ctx.serverPid ? cpuSeconds(ctx.serverPid) : null,
    bench: (u.user + u.system) / 1e6,
    machine: machineBusySeconds(),
    at: performance.now(),
  };
}

/** CPU used between two marks: seconds, and share of one core over the window. */
export interface CpuUse {
  window_s: number | null;
  runners_s: number | null;
  server_s: number | null;
  bench_s: number | null;
  /** Percent of one core (200 = both cores of this machine). */
  runners_pct: number | null;
  server_pct: number | null;
  bench_pct: number | null;
  /** Whole machine busy, all cores (200 = both cores of a 2-core machine). */
  machine_pct: number | null;
  /**
   * CPU taken by processes outside this bench (other users' tests…) in the window, % of one
   * core: machine busy − runners − mariadbd − bench. Above ~20 the figures are unreliable.
   */
  others_pct: number | null;
}

function cpuUse(a: CpuMark, b: CpuMark): CpuUse {
  const window = (b.at - a.at) / 1000;
  const runnerDeltas = a.runners.map((v, i) => (v === null || b.runners[i] === null ? null : (b.runners[i] as number) - v));
  const runners = runnerDeltas.some((v) => v === null) ? null : runnerDeltas.reduce<number>((s, v) => s + (v as number), 0);
  const server = a.server === null || b.server === null ? null : b.server - a.server;
  const bench = b.bench - a.bench;
  const machine = a.machine === null || b.machine === null ? null : b.machine - a.machine;
  const others = machine === null || runners === null || server === null ? null : Math.max(0, machine - runners - server - bench);
  const pct = (v: number | null) => (v === null || window <= 0 ? null : round((v / window) * 100, 0));
  return {
    window_s: round(window, 2), runners_s: round(runners, 2), server_s: round(server, 2), bench_s: round(bench, 2),
    runners_pct: pct(runners), server_pct: pct(server), bench_pct: pct(bench), machine_pct: pct(machine), others_pct: pct(others),
  };
}

/** What one workload measured. */
export interface WorkloadResult {
  workflow: string;
  executions: number;
  steps_per_workflow: number;
  completed: number;
  failed: number;
  elapsed_ms: number | null;
  workflows_per_s: number | null;
  steps_per_s: number | null;
  /** Time to submit them all (the client's INSERTs, 16 in flight). */
  submit_ms: number;
  /** submit → complete of each execution, under this backlog (queueing included). */
  complete_ms: Summary;
  /**
   * Statements counted exactly on the client side (every runner process and the bench's
   * submits), immune to other clients of the server.
   */
  statements: {
    runners_per_step: number | null; runners_per_workflow: number | null; submit_per_workflow: number | null; total_per_step: number | null;
    /** Commits (COMMIT + autocommit writes), counted the same way: runners', and with the submits. */
    runner_commits_per_step: number | null; commits_per_step: number | null;
  };
  /** Server counters (GLOBAL STATUS deltas minus the bench monitor's own) per step and per workflow. */
  per_step: Record<string, number | null>;
  per_workflow: Record<string, number | null>;
  /** CPU µs per committed step: runner processes, mariadbd, and both (the figure). */
  cpu: CpuUse & { runner_us_per_step: number | null; server_us_per_step: number | null; total_us_per_step: number | null };
  /** Highest VmHWM among the runner processes after the workload, MB. */
  runner_peak_rss_mb: number | null;
  /** BENCH_SQL_KINDS=1 only: the runners' statements per workflow by their first 40 characters. */
  runner_statement_kinds_per_workflow?: Record<string, number>;
}

/** A workload to run. */
export interface WorkloadSpec<I> {
  workflow: WorkflowDefinition<I, unknown>;
  count: number;
  /** ctx.step calls per execution (for per-step figures). */
  stepsPerWorkflow: number;
  input: (i: number) => I;
  /** Start options of execution i (priority…). */
  options?: (i: number) => StartOptions;
}

/** Submit `spec.count` executions and wait for all of them; measure. */
export async function runWorkload<I>(ctx: BenchContext, runners: readonly RunnerProc[], spec: WorkloadSpec<I>): Promise<WorkloadResult> {
  const batch = await startBatch(ctx, spec.workflow.name);
  const before = await ctx.monitor.counters();
  const stmts0 = await statementMark(runners, ctx.monitor);
  const cpu0 = cpuMark(ctx, runners);
  const t0 = performance.now();
  await forEachParallel(spec.count, SUBMIT_PARALLEL, async (i) => {
    await ctx.client.start(spec.workflow, spec.input(i), spec.options?.(i));
  });
  const submitMs = performance.now() - t0;
  await waitFinished(ctx, batch, spec.count, Math.max(60_000, spec.count * spec.stepsPerWorkflow * 20));
  const cpu1 = cpuMark(ctx, runners);
  const stmts1 = await statementMark(runners, ctx.monitor);
  const after = await ctx.monitor.counters();
  const t = await batchTimings(ctx, batch);
  const steps = t.completed * spec.stepsPerWorkflow;
  const delta = serverDelta(before, after);
  const use = cpuUse(cpu0, cpu1);
  const byRunners = stmts0.runners === null || stmts1.runners === null ? null : stmts1.runners - stmts0.runners;
  const bySubmit = stmts1.bench - stmts0.bench;
  const commitsR = stmts0.runnerCommits === null || stmts1.runnerCommits === null ? null : stmts1.runnerCommits - stmts0.runnerCommits;
  const per = (v: number | null, units: number) => (v === null || units <= 0 ? null : round(v / units, 2));
  const peaks = runners.map((r) => r.memory().hwmMb).filter((v): v is number => v !== null);
  return {
    workflow: spec.workflow.name,
    executions: spec.count,
    steps_per_workflow: spec.stepsPerWorkflow,
    completed: t.completed,
    failed: t.failed,
    elapsed_ms: round(t.elapsedMs, 0),
    workflows_per_s: round(perSecond(t.completed, t.elapsedMs ?? NaN), 1),
    steps_per_s: spec.stepsPerWorkflow > 0 ? round(perSecond(steps, t.elapsedMs ?? NaN), 0) : null,
    submit_ms: round(submitMs, 0) as number,
    complete_ms: summarize(t.completeMs),
    statements: {
      runners_per_step: per(byRunners, steps), runners_per_workflow: per(byRunners, t.completed),
      submit_per_workflow: per(bySubmit, t.completed), total_per_step: per(byRunners === null ? null : byRunners + bySubmit, steps),
      runner_commits_per_step: per(commitsR, steps),
      commits_per_step: per(commitsR === null ? null : commitsR + (stmts1.benchCommits - stmts0.benchCommits), steps),
    },
    per_step: spec.stepsPerWorkflow > 0 ? perUnit(delta, steps, 2) : {},
    per_workflow: perUnit(delta, t.completed, 2),
    cpu: {
      ...use,
      runner_us_per_step: use.runners_s === null || steps === 0 ? null : round((use.runners_s * 1e6) / steps, 0),
      server_us_per_step: use.server_s === null || steps === 0 ? null : round((use.server_s * 1e6) / steps, 0),
      total_us_per_step: use.runners_s === null || use.server_s === null || steps === 0 ? null : round(((use.runners_s + use.server_s) * 1e6) / steps, 0),
    },
    runner_peak_rss_mb: peaks.length ? Math.max(...peaks) : null,
    ...(Object.keys(stmts1.kinds).length ? { runner_statement_kinds_per_workflow: kindsPer(stmts0.kinds, stmts1.kinds, t.completed) } : {}),
  };
}

/** BENCH_SQL_KINDS=1: what the runners sent in the window, per workflow, most first. */
function kindsPer(k0: Record<string, number>, k1: Record<string, number>, workflows: number): Record<string, number> {
  return Object.fromEntries(Object.entries(k1).map(([k, v]) => [k.slice(4), round((v - (k0[k] ?? 0)) / Math.max(1, workflows), 3) as number] as const)
    .filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]));
}

/**
 * A batch: the executions of one workflow created since a DB-clock instant. Ids stay the
 * client's random UUIDs (as in production: history inserts land all over the primary key),
 * and sections run one after another, so (workflow, since) identifies a batch.
 */
export interface Batch {
  workflow: string;
  /** UTC_TIMESTAMP(3) before the first submit, as the server formats it. */
  since: string;
}

/** Mark the start of a batch of `workflow` executions. */
export async function startBatch(ctx: BenchContext, workflow: string): Promise<Batch> {
  const [row] = await ctx.monitor.query<{ t: string }>('SELECT UTC_TIMESTAMP(3) AS t');
  return { workflow, since: String(row.t) };
}

/** Wait until `count` executions of `batch` have finished. */
export async function waitFinished(ctx: BenchContext, batch: Batch, count: number, timeoutMs: number): Promise<void> {
  await waitUntil(async () => (await ctx.monitor.scalar(
    "SELECT COUNT(*) FROM workflow_executions WHERE workflow_name = ? AND status IN ('completed', 'failed', 'cancelled') AND created_at >= ?",
    [batch.workflow, batch.since],
  )) === count, { timeoutMs, intervalMs: 50, what: `${count} ${batch.workflow} executions to finish` });
}

/** Timings of a finished batch, all on the DB clock. */
export interface BatchTimings {
  completed: number;
  failed: number;
  /** First created_at → last finished_at. */
  elapsedMs: number | null;
  /** created_at → finished_at of each execution. */
  completeMs: number[];
  /** created_at → the first history event (seq 0) of each execution. */
  firstEventMs: number[];
}

/** Read the timings of the executions of `batch`. */
export async function batchTimings(ctx: BenchContext, batch: Batch): Promise<BatchTimings> {
  const rows = await ctx.monitor.query<{ status: string; created: number; finished: number | null; first_event: number | null }>(
    `SELECT e.status, ${epochUs('e.created_at')} AS created, ${epochUs('e.finished_at')} AS finished, ` +
      `(SELECT ${epochUs('v.created_at')} FROM workflow_events v WHERE v.execution_id = e.id AND v.seq = 0) AS first_event ` +
      // Every status listed, so the (workflow_name, status, created_at) index serves it with 1M rows of the same workflow.
      "FROM workflow_executions e WHERE e.workflow_name = ? AND e.status IN ('queued', 'running', 'waiting', 'completed', 'failed', 'cancelled') " +
      'AND e.created_at >= ?',
    [batch.workflow, batch.since],
  );
  let first = Infinity;
  let last = -Infinity;
  const completeMs: number[] = [];
  const firstEventMs: number[] = [];
  for (const r of rows) {
    const created = Number(r.created);
    first = Math.min(first, created);
    if (r.finished !== null) {
      last = Math.max(last, Number(r.finished));
      completeMs.push((Number(r.finished) - created) / 1000);
    }
    if (r.first_event !== null) firstEventMs.push((Number(r.first_event) - created) / 1000);
  }
  return {
    completed: rows.filter((r) => r.status === 'completed').length,
    failed: rows.filter((r) => r.status !== 'completed').length,
    elapsedMs: Number.isFinite(first) && Number.isFinite(last) ? (last - first) / 1000 : null,
    completeMs,
    firstEventMs,
  };
}
