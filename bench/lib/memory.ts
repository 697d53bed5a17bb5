/**
 * Memory of a runner with many waiting executions: one runner process takes N executions that
 * each run a step and then wait for a signal; once all N are `waiting` its RSS and peak RSS
 * (VmHWM) are read. Then every execution is signalled and must complete, proving the waits
 * were real. The engine suspends a signal wait (lease and slot released), so nothing should
 * stay in memory: the V8 heap retained after a forced GC, before and after the N executions
 * (past a warm-up batch), tells what each execution left behind.
 */
import type { WorkflowHandle } from '../../engine';
import { benchWaiter } from '../workloads/workflows';
import { forEachParallel, waitUntil, type BenchContext } from './context';
import { spawnRunners, stopRunners, type RunnerProc } from './runners';
import { SUBMIT_PARALLEL, startBatch, waitFinished } from './workload';

/** Memory figures. */
export interface MemoryResult {
  waiting: number;
  /** RSS of the runner right after it reported ready (before any work), MB. */
  rss_at_start_mb: number | null;
  rss_mb: number | null;
  /** Peak RSS (VmHWM) while they all waited. */
  peak_rss_mb: number | null;
  /** V8 heap retained (after a forced GC) after the warm-up, while they waited, and after completing them. */
  heap_at_start_mb: number | null;
  heap_used_mb: number | null;
  heap_used_after_completion_mb: number | null;
  /**
   * (heap retained after completing them − after the warm-up) / N, KB: what each execution
   * left behind once it was done. Near 0 when nothing leaks; a steady figure grows unbounded.
   */
  retained_kb_per_execution: number | null;
  /** Peak RSS after signalling and completing them all. */
  peak_rss_after_completion_mb: number | null;
  /** Leases the runner held while they waited (0: waits are suspended, not held). */
  leases_held_while_waiting: number | null;
  completed_after_signal: number;
}

const WARM_UP = 100;

/** Start `n` waiters, wait until all wait, call `whileWaiting`, signal them all, wait until all completed. */
async function cycle(ctx: BenchContext, n: number, whileWaiting: () => Promise<void>): Promise<number> {
  const batch = await startBatch(ctx, benchWaiter.name);
  const handles: WorkflowHandle<unknown>[] = [];
  await forEachParallel(n, SUBMIT_PARALLEL, async () => { handles.push(await ctx.client.start(benchWaiter, null)); });
  const count = (status: string) => ctx.monitor.scalar(
    'SELECT COUNT(*) FROM workflow_executions WHERE workflow_name = ? AND status = ? AND created_at >= ?', [batch.workflow, status, batch.since],
  );
  await waitUntil(async () => (await count('waiting')) === n, { timeoutMs: 60_000 + n * 50, intervalMs: 100, what: `${n} executions to wait for a signal` });
  await whileWaiting();
  await forEachParallel(n, SUBMIT_PARALLEL, async (i) => { await handles[i].signal('go', 1); });
  await waitFinished(ctx, batch, n, 60_000 + n * 50);
  return (await count('completed')) ?? 0;
}

/** Park `opts.waiting` executions on one runner and read its memory. */
export async function measureMemory(ctx: BenchContext): Promise<MemoryResult> {
  const n = ctx.opts.waiting;
  const [runner]: RunnerProc[] = await spawnRunners(1, () => ({ dbUrl: ctx.url, instanceId: `bench-memory-${process.pid}`, concurrency: ctx.opts.concurrency }));
  try {
    const atStart = runner.memory().rssMb;
    await cycle(ctx, Math.min(WARM_UP, n), async () => undefined); // first-use costs (code, caches) are not per execution
    const heapAtStart = await runner.heapUsedMb();
    let waitingMem = { rssMb: null as number | null, hwmMb: null as number | null };
    let heap: number | null = null;
    let held: number | null = null;
    const completed = await cycle(ctx, n, async () => {
      held = await ctx.monitor.scalar('SELECT COUNT(*) FROM distributed_locks WHERE owner = ?', [runner.instanceId]);
      waitingMem = runner.memory();
      heap = await runner.heapUsedMb();
      ctx.log(`memory: ${n} waiting, runner RSS ${waitingMem.rssMb} MB (peak ${waitingMem.hwmMb} MB); signalling them`);
    });
    const heapAfter = await runner.heapUsedMb();
    return {
      waiting: n, rss_at_start_mb: atStart, rss_mb: waitingMem.rssMb, peak_rss_mb: waitingMem.hwmMb,
      heap_at_start_mb: heapAtStart, heap_used_mb: heap, heap_used_after_completion_mb: heapAfter,
      retained_kb_per_execution: heapAtStart === null || heapAfter === null ? null : Math.round(((heapAfter - heapAtStart) * 1024 * 10) / n) / 10,
      peak_rss_after_completion_mb: runner.memory().hwmMb, leases_held_while_waiting: held, completed_after_signal: completed,
    };
  } finally {
    await stopRunners([runner]);
  }
}
