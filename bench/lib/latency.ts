/**
 * Latency under light load: executions submitted at a steady rate (open loop, far below
 * capacity), each measured on the DB clock from its created_at (the submit) to its first
 * step's checkpoint (history event seq 0) and to its finish. Two modes: across processes
 * (runner processes poll every pollInterval) and in-process (a runner inside the bench shares
 * the client's handle, so a local start nudges its poller at once).
 */
import { performance } from 'node:perf_hooks';
import { createRunner, silentLogger } from '../../engine';
import { benchSteps } from '../workloads/workflows';
import { sleep, type BenchContext } from './context';
import { batchTimings, startBatch, waitFinished } from './workload';
import { summarize, type Summary } from './stats';

/** Latency of one mode. */
export interface LatencyResult {
  samples: number;
  rate_per_s: number;
  steps_per_workflow: number;
  /** submit → first step committed. */
  first_step_ms: Summary;
  /** submit → execution completed. */
  complete_ms: Summary;
  failed: number;
}

/** Sparse submits: one every 1.5 s, so every runner has backed off to its full poll interval (the doorbell's case). */
export const SPARSE = { samples: 8, rate: 1 / 1.5 } as const;

/** Submit `n` S-step executions at `rate`/s, wait for them, read their latencies. */
export async function pacedLatency(ctx: BenchContext, pace: { samples: number; rate: number } = { samples: ctx.opts.latencySamples, rate: ctx.opts.latencyRate }): Promise<LatencyResult> {
  const { samples: n, rate } = pace;
  const { steps } = ctx.opts;
  const batch = await startBatch(ctx, benchSteps.name);
  const t0 = performance.now();
  const started: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    started.push(ctx.client.start(benchSteps, { steps }));
  }
  await Promise.all(started);
  await waitFinished(ctx, batch, n, 60_000 + n * 200);
  const t = await batchTimings(ctx, batch);
  return {
    samples: n, rate_per_s: Math.round(rate * 100) / 100, steps_per_workflow: steps,
    first_step_ms: summarize(t.firstEventMs), complete_ms: summarize(t.completeMs), failed: t.failed,
  };
}

/** In-process mode: a runner in this process, sharing the client's database handle. */
export async function inProcessLatency(ctx: BenchContext): Promise<LatencyResult> {
  const runner = await createRunner({
    db: ctx.client.db, workflows: [benchSteps], concurrency: ctx.opts.concurrency, logger: silentLogger(), migrate: false,
    instanceId: `bench-inproc-${process.pid}`,
  });
  await runner.start();
  try {
    await sleep(200); // let its first (empty) poll pass
    return await pacedLatency(ctx);
  } finally {
    await runner.shutdown();
  }
}
