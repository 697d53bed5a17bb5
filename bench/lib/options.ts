/**
 * The bench's command line → resolved, validated settings. Pure (argv in, options out), so the
 * unit tests can check defaults and sizes. `--quick` scales every section down to a smoke run
 * that finishes in well under a minute; explicit flags still win over it.
 */

/** Every section `--only` accepts, in the order they run. */
export const SECTIONS = ['limit', 'steps', 'one-step', 'sleep', 'template', 'rate-limited', 'priority', 'latency', 'idle', 'failover', 'memory', 'runners', 'claim', 'scale'] as const;
export type Section = (typeof SECTIONS)[number];

/** Resolved bench settings. */
export interface BenchOptions {
  db: string;
  json: boolean;
  quick: boolean;
  /** Workflows of the main (S-step) workload. */
  workflows: number;
  steps: number;
  runners: number;
  /** Executions in flight in total; each runner process gets ceil(concurrency / runners). */
  concurrency: number;
  sections: ReadonlySet<Section>;
  /** Also measure failover with the default 15 s TTL (5 × ~16 s). */
  failoverDefault: boolean;
  failoverTrials: number;
  /** Seconds of each idle window (baseline and 4 idle runners). */
  idleSeconds: number;
  /** Seconds the raw-limit loop runs (after a warm-up). */
  limitSeconds: number;
  /** Latency samples per mode, submitted at `latencyRate` per second. */
  latencySamples: number;
  latencyRate: number;
  /** Waiting executions the memory check parks on one runner. */
  waiting: number;
  /** Finished executions of the big scale point (the small one is 10,000). */
  scaleRows: number;
  /** History events seeded per finished execution. */
  scaleEvents: number;
  /** Exit 1 when a target fails. */
  strict: boolean;
  /** Workflows per runner process run before the first measured workload (not counted). */
  warmup: number;
  /** Directory for runner CPU profiles (`--cpu-prof`), or null; the bench prints the top self-time functions. */
  profileDir: string | null;
  /** Runner-process counts of the `runners` (scaling) section. */
  scaling: number[];
  /** Queued executions the `claim` section claims from. */
  claimQueued: number;
}

export const DEFAULT_DB = 'mariadb://root@127.0.0.1:3306/leaseflow_bench';

const HELP = `npm run bench -- [options]
  --db URL              MySQL/MariaDB URL; the database is dropped and re-created (default ${DEFAULT_DB})
  --json                print one JSON object on stdout (the table always goes to stderr)
  --quick               small smoke run (< 60 s)
  --workflows W         workflows of the main workload (default 2000; quick 200)
  --steps S             steps per workflow (default 5)
  --runners R           runner processes (default 2)
  --concurrency C       executions in flight in total (default 50); per runner ceil(C/R)
  --only a,b            sections: ${SECTIONS.join(', ')}
  --scale               add the scale section (10k vs 1M finished executions; ~2-3 min)
  --scale-rows N        finished executions of the big scale point (default 1000000)
  --failover-default    also measure failover with the default 15 s TTL (~90 s)
  --idle-seconds N      length of each idle window (default 10; quick 2)
  --strict              exit 1 when a target fails
  --warmup N            workflows per runner process run first, not counted (default 1000: steady state, past
                        TurboFan's compiling of a fresh process; quick 100, as the peers' harnesses; 0 = none)
  --profile [DIR]       runners run with --cpu-prof into DIR (default a new temp dir); prints the top self-time functions
  --scaling 1,2,4       runner counts of the runners section (same workload each): a scale-out curve (C slots per runner) and a split curve (C in all)
  --claim-queued N      queued executions of the claim section (default 10000; quick 2000)
  --cluster             instead: the Galera cluster bench (bench/cluster/; own flags --workflows --steps --runners --concurrency --trials --json)
(npm prints its own banner on stdout: use \`npm run -s bench -- --json\`, or read the last stdout line.)`;

/** The value after `--name` (or `--name=value`). */
function value(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
    return v;
  }
  return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

function int(argv: readonly string[], name: string, fallback: number, min = 1): number {
  const raw = value(argv, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min} (got ${raw})`);
  return n;
}

/** `--profile` alone (or followed by another option) profiles into a fresh temp dir; `--profile DIR` into DIR. */
function profileDir(argv: readonly string[]): string | null {
  const i = argv.indexOf('--profile');
  const eq = argv.find((a) => a.startsWith('--profile='));
  if (eq) return eq.slice('--profile='.length);
  if (i < 0) return null;
  const next = argv[i + 1];
  return next !== undefined && !next.startsWith('--') ? next : '';
}

/** Parse the bench's argv (without node and script). Throws with the usage text on `--help`. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  if (argv.includes('--help') || argv.includes('-h')) throw new Error(HELP);
  const known = new Set(['--db', '--json', '--quick', '--workflows', '--steps', '--runners', '--concurrency', '--only', '--scale', '--scale-rows',
    '--failover-default', '--idle-seconds', '--strict', '--warmup', '--profile', '--scaling', '--claim-queued']);
  for (const a of argv) {
    if (a.startsWith('--') && !known.has(a.split('=')[0])) throw new Error(`unknown option ${a}\n${HELP}`);
  }
  const quick = argv.includes('--quick');
  const db = value(argv, '--db') ?? DEFAULT_DB;
  if (!/^(mysql|mariadb):\/\//.test(db)) throw new Error(`--db must be a mysql:// or mariadb:// URL (the bench reads the server's counters); got ${db}`);
  const only = value(argv, '--only');
  let sections: Set<Section>;
  if (only !== undefined) {
    const names = only.split(',').map((s) => s.trim()).filter(Boolean);
    for (const n of names) if (!(SECTIONS as readonly string[]).includes(n)) throw new Error(`--only: unknown section "${n}" (known: ${SECTIONS.join(', ')})`);
    sections = new Set(names as Section[]);
  } else {
    sections = new Set(SECTIONS.filter((s) => s !== 'scale'));
    if (argv.includes('--scale')) sections.add('scale');
  }
  const workflows = int(argv, '--workflows', quick ? 200 : 2000);
  const scaling = (value(argv, '--scaling') ?? '1,2,4').split(',').map((v) => Number(v.trim()));
  if (scaling.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) throw new Error('--scaling must list runner counts between 1 and 16, e.g. 1,2,4');
  return {
    db,
    json: argv.includes('--json'),
    quick,
    workflows,
    steps: int(argv, '--steps', 5),
    runners: int(argv, '--runners', 2),
    concurrency: int(argv, '--concurrency', 50),
    sections,
    failoverDefault: argv.includes('--failover-default'),
    failoverTrials: quick ? 2 : 5,
    idleSeconds: int(argv, '--idle-seconds', quick ? 2 : 10),
    limitSeconds: quick ? 2 : 5,
    latencySamples: quick ? 30 : 200,
    latencyRate: quick ? 20 : 40,
    waiting: quick ? 200 : 1000,
    scaleRows: int(argv, '--scale-rows', quick ? 100_000 : 1_000_000, 10_001),
    scaleEvents: 5,
    strict: argv.includes('--strict'),
    warmup: int(argv, '--warmup', quick ? 100 : 1000, 0),
    profileDir: profileDir(argv),
    scaling,
    claimQueued: int(argv, '--claim-queued', quick ? 2000 : 10_000),
  };
}
