/**
 * Writer failover on the cluster: runners keep committing (tickers), the node the proxy sends
 * writes to is killed with -9, and two times are taken from the kill: the first probe UPDATE
 * through the proxy that commits (what any client sees), and when the first workflow event an
 * engine runner wrote after the kill is seen committed (polled every 20 ms). The node then rejoins
 * (IST from its recovered position) before the next trial.
 */
import { createClient, openDatabase } from '../../engine';
import type { ClusterRun } from '../chaos/cluster-setup';
import { sleep, waitUntil } from '../lib/context';
import { spawnRunners, stopRunners, type RunnerProc } from '../lib/runners';
import { recreateDatabase } from '../lib/server';
import { benchTicker } from '../workloads/workflows';

/** Figures of the writer failover trials. */
export interface WriterFailoverResult {
  trials: number;
  killed: string[];
  new_writer: string[];
  probe_ms: (number | null)[];
  engine_commit_ms: (number | null)[];
  rejoin: { ms: number; via: string }[];
}

/** Kill the writer `trials` times under load; see the module header. */
export async function writerFailover(run: ClusterRun, trials: number, log: (m: string) => void): Promise<WriterFailoverResult> {
  const url = run.harnessUrl;
  await recreateDatabase(url);
  const db = await openDatabase(url, { poolMax: 4 });
  const client = await createClient({ db });
  let fleet: RunnerProc[] = [];
  const r: WriterFailoverResult = { trials, killed: [], new_writer: [], probe_ms: [], engine_commit_ms: [], rejoin: [] };
  try {
    await db.migrate();
    await db.sql.run('CREATE TABLE cluster_probe (id INT PRIMARY KEY, n BIGINT NOT NULL)');
    await db.sql.run('INSERT INTO cluster_probe VALUES (1, 0)');
    fleet = await spawnRunners(2, (i) => ({ dbUrl: run.runnerUrl, instanceId: `bc-writer-${i}-${process.pid}`, concurrency: 10, leaseTtl: '3s', logLevel: 'warn' }));
    for (let i = 0; i < 12; i++) await client.start(benchTicker, { ticks: 100_000, ms: 200 });
    await sleep(3000);
    for (let t = 0; t < trials; t++) {
      const node = await run.cluster.writer();
      if (!node) throw new Error('the proxy has no writer');
      const { at } = await run.cluster.killNode(node);
      let probe: number | null = null;
      for (const deadline = at + 60_000; Date.now() < deadline;) {
        try { await db.sql.run('UPDATE cluster_probe SET n = n + 1 WHERE id = 1'); probe = Date.now() - at; break; } catch { await sleep(20); }
      }
      // An event's created_at is its statement's time: on the new writer the INSERT runs at once
      // but its COMMIT waits until the cluster has evicted the dead node. So the figure is when
      // the first such event became visible (committed), polled every 20 ms.
      let seenAt: number | null = null;
      await waitUntil(async () => {
        try {
          const [row] = await db.sql.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM workflow_events WHERE created_at > FROM_UNIXTIME(?)', [at / 1000]);
          if (Number(row?.n) > 0) seenAt = Date.now();
        } catch { /* connection moved */ }
        return seenAt !== null;
      }, { timeoutMs: 60_000, intervalMs: 20, what: 'a workflow event committed after the writer kill' }).catch(() => undefined);
      const newWriter = await run.cluster.writer();
      r.killed.push(`node${node}`);
      r.new_writer.push(`node${newWriter ?? '?'}`);
      r.probe_ms.push(probe);
      r.engine_commit_ms.push(seenAt === null ? null : seenAt - at);
      log(`writer failover ${t + 1}/${trials}: node${node} killed → node${newWriter}; probe write ${probe} ms, first engine commit ${r.engine_commit_ms[t]} ms`);
      await sleep(2000);
      const j = await run.cluster.restartNode(node);
      r.rejoin.push(j);
      log(`node${node} rejoined in ${j.ms} ms (${j.via})`);
      await sleep(4000); // failback to node1 closes the backup's sessions: let the runners reconnect
    }
    return r;
  } finally {
    await stopRunners(fleet).catch(() => undefined);
    await client.close();
    await db.close();
  }
}
