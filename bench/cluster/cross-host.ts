/**
 * Runner failover across hosts: three runners, one per simulated host (network namespace),
 * share tickers through the cluster proxy; the host of the runner holding the most of them is
 * cut off (its link goes down — the runner lives on but reaches nothing), and the figure is the
 * time from the cut to the first event of one of its executions under a newer lease token,
 * written by a runner on another host (DB clock). The link is healed between trials.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, openDatabase } from '../../engine';
import type { ClusterRun } from '../chaos/cluster-setup';
import { RunnerFleet } from '../chaos/processes';
import { sleep, waitUntil } from '../lib/context';
import { BENCH_WORKFLOWS } from '../lib/runners';
import { epochUs, recreateDatabase } from '../lib/server';
import { benchTicker } from '../workloads/workflows';

const TTL_MS = 3000;

/** Figures of the cross-host trials. */
export interface CrossHostResult {
  lease_ttl_ms: number;
  poll_interval_ms: number;
  hosts: string[];
  cut_host: number[];
  held: number[];
  samples_ms: (number | null)[];
}

/** Partition the busiest runner's host `trials` times; see the module header. */
export async function crossHostFailover(run: ClusterRun, trials: number, log: (m: string) => void): Promise<CrossHostResult> {
  if (!run.hosts) throw new Error('no simulated hosts');
  const url = run.harnessUrl;
  await recreateDatabase(url);
  const db = await openDatabase(url, { poolMax: 4 });
  const client = await createClient({ db });
  const fleet = new RunnerFleet({
    dbUrl: run.runnerUrl, workflowsModule: BENCH_WORKFLOWS, concurrency: 8, leaseTtl: `${TTL_MS}ms`, pollInterval: '500ms', drainTimeout: '2000ms',
    logDir: mkdtempSync(join(tmpdir(), 'lf-bench-hosts-')), logLevel: 'warn', placement: run.placement,
  }, run.hosts.hosts.length, () => undefined);
  const r: CrossHostResult = { lease_ttl_ms: TTL_MS, poll_interval_ms: 500, hosts: run.hosts.hosts.map((h) => `${h.netns}=${h.address}`), cut_host: [], held: [], samples_ms: [] };
  try {
    await db.migrate();
    await fleet.start();
    for (let i = 0; i < 9; i++) await client.start(benchTicker, { ticks: 100_000, ms: 200 });
    await sleep(3000);
    for (let t = 0; t < trials; t++) {
      const rows = await db.sql.all<{ id: unknown; runner_id: unknown; lease_token: unknown }>("SELECT id, runner_id, lease_token FROM workflow_executions WHERE status = 'running' AND runner_id IS NOT NULL");
      const byRunner = new Map<string, { id: string; token: number }[]>();
      for (const row of rows) byRunner.set(String(row.runner_id), [...(byRunner.get(String(row.runner_id)) ?? []), { id: String(row.id), token: Number(row.lease_token) }]);
      const [victimId, held] = [...byRunner.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
      const victim = victimId ? fleet.byInstance(victimId) : undefined;
      if (!victim || !held?.length) throw new Error('no runner holds a ticker');
      run.hosts.partition(victim.host);
      const at = Date.now();
      let firstUs: number | null = null;
      const where = held.map(() => '(execution_id = ? AND lease_token > ?)').join(' OR ');
      await waitUntil(async () => {
        const [row] = await db.sql.all<{ f: unknown }>(`SELECT MIN(${epochUs('created_at')}) AS f FROM workflow_events WHERE ${where}`, held.flatMap((h) => [h.id, h.token]));
        firstUs = row?.f === null || row?.f === undefined ? null : Number(row.f);
        return firstUs !== null;
      }, { timeoutMs: 60_000, intervalMs: 20, what: 'a survivor on another host to commit the cut host\'s work' }).catch(() => undefined);
      run.hosts.heal(victim.host);
      r.cut_host.push(victim.host);
      r.held.push(held.length);
      r.samples_ms.push(firstUs === null ? null : Math.round(firstUs / 1000 - at));
      log(`cross-host ${t + 1}/${trials}: host${victim.host} (${victim.instanceId}, ${held.length} tickers) cut → first commit elsewhere after ${r.samples_ms[t]} ms`);
      await sleep(TTL_MS + 3000);
    }
    return r;
  } finally {
    await fleet.stop(3000).catch(() => undefined);
    await client.close();
    await db.close();
  }
}
