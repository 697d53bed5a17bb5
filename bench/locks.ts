/**
 * Lock latency bench: one uncontended lock+unlock round trip, and one round of a 16-way race for
 * one key (16 separate connections; the winner unlocks). Prints one JSON object on stdout and a
 * readable summary on stderr. Usage: npx tsx bench/locks.ts [--db URL] [--iterations N] [--rounds N]
 */
import { performance } from 'node:perf_hooks';
import { openDatabase, type Database } from '../engine/store/database';
import { DistributedLockManager } from '../engine/locks';

const DEFAULT_URL = 'mariadb://root@127.0.0.1:3306/leaseflow_bench_locks';
const CONTENDERS = 16;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return { n: s.length, median_ms: round(at(0.5)), p99_ms: round(at(0.99)), min_ms: round(s[0]), max_ms: round(s[s.length - 1]) };
}

async function uncontended(db: Database, iterations: number) {
  const locks = new DistributedLockManager(db);
  const samples: number[] = [];
  for (let i = -20; i < iterations; i++) { // 20 warm-up rounds
    const t0 = performance.now();
    await locks.lock({ lockKey: 'bench:uncontended', owner: 'bench', ttl: '30s' });
    await locks.unlock('bench:uncontended', 'bench');
    if (i >= 0) samples.push(performance.now() - t0);
  }
  return stats(samples);
}

async function race(url: string, rounds: number) {
  const handles = await Promise.all(Array.from({ length: CONTENDERS }, () => openDatabase(url, { poolMax: 1 })));
  try {
    const managers = handles.map((h) => new DistributedLockManager(h));
    const samples: number[] = [];
    let badRounds = 0;
    for (let r = -5; r < rounds; r++) {
      const t0 = performance.now();
      const grants = await Promise.all(managers.map((m, i) => m.tryLock({ lockKey: 'bench:race', owner: `c${i}`, ttl: '30s' })));
      const winners = grants.flatMap((g, i) => (g ? [i] : []));
      if (winners.length !== 1) badRounds++;
      for (const w of winners) await managers[w].unlock('bench:race', `c${w}`);
      if (r >= 0) samples.push(performance.now() - t0);
    }
    return { ...stats(samples), contenders: CONTENDERS, rounds_without_exactly_one_winner: badRounds };
  } finally {
    await Promise.all(handles.map((h) => h.close()));
  }
}

async function main(): Promise<void> {
  const url = arg('db', DEFAULT_URL);
  const iterations = Number(arg('iterations', '500'));
  const rounds = Number(arg('rounds', '50'));
  const db = await openDatabase(url, { createDatabase: true });
  try {
    await db.migrate();
    await db.sql.run("DELETE FROM distributed_locks WHERE lock_key LIKE 'bench:%'");
    const lockUnlock = await uncontended(db, iterations);
    const race16 = await race(url, rounds);
    const result = { bench: 'locks', db: db.url, dialect: db.dialect, lock_unlock: lockUnlock, race16_round: race16 };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.stderr.write(`locks on ${db.dialect}: lock+unlock median ${lockUnlock.median_ms} ms, p99 ${lockUnlock.p99_ms} ms; ` +
      `16-way race round median ${race16.median_ms} ms, p99 ${race16.p99_ms} ms (${race16.rounds_without_exactly_one_winner} bad rounds)\n`);
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
