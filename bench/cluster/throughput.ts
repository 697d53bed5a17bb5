/**
 * One throughput run for the cluster bench: a fresh database at `url`, R runner processes on
 * this machine, W workflows of S steps submitted 16 at a time, and the elapsed time from the
 * first created_at to the last finished_at (DB clock). The same function runs against the
 * single MariaDB and the cluster proxy, so the two figures compare like for like.
 */
import { createClient, openDatabase } from '../../engine';
import { forEachParallel, waitUntil } from '../lib/context';
import { spawnRunners, stopRunners, type RunnerProc } from '../lib/runners';
import { epochUs, recreateDatabase } from '../lib/server';
import { benchSteps } from '../workloads/workflows';

/** Figures of one throughput run. */
export interface ThroughputResult {
  url: string;
  workflows: number;
  steps_per_workflow: number;
  completed: number;
  failed: number;
  elapsed_ms: number;
  workflows_per_s: number;
  steps_per_s: number;
}

/** Run the workload against `url` (its database is dropped and re-created). */
export async function throughput(url: string, o: { workflows: number; steps: number; runners: number; concurrency: number }, label: string, log: (m: string) => void): Promise<ThroughputResult> {
  await recreateDatabase(url);
  const db = await openDatabase(url, { poolMax: 8 });
  let fleet: RunnerProc[] = [];
  const client = await createClient({ db });
  try {
    await db.migrate();
    const per = Math.ceil(o.concurrency / o.runners);
    fleet = await spawnRunners(o.runners, (i) => ({ dbUrl: url, instanceId: `bc-${label}-${i}-${process.pid}`, concurrency: per }));
    log(`${label}: ${o.runners} runners up; submitting ${o.workflows} × ${o.steps}-step workflows`);
    await forEachParallel(o.workflows, 16, async () => { await client.start(benchSteps, { steps: o.steps }); });
    const count = async () => Number((await db.sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM workflow_executions WHERE status IN ('completed', 'failed', 'cancelled')"))[0]?.n ?? 0);
    await waitUntil(async () => (await count()) >= o.workflows, { timeoutMs: Math.max(120_000, o.workflows * o.steps * 100), intervalMs: 100, what: `${o.workflows} workflows to finish (${label})` });
    const [row] = await db.sql.all<{ first: unknown; last: unknown; done: unknown; failed: unknown }>(
      `SELECT MIN(${epochUs('created_at')}) AS first, MAX(${epochUs('finished_at')}) AS last, SUM(status = 'completed') AS done, SUM(status <> 'completed') AS failed FROM workflow_executions`,
    );
    const elapsedMs = (Number(row.last) - Number(row.first)) / 1000;
    const completed = Number(row.done);
    const r = {
      url, workflows: o.workflows, steps_per_workflow: o.steps, completed, failed: Number(row.failed), elapsed_ms: Math.round(elapsedMs),
      workflows_per_s: Math.round((completed / (elapsedMs / 1000)) * 10) / 10, steps_per_s: Math.round(((completed * o.steps) / (elapsedMs / 1000)) * 10) / 10,
    };
    log(`${label}: ${r.workflows_per_s} workflows/s (${r.completed} completed, ${r.failed} failed, ${r.elapsed_ms} ms)`);
    return r;
  } finally {
    await stopRunners(fleet).catch(() => undefined);
    await client.close();
    await db.close();
  }
}
