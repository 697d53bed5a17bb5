/**
 * Scale: claim latency, idle-poll latency and steps/s with 10,000 and then with 1,000,000
 * finished executions (and their history) in the tables. The bench tables are emptied first
 * (this section runs last), seeded in bulk, analysed, and measured at each point with the same
 * runner processes. Target: the big point is at most 1.3× slower than the small one.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { claimExecutions, hasDueWork } from '../../engine/store/claims';
import { benchSteps } from '../workloads/workflows';
import type { BenchContext } from './context';
import { spawnRunners, stopRunners, type RunnerProc } from './runners';
import { seedFinished } from './seed';
import { ratio, round, summarize, type Summary } from './stats';
import { runWorkload, type WorkloadResult } from './workload';

const SMALL = 10_000;
const PROBE_WORKFLOW = 'bench-claim-probe';
const PROBE_OWNER = 'bench-claim-probe-owner';
/** Queued executions claimed 10 at a time for the claim latency. */
const PROBES = 500;

/** One scale point. */
export interface ScalePoint {
  finished_executions: number;
  seed_ms: number;
  /** One claim transaction of up to 10 due executions, from the bench process. */
  claim_ms: Summary;
  /** The idle poll's one statement ("anything due?") with nothing due. */
  idle_poll_ms: Summary;
  workload: WorkloadResult;
}

/** The scale section's result. */
export interface ScaleResult {
  small: ScalePoint;
  large: ScalePoint;
  /** steps/s at 10k ÷ steps/s at the large point (≤ 1.3 is the target). */
  slowdown: number | null;
  claim_p50_ratio: number | null;
  /** CPU per step at the large point ÷ at 10k (less disturbed by other load than steps/s). */
  runner_cpu_per_step_ratio: number | null;
  server_cpu_per_step_ratio: number | null;
}

/** Run the scale section. */
export async function measureScale(ctx: BenchContext): Promise<ScaleResult> {
  const { scaleRows, scaleEvents, runners: r } = ctx.opts;
  for (const t of ['workflow_events', 'workflow_executions', 'distributed_locks', 'workflow_signals', 'workflow_templates']) {
    await ctx.monitor.query(`TRUNCATE TABLE ${t}`);
  }
  const runners = await spawnRunners(r, (i) => ({ dbUrl: ctx.url, instanceId: `bench-scale-${i}-${process.pid}`, concurrency: ctx.perRunner }));
  try {
    const seedOpts = { total: scaleRows, events: scaleEvents, workflow: benchSteps.name };
    ctx.log(`scale: seeding ${SMALL} finished executions × ${scaleEvents} events`);
    let t0 = performance.now();
    await seedFinished(ctx.monitor, { ...seedOpts, from: 0, to: SMALL });
    await analyze(ctx);
    const small = await point(ctx, runners, SMALL, performance.now() - t0);
    ctx.log(`scale: seeding up to ${scaleRows} finished executions × ${scaleEvents} events`);
    t0 = performance.now();
    await seedFinished(ctx.monitor, { ...seedOpts, from: SMALL, to: scaleRows });
    await analyze(ctx);
    const large = await point(ctx, runners, scaleRows, performance.now() - t0);
    return {
      small, large,
      slowdown: round(ratio(small.workload.steps_per_s, large.workload.steps_per_s), 3),
      claim_p50_ratio: round(ratio(large.claim_ms.p50, small.claim_ms.p50), 3),
      runner_cpu_per_step_ratio: round(ratio(large.workload.cpu.runner_us_per_step, small.workload.cpu.runner_us_per_step), 3),
      server_cpu_per_step_ratio: round(ratio(large.workload.cpu.server_us_per_step, small.workload.cpu.server_us_per_step), 3),
    };
  } finally {
    await stopRunners(runners);
  }
}

async function analyze(ctx: BenchContext): Promise<void> {
  await ctx.monitor.query('ANALYZE TABLE workflow_executions, workflow_events');
}

async function point(ctx: BenchContext, runners: readonly RunnerProc[], rows: number, seedMs: number): Promise<ScalePoint> {
  ctx.log(`scale: measuring at ${rows} finished executions`);
  const { claim, idle } = await claimLatency(ctx);
  const workload = await runWorkload(ctx, runners, {
    workflow: benchSteps, count: ctx.opts.workflows, stepsPerWorkflow: ctx.opts.steps, input: () => ({ steps: ctx.opts.steps }),
  });
  return { finished_executions: rows, seed_ms: round(seedMs, 0) as number, claim_ms: claim, idle_poll_ms: idle, workload };
}

/** Claim PROBES due executions of a workflow no runner serves, 10 per claim, timing each claim. */
async function claimLatency(ctx: BenchContext): Promise<{ claim: Summary; idle: Summary }> {
  const store = ctx.client.db.sql;
  const idle: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await hasDueWork(store, [PROBE_WORKFLOW]);
    idle.push(performance.now() - t);
  }
  const values = Array.from({ length: PROBES }, () =>
    `('${randomUUID()}', '${PROBE_WORKFLOW}', 1, 0, 'queued', 'null', UTC_TIMESTAMP(6) - INTERVAL 1 SECOND, 0, 0, 0, 0, UTC_TIMESTAMP(3), UTC_TIMESTAMP(6))`);
  await ctx.monitor.query(
    'INSERT INTO workflow_executions (id, workflow_name, workflow_version, admitted, status, input, available_at, lease_token, next_seq, ' +
      `step_attempt, attempt, created_at, updated_at) VALUES ${values.join(', ')}`,
  );
  const claim: number[] = [];
  for (;;) {
    const t = performance.now();
    const got = await claimExecutions(store, { owner: PROBE_OWNER, workflows: [PROBE_WORKFLOW], limit: 10, leaseTtlMs: 60_000 });
    if (got.length === 0) break;
    claim.push(performance.now() - t);
  }
  await ctx.monitor.query('DELETE FROM workflow_executions WHERE workflow_name = ?', [PROBE_WORKFLOW]);
  await ctx.monitor.query('DELETE FROM distributed_locks WHERE owner = ?', [PROBE_OWNER]);
  return { claim: summarize(claim, 2), idle: summarize(idle, 2) };
}
