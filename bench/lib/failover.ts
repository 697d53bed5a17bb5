/**
 * Failover after kill -9: a victim runner process claims K ticker executions (a timer event
 * every 200 ms), a survivor process starts, the victim is SIGKILLed, and the time runs from
 * the kill (on the DB clock) to the first history event any victim execution gets under a
 * newer lease token — the survivor's first commit. Median of several trials; each trial uses
 * a fresh victim and survivor so the survivor always has free slots and no backlog.
 */
import { performance } from 'node:perf_hooks';
import { toMs } from '../../engine';
import { benchTicker } from '../workloads/workflows';
import { forEachParallel, sleep, waitUntil, type BenchContext } from './context';
import { spawnRunners, stopRunners, type RunnerProc } from './runners';
import { epochUs } from './server';
import { median, round } from './stats';
import { startBatch, waitFinished } from './workload';

/** The engine's default poll interval (runner processes get no override). */
export const POLL_INTERVAL_MS = 500;
const TICK_MS = 200;
const LEASE_PREFIX = 'workflow_execution:';

/** Failover figures for one lease TTL. */
export interface FailoverResult {
  lease_ttl_ms: number;
  trials_ms: (number | null)[];
  median_ms: number | null;
  /** TTL + pollInterval + 1 s: the target. */
  bound_ms: number;
  victims_per_trial: number[];
}

/** Run `trials` kill -9 trials with runners whose lease TTL is `ttl` (undefined = engine default 15 s). */
export async function measureFailover(ctx: BenchContext, ttl: string | undefined, trials: number): Promise<FailoverResult> {
  const ttlMs = ttl === undefined ? 15_000 : toMs(ttl);
  const results: (number | null)[] = [];
  const victims: number[] = [];
  for (let t = 0; t < trials; t++) {
    ctx.log(`failover: TTL ${ttlMs} ms, trial ${t + 1}/${trials}`);
    const r = await trial(ctx, ttl, ttlMs, t);
    results.push(r.ms === null ? null : round(r.ms, 0));
    victims.push(r.victims);
  }
  const ok = results.filter((v): v is number => v !== null);
  return {
    lease_ttl_ms: ttlMs, trials_ms: results, median_ms: ok.length === results.length ? median(ok) : null,
    bound_ms: ttlMs + POLL_INTERVAL_MS + 1000, victims_per_trial: victims,
  };
}

async function trial(ctx: BenchContext, ttl: string | undefined, ttlMs: number, t: number): Promise<{ ms: number | null; victims: number }> {
  const k = Math.min(8, ctx.perRunner);
  const tag = `${process.pid}-${ttlMs}-${t}`;
  const procs: RunnerProc[] = [];
  try {
    const [victim] = await spawnRunners(1, () => ({ dbUrl: ctx.url, instanceId: `bench-victim-${tag}`, concurrency: k, leaseTtl: ttl }));
    procs.push(victim);
    const batch = await startBatch(ctx, benchTicker.name);
    const ids: string[] = [];
    await forEachParallel(k, k, async () => {
      ids.push((await ctx.client.start(benchTicker, { ticks: Math.ceil((ttlMs + 8000) / TICK_MS), ms: TICK_MS })).executionId);
    });
    await waitUntil(async () => (await heldBy(ctx, victim.instanceId)) === k, { timeoutMs: 15_000, what: `the victim to hold ${k} leases` });
    const [survivor] = await spawnRunners(1, () => ({ dbUrl: ctx.url, instanceId: `bench-survivor-${tag}`, concurrency: ctx.perRunner, leaseTtl: ttl }));
    procs.push(survivor);
    await sleep(300);

    const dbNow = await ctx.monitor.dbNowMs();
    const q = performance.now();
    victim.child.kill('SIGKILL');
    const killedAtDb = dbNow + (performance.now() - q);
    await victim.exited;
    const leases = await ctx.monitor.query<{ lock_key: string; token: number }>(
      'SELECT lock_key, token FROM distributed_locks WHERE owner = ? AND lock_key LIKE ?', [victim.instanceId, `${LEASE_PREFIX}%`],
    );
    if (leases.length === 0) throw new Error('the victim held no lease at the kill');
    const where = leases.map(() => '(execution_id = ? AND lease_token > ?)').join(' OR ');
    const params = leases.flatMap((l) => [l.lock_key.slice(LEASE_PREFIX.length), Number(l.token)]);
    let firstUs: number | null = null;
    await waitUntil(async () => {
      firstUs = await ctx.monitor.scalar(`SELECT MIN(${epochUs('created_at')}) FROM workflow_events WHERE ${where}`, params);
      return firstUs !== null;
    }, { timeoutMs: ttlMs + 20_000, intervalMs: 25, what: 'a victim execution to commit under the survivor' });
    const ms = (firstUs as unknown as number) / 1000 - killedAtDb;

    // Clean up: cancel the tickers (cooperative, within a tick) so nothing lingers.
    await forEachParallel(k, k, async (i) => {
      await ctx.client.getHandle(ids[i]).cancel('bench trial over').catch(() => undefined);
    });
    await waitFinished(ctx, batch, k, 30_000);
    return { ms, victims: leases.length };
  } finally {
    await stopRunners(procs);
  }
}

async function heldBy(ctx: BenchContext, owner: string): Promise<number> {
  return (await ctx.monitor.scalar('SELECT COUNT(*) FROM distributed_locks WHERE owner = ? AND lock_key LIKE ?', [owner, `${LEASE_PREFIX}%`])) ?? 0;
}
