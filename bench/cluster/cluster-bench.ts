/**
 * `npm run bench -- --cluster [--workflows N] [--steps S] [--runners R] [--concurrency C]
 * [--trials T] [--json]`: leaseflow on the local Galera cluster (scripts/cluster) against the
 * single MariaDB on 3306, in the same run: workflows/s of the same workload on each; the writer
 * failover time (kill -9 of the writer node → first commit through the proxy, and first engine
 * commit on the new writer); the runner failover time across simulated hosts (the host of the
 * runner holding the work is cut off → first commit of that work by a runner on another host).
 * One JSON object on stdout with --json; progress on stderr.
 */
import { cpus, loadavg } from 'node:os';
import { openDatabase, parseDbUrl } from '../../engine';
import { setupCluster, type ClusterRun } from '../chaos/cluster-setup';
import { argValue } from '../args';
import { crossHostFailover, type CrossHostResult } from './cross-host';
import { throughput, type ThroughputResult } from './throughput';
import { writerFailover, type WriterFailoverResult } from './writer-failover';

const DB = 'leaseflow_bench_cluster';

interface ClusterBenchResult {
  started_at: string;
  config: { workflows: number; steps: number; runners: number; concurrency: number; trials: number; single_url: string; cluster_url: string; proxy: string };
  single: ThroughputResult | null;
  cluster: ThroughputResult | null;
  cluster_vs_single: number | null;
  writer_failover: WriterFailoverResult | null;
  runner_failover_across_hosts: CrossHostResult | null;
  errors: { section: string; message: string }[];
  machine: { cpus: number; loadavg_start: number[]; loadavg_end: number[] };
  notes: string[];
}

const num = (argv: string[], name: string, fallback: number) => {
  const v = argValue(name, argv);
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer (got ${v})`);
  return n;
};

/** Run the cluster bench; returns the process exit code. */
export async function clusterBench(argv: string[]): Promise<number> {
  const t0 = Date.now();
  const log = (m: string) => process.stderr.write(`[bench --cluster ${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}\n`);
  const o = {
    workflows: num(argv, '--workflows', 600), steps: num(argv, '--steps', 3), runners: num(argv, '--runners', 2),
    concurrency: num(argv, '--concurrency', 24), trials: num(argv, '--trials', 2),
  };
  const singleUrl = argValue('--db', argv) ?? `mariadb://root@127.0.0.1:3306/${DB}`;
  const r: ClusterBenchResult = {
    started_at: new Date().toISOString(), config: { ...o, single_url: singleUrl, cluster_url: '', proxy: 'single-writer' },
    single: null, cluster: null, cluster_vs_single: null, writer_failover: null, runner_failover_across_hosts: null, errors: [],
    machine: { cpus: cpus().length, loadavg_start: loadavg().map((v) => Math.round(v * 100) / 100), loadavg_end: [] },
    notes: [
      'workflows/s: the same workload (W workflows of S steps, R runner processes on this machine, C in flight) on the single MariaDB and through the cluster proxy, back to back; first created_at → last finished_at on the DB clock.',
      'writer failover: kill -9 of the node the proxy sends writes to, while runners work; probe = first UPDATE through the proxy that commits (harness clock); engine = when the first workflow event written after the kill is seen committed (polled every 20 ms; created_at is the statement time, which precedes a commit that waits for the dead node to be evicted).',
      'runner failover across hosts: runners on 3 network namespaces; the host of the runner holding the tickers is cut off (link down); time to the first event of one of its executions under a newer lease token, written by a runner on another host (DB clock).',
      'Galera nodes share this 2-core machine with the runners and the bench: the cluster figure measures replication overhead plus 3× the server CPU, not a production cluster.',
    ],
  };
  let run: ClusterRun | undefined;
  const section = async (name: string, fn: () => Promise<void>) => {
    log(`${name}: start`);
    try { await fn(); } catch (err) { r.errors.push({ section: name, message: (err as Error).message }); log(`${name}: FAILED ${(err as Error).stack}`); }
  };
  try {
    run = await setupCluster({ dbName: DB, mode: 'single-writer', hostCount: 3, hostPrefix: 'lfbench', subnet: 232, log });
    r.config.cluster_url = run.runnerUrl;
    await section('throughput (single node)', async () => { r.single = await throughput(singleUrl, o, 'single', log); });
    await section('throughput (cluster)', async () => { r.cluster = await throughput(run!.runnerUrl, o, 'cluster', log); });
    if (r.single && r.cluster) r.cluster_vs_single = Math.round((r.cluster.workflows_per_s / r.single.workflows_per_s) * 1000) / 1000;
    await section('writer failover', async () => { r.writer_failover = await writerFailover(run!, o.trials, log); });
    await section('runner failover across hosts', async () => { r.runner_failover_across_hosts = await crossHostFailover(run!, o.trials, log); });
  } finally {
    await run?.close().catch((err: Error) => log(`cluster close failed: ${err.message}`));
    const boot = await openDatabase(singleUrl, { poolMax: 1, createDatabase: true }).catch(() => undefined);
    await boot?.sql.run(`DROP DATABASE IF EXISTS \`${parseDbUrl(singleUrl).dbName}\``).catch(() => undefined);
    await boot?.close();
  }
  r.machine.loadavg_end = loadavg().map((v) => Math.round(v * 100) / 100);
  const wf = r.writer_failover;
  process.stderr.write(`\nleaseflow bench --cluster (${((Date.now() - t0) / 1000).toFixed(0)} s, load ${r.machine.loadavg_start.join('/')} → ${r.machine.loadavg_end.join('/')})\n` +
    `  workflows/s    single ${r.single?.workflows_per_s ?? '-'}   cluster ${r.cluster?.workflows_per_s ?? '-'}   ratio ${r.cluster_vs_single ?? '-'}\n` +
    `  writer failover  probe write ${wf?.probe_ms.join(', ') ?? '-'} ms   first engine commit ${wf?.engine_commit_ms.join(', ') ?? '-'} ms   rejoin ${wf?.rejoin.map((j) => `${j.ms} ms (${j.via})`).join('; ') ?? '-'}\n` +
    `  runner failover across hosts  ${r.runner_failover_across_hosts?.samples_ms.join(', ') ?? '-'} ms (TTL ${r.runner_failover_across_hosts?.lease_ttl_ms ?? '-'} ms)\n` +
    (r.errors.length ? `  ERRORS: ${r.errors.map((e) => `${e.section}: ${e.message}`).join('; ')}\n` : ''));
  if (argv.includes('--json')) process.stdout.write(`${JSON.stringify(r)}\n`);
  return r.errors.length ? 1 : 0;
}
