/**
 * The flow-control workloads of issue 13: rate-limited and prioritised starts through the same
 * runner fleet as the other throughput workloads, each with workflows/s and exact statements per
 * workflow (runWorkload), plus what proves the flow control held: the worst number of starts of
 * one key in any one-second window of the DB clock, and the queueing time per priority.
 */
import type { BenchContext } from './context';
import type { RunnerProc } from './runners';
import { epochUs } from './server';
import { summarize, type Summary } from './stats';
import { runWorkload, startBatch, type WorkloadResult } from './workload';
import { BENCH_RATE_PER_KEY, benchPrioritized, benchRated } from '../workloads/workflows';

/** Keys of the rate-limited workload. */
export const RATE_KEYS = 10;
/** Priorities of the prioritised workload: i % PRIORITIES. */
export const PRIORITIES = 4;

export type RateLimitedResult = WorkloadResult & {
  keys: number; limit_per_key_per_s: number; allowed_per_s: number;
  /** Most starts of one key in any 1 s window (started_at, DB clock); the bound is limit + 1. */
  worst_key_1s_window: number;
};

export type PrioritizedResult = WorkloadResult & {
  /** submit → complete per priority (the backlog drains highest first). */
  complete_ms_by_priority: Record<string, Summary>;
};

/** `count` starts over RATE_KEYS keys, each limited to BENCH_RATE_PER_KEY per second. */
export async function rateLimitedWorkload(ctx: BenchContext, fleet: readonly RunnerProc[], count: number): Promise<RateLimitedResult> {
  const batch = await startBatch(ctx, benchRated.name);
  const w = await runWorkload(ctx, fleet, { workflow: benchRated, count, stepsPerWorkflow: 1, input: (i) => ({ key: `k${i % RATE_KEYS}` }) });
  const rows = await ctx.monitor.query<{ k: string; s: number }>(
    `SELECT rate_key AS k, ${epochUs('started_at')} AS s FROM workflow_executions WHERE workflow_name = ? AND created_at >= ? ORDER BY rate_key, started_at`,
    [benchRated.name, batch.since],
  );
  let worst = 0;
  for (let i = 0; i < rows.length; i++) {
    let j = i;
    while (j < rows.length && rows[j].k === rows[i].k && Number(rows[j].s) < Number(rows[i].s) + 1_000_000) j++;
    worst = Math.max(worst, j - i);
  }
  return { ...w, keys: RATE_KEYS, limit_per_key_per_s: BENCH_RATE_PER_KEY, allowed_per_s: RATE_KEYS * BENCH_RATE_PER_KEY, worst_key_1s_window: worst };
}

/** `count` one-step starts with priorities 0 … PRIORITIES-1, submitted interleaved. */
export async function prioritizedWorkload(ctx: BenchContext, fleet: readonly RunnerProc[], count: number): Promise<PrioritizedResult> {
  const batch = await startBatch(ctx, benchPrioritized.name);
  const w = await runWorkload(ctx, fleet, { workflow: benchPrioritized, count, stepsPerWorkflow: 1, input: () => null, options: (i) => ({ priority: i % PRIORITIES }) });
  const rows = await ctx.monitor.query<{ p: number; c: number; f: number }>(
    `SELECT priority AS p, ${epochUs('created_at')} AS c, ${epochUs('finished_at')} AS f FROM workflow_executions WHERE workflow_name = ? AND created_at >= ?`,
    [benchPrioritized.name, batch.since],
  );
  const by: Record<string, number[]> = {};
  for (const r of rows) (by[String(r.p)] ??= []).push((Number(r.f) - Number(r.c)) / 1000);
  return { ...w, complete_ms_by_priority: Object.fromEntries(Object.entries(by).map(([p, v]) => [p, summarize(v)])) };
}
