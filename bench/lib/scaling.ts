/**
 * Issue 16, item 3. `runners`: the main workload through 1, 2, 4 runner processes (a fresh fleet
 * per point, warmed up first), as two curves: scale-out (every runner keeps the same slots, C,
 * as replicas of one deployment do; the target: throughput must not fall as runners are added)
 * and split (C in flight in total, ceil(C / R) each: shows what a runner with few slots costs,
 * fewer checkpoints per group commit and more event-loop wake-ups per step; reported, no target).
 * `claim`: claim latency with N (10,000) executions queued — one claim transaction of up to
 * 10 due executions, from the bench process, for a workflow no runner serves.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { claimExecutions } from '../../engine/store/claims';
import { benchSteps } from '../workloads/workflows';
import type { BenchContext } from './context';
import { spawnRunners, stopRunners } from './runners';
import { ratio, round, summarize, type Summary } from './stats';
import { runWorkload } from './workload';

/** One point of the runner curve. */
export interface ScalingPoint {
  runners: number;
  per_runner_concurrency: number;
  workflows_per_s: number | null;
  steps_per_s: number | null;
  runner_us_per_step: number | null;
  server_us_per_step: number | null;
  total_us_per_step: number | null;
  /** Exact statements and commits per step (runners + submits): smaller batches per runner show here. */
  statements_per_step: number | null;
  commits_per_step: number | null;
  others_pct: number | null;
}

/** The runner curve. */
export interface ScalingResult {
  /** Scale-out: every runner with C slots. */
  points: ScalingPoint[];
  /** min over consecutive points of wf/s(next) ÷ wf/s(previous); ≥ 1 means it never fell. */
  min_step_ratio: number | null;
  /** C split over the runners (ceil(C / R) slots each). */
  split: ScalingPoint[];
  split_min_step_ratio: number | null;
}

/** Run the main workload through each runner count of `--scaling`. */
export async function measureRunnerScaling(ctx: BenchContext): Promise<ScalingResult> {
  const points = await curve(ctx, () => ctx.opts.concurrency);
  const split = await curve(ctx, (n) => Math.ceil(ctx.opts.concurrency / n));
  return { points, min_step_ratio: minRatio(points), split, split_min_step_ratio: minRatio(split) };
}

function minRatio(points: readonly ScalingPoint[]): number | null {
  const ratios = points.slice(1).map((p, i) => ratio(p.workflows_per_s, points[i].workflows_per_s)).filter((v): v is number => v !== null);
  return ratios.length ? round(Math.min(...ratios), 3) : null;
}

async function curve(ctx: BenchContext, slots: (runners: number) => number): Promise<ScalingPoint[]> {
  const points: ScalingPoint[] = [];
  for (const n of ctx.opts.scaling) {
    const per = slots(n);
    ctx.log(`runners: ${n} runner processes × ${per}`);
    const fleet = await spawnRunners(n, (i) => ({ dbUrl: ctx.url, instanceId: `bench-scaling-${n}-${i}-${process.pid}`, concurrency: per }));
    try {
      const spec = { workflow: benchSteps, stepsPerWorkflow: ctx.opts.steps, input: () => ({ steps: ctx.opts.steps }) };
      // Every process gets the warm-up one runner gets (JIT tiers are per process).
      if (ctx.opts.warmup > 0) await runWorkload(ctx, fleet, { ...spec, count: ctx.opts.warmup * n });
      const w = await runWorkload(ctx, fleet, { ...spec, count: ctx.opts.workflows });
      points.push({
        runners: n, per_runner_concurrency: per, workflows_per_s: w.workflows_per_s, steps_per_s: w.steps_per_s,
        runner_us_per_step: w.cpu.runner_us_per_step, server_us_per_step: w.cpu.server_us_per_step,
        total_us_per_step: w.cpu.total_us_per_step, others_pct: w.cpu.others_pct,
        statements_per_step: w.statements.total_per_step, commits_per_step: w.statements.commits_per_step,
      });
    } finally {
      await stopRunners(fleet);
    }
  }
  return points;
}

const PROBE_WORKFLOW = 'bench-claim-queue-probe';
const PROBE_OWNER = 'bench-claim-queue-owner';
/** Claims timed (10 executions each): the queue goes from N to N − 3,000 while measured. */
const CLAIMS = 300;

/** Claim latency with a deep queue. */
export interface ClaimResult {
  queued: number;
  claims: number;
  per_claim: number;
  claim_ms: Summary;
}

/** Queue `opts.claimQueued` executions, time CLAIMS claims of 10, clean up. */
export async function measureClaimLatency(ctx: BenchContext): Promise<ClaimResult> {
  const queued = ctx.opts.claimQueued;
  ctx.log(`claim: queueing ${queued} executions`);
  for (let from = 0; from < queued; from += 1000) {
    const values = Array.from({ length: Math.min(1000, queued - from) }, () =>
      `('${randomUUID()}', '${PROBE_WORKFLOW}', 1, 1, 'queued', 'null', UTC_TIMESTAMP(6) - INTERVAL 1 SECOND, 0, 0, 0, 0, UTC_TIMESTAMP(3), UTC_TIMESTAMP(6))`);
    await ctx.monitor.query(
      'INSERT INTO workflow_executions (id, workflow_name, workflow_version, admitted, status, input, available_at, lease_token, next_seq, ' +
        `step_attempt, attempt, created_at, updated_at) VALUES ${values.join(', ')}`,
    );
  }
  await ctx.monitor.query('ANALYZE TABLE workflow_executions');
  const store = ctx.client.db.sql;
  const times: number[] = [];
  try {
    for (let i = 0; i < Math.min(CLAIMS, Math.floor(queued / 10)); i++) {
      const t = performance.now();
      const got = await claimExecutions(store, { owner: PROBE_OWNER, workflows: [PROBE_WORKFLOW], limit: 10, leaseTtlMs: 60_000 });
      times.push(performance.now() - t);
      if (got.length === 0) throw new Error('claim: the queue ran dry');
    }
  } finally {
    await ctx.monitor.query('DELETE FROM workflow_executions WHERE workflow_name = ?', [PROBE_WORKFLOW]);
    await ctx.monitor.query('DELETE FROM distributed_locks WHERE owner = ?', [PROBE_OWNER]);
  }
  return { queued, claims: times.length, per_claim: 10, claim_ms: summarize(times, 2) };
}
