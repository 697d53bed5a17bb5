/**
 * The Galera cluster the cluster tests run against: `LEASEFLOW_TEST_GALERA_NODES`
 * (`host:port,host:port,host:port`, e.g. from scripts/cluster or test/helpers/galera.sh), else the
 * nodes test/helpers/galera.sh starts (127.0.0.1:4500-4502). When no cluster answers, the suite
 * is skipped with a loud reason on stderr — unless `LEASEFLOW_TEST_GALERA=required` (CI), where
 * a missing cluster fails the run.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { openDatabase } from '../../engine/store/database';

/** Node endpoints (host:port), node 1 first. */
export function galeraNodes(): string[] {
  return (process.env.LEASEFLOW_TEST_GALERA_NODES ?? '127.0.0.1:4500,127.0.0.1:4501,127.0.0.1:4502').split(',').map((s) => s.trim()).filter(Boolean);
}

const TAG = createHash('sha1').update(resolve(__dirname, '..', '..')).digest('hex').slice(0, 6);

/** URL of database `dbName` on node `i` (0-based). */
export const nodeUrl = (i: number, dbName: string) => `mariadb://root@${galeraNodes()[i]}/${dbName}`;

/** Why the cluster is not usable, or null when every node answers as a Galera node (synchronous: decides describe vs skip). */
export function galeraUnavailable(): string | null {
  for (const [i, node] of galeraNodes().entries()) {
    const [host, port] = node.split(':');
    const r = spawnSync('mariadb', ['--protocol=tcp', `-h${host}`, `-P${port}`, '-uroot', '-N', '-e',
      "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_CLUSTER_STATUS'"], { encoding: 'utf8', timeout: 5000 });
    if (r.status !== 0) return `node ${i + 1} (${node}) does not answer: ${(r.stderr || String(r.error ?? '')).trim().split('\n')[0]}`;
    if (r.stdout.trim() !== 'Primary') return `node ${i + 1} (${node}) is not a Primary Galera node (${r.stdout.trim() || 'no wsrep status'})`;
  }
  return null;
}

/** `describe` when the cluster answers, else `describe.skip` with a loud reason (a thrown error when required, as in CI). */
export function describeOnCluster(): jest.Describe {
  const reason = galeraUnavailable();
  if (reason && process.env.LEASEFLOW_TEST_GALERA === 'required') throw new Error(`Galera cluster required but unavailable: ${reason}`);
  if (reason) process.stderr.write(`\n*** SKIPPING Galera cluster tests: ${reason}. Start one with: bash test/helpers/galera.sh up ***\n\n`);
  return reason ? describe.skip : describe;
}

/** A fresh, empty database for this test file on the cluster (created through node 1). */
export async function freshGaleraDb(name: string): Promise<string> {
  const dbName = `lfg_${TAG}_${name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 40)}`;
  const admin = await openDatabase(nodeUrl(0, 'information_schema'));
  try {
    await admin.sql.run(`DROP DATABASE IF EXISTS \`${dbName}\``);
    await admin.sql.run(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4`);
  } finally {
    await admin.close();
  }
  return dbName;
}
