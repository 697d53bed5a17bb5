/**
 * The seeded fault schedule: when each fault fires and the random numbers that later choose its
 * target and strength (targets depend on what runs at that moment, so they are chosen when the
 * fault fires, from these numbers). Every kind appears at least once per run; a MariaDB restart
 * only when asked for. Pure.
 */
import type { Rng } from './random';

/** Kinds of faults. */
export const FaultKind = {
  /** SIGKILL a runner process (restarted by the harness). */
  kill9: 'kill9',
  /** SIGSTOP a runner past its lease TTL, then SIGCONT: a zombie. */
  sigstop: 'sigstop',
  /** KILL the MariaDB connections of one runner, or of a random half of all runners. */
  killConnections: 'kill-connections',
  /** Graceful SIGTERM (sometimes a second one, forcing), then restart. */
  sigterm: 'sigterm',
  /** Restart MariaDB (only with --restart-db). */
  dbRestart: 'db-restart',
  /** Commit with a stale lease token through the engine's fenced commit, as a zombie would. */
  staleCommit: 'stale-commit',
  /** A process SIGSTOPped inside an open transaction holding a running execution's row lock, then killed. */
  txPause: 'tx-pause',
  /** Cluster: kill -9 the Galera node the proxy sends writes to; it rejoins (IST) a few seconds later. */
  writerKill: 'writer-kill',
  /** Cluster: restart a node that is not the writer (clean, or kill -9 + recovered position), rejoining by IST. */
  nodeRestart: 'node-restart',
  /** Cluster: cut one simulated host (network namespace) off for longer than the lease TTL, then heal it. */
  partition: 'partition',
} as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/** One planned fault. */
export interface PlannedFault {
  atMs: number;
  kind: FaultKind;
  /** Chooses the target when the fault fires. */
  pick: number;
  /** Strength: pause length, force or scope, in [0, 1). */
  param: number;
}

/** Settings of a schedule. */
export interface FaultOptions {
  durationMs: number;
  leaseTtlMs: number;
  restartDb: boolean;
  quick: boolean;
  /** Add the cluster faults (writer kill, node restart, host partition). */
  cluster?: boolean;
}

const WEIGHTS: [FaultKind, number][] = [
  [FaultKind.kill9, 0.2], [FaultKind.sigstop, 0.24], [FaultKind.killConnections, 0.18], [FaultKind.sigterm, 0.14], [FaultKind.staleCommit, 0.18], [FaultKind.txPause, 0.06],
];

/** When the first fault may fire (runners warmed up, work flowing). */
export const FAULT_WARMUP_MS = 6000;

function pickKind(rng: Rng): FaultKind {
  let r = rng.next();
  for (const [k, p] of WEIGHTS) {
    if (r < p) return k;
    r -= p;
  }
  return FaultKind.staleCommit;
}

/** The fault schedule of one run, ordered by time. */
export function planFaults(rng: Rng, o: FaultOptions): PlannedFault[] {
  const meanGapMs = o.quick ? 4500 : 5500;
  const minGapMs = 1500;
  const end = o.durationMs - 2000;
  const faults: PlannedFault[] = [];
  for (let at = FAULT_WARMUP_MS; at < end; at += minGapMs + Math.round(-Math.log(1 - rng.next()) * (meanGapMs - minGapMs))) {
    faults.push({ atMs: at, kind: pickKind(rng), pick: rng.next(), param: rng.next() });
  }
  // Every kind at least once, and two pauses (a pause can miss every step body).
  const required: FaultKind[] = [FaultKind.sigstop, FaultKind.sigstop, FaultKind.kill9, FaultKind.killConnections, FaultKind.sigterm, FaultKind.staleCommit, FaultKind.txPause];
  for (const kind of required) {
    const have = faults.filter((f) => f.kind === kind).length;
    const need = required.filter((k) => k === kind).length;
    if (have >= need) continue;
    // Replace the most common other kind at a seeded position.
    const counts = new Map<FaultKind, number>();
    for (const f of faults) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
    const donor = [...counts.entries()].filter(([k, n]) => k !== kind && n > required.filter((r) => r === k).length).sort((a, b) => b[1] - a[1])[0]?.[0];
    const candidates = faults.filter((f) => f.kind === donor);
    if (candidates.length) candidates[Math.floor(rng.next() * candidates.length)].kind = kind;
    else faults.push({ atMs: Math.round(FAULT_WARMUP_MS + rng.next() * (end - FAULT_WARMUP_MS)), kind, pick: rng.next(), param: rng.next() });
  }
  if (o.restartDb) {
    const restarts = o.quick ? [0.5] : [0.3, 0.65];
    for (const r of restarts) faults.push({ atMs: Math.round(o.durationMs * r), kind: FaultKind.dbRestart, pick: rng.next(), param: rng.next() });
  }
  if (o.cluster) faults.push(...planClusterFaults(rng.fork('cluster'), o));
  return faults.sort((a, b) => a.atMs - b.atMs);
}

/**
 * Cluster faults at seeded points of the main phase, spread so that one has settled before the
 * next (a writer kill and its rejoin take ~10–20 s): quick runs get one of each, longer runs
 * repeat the cycle writer kill → partition → node restart.
 */
export function planClusterFaults(rng: Rng, o: Pick<FaultOptions, 'durationMs' | 'quick'>): PlannedFault[] {
  const cycle: FaultKind[] = [FaultKind.writerKill, FaultKind.partition, FaultKind.nodeRestart];
  const slots = o.quick ? 3 : Math.max(3, Math.floor((o.durationMs - FAULT_WARMUP_MS) / 45_000));
  const span = (o.durationMs - FAULT_WARMUP_MS - 25_000) / slots;
  const out: PlannedFault[] = [];
  for (let i = 0; i < slots; i++) {
    const atMs = Math.round(FAULT_WARMUP_MS + 2000 + i * span + rng.next() * span * 0.3);
    out.push({ atMs, kind: cycle[i % cycle.length], pick: rng.next(), param: rng.next() });
  }
  return out;
}
