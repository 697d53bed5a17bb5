/**
 * Idle cost: the server's Questions/s with 4 idle runner processes (nothing queued in the
 * bench database), minus a baseline measured with no runner over windows of the same length,
 * before and after. GLOBAL STATUS counts the whole server, so statements other clients send to
 * other databases in the same seconds add noise in both directions; the two baselines show how
 * much.
 */
import { sleep, type BenchContext } from './context';
import { spawnRunners, stopRunners } from './runners';
import { serverDelta } from './server';
import { statementMark } from './statements';
import { round } from './stats';

/** Idle runners' statement rate. */
export interface IdleResult {
  runners: number;
  window_s: number;
  /** Questions/s with no runner (before, after). */
  baseline_qps: [number | null, number | null];
  /** Questions/s with the idle runners. */
  with_runners_qps: number | null;
  /** (with runners − mean baseline) / runners: the server's view, disturbed by other clients. */
  per_runner_qps: number | null;
  /** Statements each runner sent per second, counted in the runner processes (exact). */
  per_runner_client_qps: number | null;
  total_qps: number | null;
  /** Per runner, by statement kind (with runners − baseline before), per second. */
  per_runner_by_kind: Record<string, number | null>;
}

const IDLE_RUNNERS = 4;

async function window(ctx: BenchContext, seconds: number): Promise<Record<string, number>> {
  const before = await ctx.monitor.counters();
  await sleep(seconds * 1000);
  const after = await ctx.monitor.counters();
  const d = serverDelta(before, after);
  for (const k of Object.keys(d)) d[k] /= seconds;
  return d;
}

/** Measure idle runners. */
export async function measureIdle(ctx: BenchContext): Promise<IdleResult> {
  const secs = ctx.opts.idleSeconds;
  ctx.log(`idle: baseline ${secs} s with no runner`);
  const base1 = await window(ctx, secs);
  const runners = await spawnRunners(IDLE_RUNNERS, (i) => ({ dbUrl: ctx.url, instanceId: `bench-idle-${i}-${process.pid}`, concurrency: ctx.perRunner }));
  let busy: Record<string, number>;
  let clientQps: number | null = null;
  try {
    await sleep(1500); // start-up statements (migrate check, registration) are not idle cost
    ctx.log(`idle: ${secs} s with ${IDLE_RUNNERS} idle runners`);
    const s0 = await statementMark(runners, ctx.monitor);
    busy = await window(ctx, secs);
    const s1 = await statementMark(runners, ctx.monitor);
    clientQps = s0.runners === null || s1.runners === null ? null : (s1.runners - s0.runners) / secs / IDLE_RUNNERS;
  } finally {
    await stopRunners(runners);
  }
  await sleep(500);
  ctx.log(`idle: baseline ${secs} s with no runner (after)`);
  const base2 = await window(ctx, secs);
  const baseline = (base1.Questions + base2.Questions) / 2;
  const byKind: Record<string, number | null> = {};
  for (const k of ['Questions', 'Com_select', 'Com_update', 'Com_insert', 'Com_delete', 'Com_commit', 'Handler_commit']) {
    byKind[k] = round((busy[k] - (base1[k] + base2[k]) / 2) / IDLE_RUNNERS, 2);
  }
  return {
    runners: IDLE_RUNNERS, window_s: secs,
    baseline_qps: [round(base1.Questions, 2), round(base2.Questions, 2)],
    with_runners_qps: round(busy.Questions, 2),
    per_runner_qps: round((busy.Questions - baseline) / IDLE_RUNNERS, 2),
    per_runner_client_qps: round(clientQps, 2),
    total_qps: round(busy.Questions - baseline, 2),
    per_runner_by_kind: byKind,
  };
}
