/**
 * Command-line options of `npm run chaos`, typed and defaulted once. Pure: argv in, options out
 * (a bad value throws an Error that names the flag).
 */
import { toMs } from '../../engine';
import { randomSeed } from './random';

/** Default store of a chaos run (dropped and re-created on every run). */
export const DEFAULT_CHAOS_DB = 'mariadb://root@127.0.0.1:3306/leaseflow_chaos';

/** Resolved options of one run. */
export interface ChaosOptions {
  dbUrl: string;
  seed: number;
  seedWasGiven: boolean;
  quick: boolean;
  runners: number;
  /** Restart MariaDB as a fault (refused while other test processes run, unless forced). */
  restartDb: boolean;
  restartDbForce: boolean;
  /** Length of the main phase (workload + faults). */
  durationMs: number;
  concurrency: number;
  leaseTtlMs: number;
  pollIntervalMs: number;
  drainTimeoutMs: number;
  logLevel: string;
  /**
   * Run against the local Galera cluster behind HAProxy (scripts/cluster; started when it is not
   * up, and then stopped at the end), adding the cluster faults. Quick unless --long.
   */
  cluster: boolean;
  /** Cluster mode: long main phase (540 s). */
  long: boolean;
  /** Cluster mode: every node behind the proxy takes writes. */
  multiWriter: boolean;
  /** Cluster mode: simulated hosts (network namespaces) the runners are spread over; 0 = none. */
  hosts: number;
}

const USAGE = 'usage: npm run chaos -- [--quick] [--seed N] [--runners 3..5] [--db URL] [--restart-db [--force]] [--duration 90s] [--log-level info]\n' +
  '       npm run chaos -- --cluster [--long] [--multi-writer] [--hosts 3] [--runners 3..16 (10)] [--seed N] [--duration …]';

function value(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value\n${USAGE}`);
    return v;
  }
  return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** Parse `argv` (the arguments after the script name). */
export function parseChaosArgs(argv: readonly string[]): ChaosOptions {
  const known = new Set(['--quick', '--seed', '--runners', '--db', '--restart-db', '--force', '--duration', '--log-level', '--help', '--cluster', '--long', '--multi-writer', '--hosts']);
  for (const a of argv) {
    if (a.startsWith('--') && !known.has(a.split('=')[0])) throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  if (argv.includes('--help')) throw new Error(USAGE);
  const cluster = argv.includes('--cluster');
  const long = argv.includes('--long');
  if (!cluster && (long || argv.includes('--multi-writer') || value(argv, '--hosts') !== undefined)) throw new Error(`--long, --multi-writer and --hosts go with --cluster\n${USAGE}`);
  if (cluster && (argv.includes('--restart-db') || value(argv, '--db') !== undefined)) throw new Error(`--cluster runs on the local Galera cluster: no --db or --restart-db\n${USAGE}`);
  const quick = argv.includes('--quick') || (cluster && !long);
  const seedText = value(argv, '--seed');
  const seed = seedText === undefined ? randomSeed() : Number(seedText);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`--seed must be an integer in [0, 2^32) (got ${seedText})`);
  const runners = Number(value(argv, '--runners') ?? (cluster ? 10 : 4));
  const maxRunners = cluster ? 16 : 5;
  if (!Number.isInteger(runners) || runners < 3 || runners > maxRunners) throw new Error(`--runners must be an integer in 3..${maxRunners} (got ${runners})`);
  const hosts = Number(value(argv, '--hosts') ?? (cluster ? 3 : 0));
  if (!Number.isInteger(hosts) || hosts < 0 || hosts > 8) throw new Error(`--hosts must be an integer in 0..8 (got ${hosts})`);
  const dbUrl = value(argv, '--db') ?? DEFAULT_CHAOS_DB;
  if (!/^(mysql|mariadb):\/\//.test(dbUrl)) throw new Error(`--db must be a mysql:// or mariadb:// URL (the chaos run kills server connections) (got ${dbUrl})`);
  const duration = value(argv, '--duration');
  const durationMs = duration === undefined ? (cluster && !long ? 100_000 : quick ? 80_000 : 540_000) : toMs(duration, '--duration');
  if (durationMs < 20_000) throw new Error('--duration must be at least 20s');
  return {
    dbUrl, seed, seedWasGiven: seedText !== undefined, quick, runners,
    restartDb: argv.includes('--restart-db'), restartDbForce: argv.includes('--force'),
    durationMs, concurrency: 6, leaseTtlMs: 2000, pollIntervalMs: 150, drainTimeoutMs: 3000,
    logLevel: value(argv, '--log-level') ?? 'info',
    cluster, long, multiWriter: argv.includes('--multi-writer'), hosts,
  };
}
