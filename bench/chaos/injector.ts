/**
 * Fires planned faults at the live system and measures what they did: kill -9, SIGSTOP past the
 * TTL (a zombie), KILL of runners' database connections, graceful SIGTERM, a MariaDB restart,
 * and stale commits sent through the engine's own fenced commit with an outdated token. For the
 * process faults it watches the executions the victim held until each continues under a newer
 * token elsewhere (failover latency). Targets are chosen from the plan's random numbers.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { LeaseLostError, type Database } from '../../engine';
import { commitFenced, type CommitPlan } from '../../engine/store/transitions';
import type { FailoverSample, ProbeResult, StopWindow, TxPause } from './checker';
import type { ClusterFaults } from './cluster-faults';
import { clientPorts, killConnections, restartMariaDb, serverConnections } from './db-admin';
import { FaultKind, type PlannedFault } from './faults';
import type { RunnerFleet, RunnerProc } from './processes';
import { createRng } from './random';
import { retryOnConnection } from './submitter';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** What a fault did (for the report and the run directory). */
export interface FaultRecord {
  atMs: number;
  kind: FaultKind | 'crash';
  target: string;
  detail: string;
}

/** Settings the injector needs. */
export interface InjectorSettings {
  admin: Database;
  dbName: string;
  dbUrl: string;
  fleet: RunnerFleet;
  leaseTtlMs: number;
  /** Harness epoch ms → DB clock epoch ms. */
  toDbClock: (harnessMs: number) => number;
  log: (line: string) => void;
  /** Cluster mode: the cluster faults, and runner sessions told apart by source address (layout.ts). */
  cluster?: ClusterFaults;
}

/** Fires faults and keeps their measurements. */
export class FaultInjector {
  readonly records: FaultRecord[] = [];
  readonly stops: StopWindow[] = [];
  readonly txPauses: TxPause[] = [];
  readonly probes: ProbeResult[] = [];
  readonly failovers: FailoverSample[] = [];
  /** MariaDB restarts: harness epoch ms. */
  readonly dbWindows: { downAt: number; upAt: number; label?: string }[] = [];
  lastFaultAt = 0;
  lastFault = 'none';
  #monitors = new Set<Promise<void>>();
  #inFlight = new Set<Promise<void>>();

  constructor(private readonly s: InjectorSettings) {}

  /** Fire `f` (in the background); faults may overlap. */
  fire(f: PlannedFault): void {
    const task = this.#fire(f).catch((err: unknown) => this.#record(f.kind, '-', `failed: ${(err as Error).message}`)).finally(() => this.#inFlight.delete(task));
    this.#inFlight.add(task);
  }

  /** Wait for faults still acting (pauses, restarts) and failover monitors. */
  async settle(): Promise<void> {
    while (this.#inFlight.size) await Promise.all([...this.#inFlight]);
    while (this.#monitors.size) await Promise.all([...this.#monitors]);
  }

  /** A runner process died on its own (a workflow crashed it): watch its executions too. */
  async crashed(proc: RunnerProc): Promise<void> {
    const at = Date.now();
    this.#record('crash', proc.instanceId, `exit ${proc.exitInfo?.signal ?? proc.exitInfo?.code}`, at);
    const held = await this.#held(proc).catch(() => []);
    this.#monitor('kill9', at, held);
  }

  #record(kind: FaultRecord['kind'], target: string, detail: string, at = Date.now()): void {
    this.records.push({ atMs: at, kind, target, detail });
    if (kind !== FaultKind.staleCommit && !detail.startsWith('skipped')) { this.lastFaultAt = Math.max(this.lastFaultAt, at); this.lastFault = `${kind} ${target}`; }
    this.s.log(`fault ${kind.padEnd(16)} ${target.padEnd(14)} ${detail}`);
  }

  async #fire(f: PlannedFault): Promise<void> {
    switch (f.kind) {
      case FaultKind.kill9: return this.kill9(await this.#busiestVictim(f.pick));
      case FaultKind.sigstop: return this.#sigstop(f);
      case FaultKind.killConnections: return this.#killConnections(f);
      case FaultKind.sigterm: return this.#sigterm(f);
      case FaultKind.dbRestart: return this.#dbRestart(f);
      case FaultKind.staleCommit: return this.#staleCommits(f);
      case FaultKind.txPause: return this.#txPause(f);
      case FaultKind.writerKill: case FaultKind.nodeRestart: case FaultKind.partition:
        if (!this.s.cluster) return this.#record(f.kind, '-', 'skipped: not a cluster run');
        return this.s.cluster.fire(f, {
          record: (target, detail, at) => this.#record(f.kind, target, detail, at), held: (p) => this.#held(p),
          monitor: (fault, at, held) => this.#monitor(fault, at, held), window: (w) => this.dbWindows.push(w),
        });
    }
  }

  /** A target runner: among the usable ones (never the last), preferring those that hold running executions. */
  async #busiestVictim(pick: number): Promise<RunnerProc | undefined> {
    // Restarted runners take a few seconds to come up: wait a little for a spare one.
    for (let i = 0; i < 25 && this.s.fleet.usable().length <= 1; i++) await sleep(200);
    const usable = this.s.fleet.usable();
    if (usable.length <= 1) return undefined;
    const rows = await this.s.admin.sql.all<{ runner_id: unknown; n: unknown }>(
      "SELECT runner_id, COUNT(*) AS n FROM workflow_executions WHERE status = 'running' AND runner_id IS NOT NULL GROUP BY runner_id",
    );
    const busy = new Map(rows.map((r) => [String(r.runner_id), Number(r.n)]));
    const holding = usable.filter((p) => (busy.get(p.instanceId) ?? 0) > 0);
    const from = holding.length ? holding : usable;
    return from[Math.floor(pick * from.length)];
  }

  /** Executions `proc` holds right now (id, token). */
  async #held(proc: RunnerProc): Promise<{ id: string; token: number }[]> {
    const rows = await this.s.admin.sql.all<{ id: unknown; lease_token: unknown }>(
      "SELECT id, lease_token FROM workflow_executions WHERE runner_id = ? AND status = 'running'", [proc.instanceId],
    );
    return rows.map((r) => ({ id: String(r.id), token: Number(r.lease_token) }));
  }

  /** Watch `held` until each continues under a newer token (or finished/suspended before the fault hit). */
  #monitor(fault: FailoverSample['fault'], faultAt: number, held: { id: string; token: number }[], meta: { forcedAfterMs?: number } = {}): void {
    if (held.length === 0) return;
    const task = (async () => {
      const pending = new Map(held.map((h) => [h.id, h.token]));
      const deadline = faultAt + 60_000;
      // The bound assumes a peer with room to take over: note when there was none.
      let noSpareSince: number | undefined;
      let starved = false;
      while (pending.size && Date.now() < deadline) {
        await sleep(40);
        if (this.s.fleet.usable().length === 0) { noSpareSince ??= Date.now(); starved = true; } else noSpareSince = undefined;
        let rows: { id: unknown; lease_token: unknown; status: unknown }[];
        try {
          rows = await this.s.admin.sql.all('SELECT id, lease_token, status FROM workflow_executions WHERE id IN (?)', [[...pending.keys()]]);
        } catch {
          continue;
        }
        const now = Date.now();
        for (const r of rows) {
          const id = String(r.id);
          const token = pending.get(id) as number;
          if (Number(r.lease_token) > token) {
            this.failovers.push({ fault, executionId: id, faultAtMs: faultAt, latencyMs: now - faultAt, ...meta, ...(starved ? { excluded: 'no spare runner for a while' } : {}) });
            pending.delete(id);
          } else if (String(r.status) !== 'running' && String(r.status) !== 'queued') {
            pending.delete(id); // finished or suspended by the victim before the fault hit: nothing to take over
          }
        }
      }
      for (const id of pending.keys()) this.failovers.push({ fault, executionId: id, faultAtMs: faultAt, latencyMs: null, ...meta, ...(noSpareSince ? { excluded: 'no spare runner' } : {}) });
    })().finally(() => this.#monitors.delete(task));
    this.#monitors.add(task);
  }

  /** kill -9 a runner (the fleet restarts it). */
  async kill9(victim: RunnerProc | undefined): Promise<void> {
    if (!victim) return this.#record(FaultKind.kill9, '-', 'skipped: no spare runner');
    const held = await this.#held(victim);
    victim.ending = true;
    const at = Date.now();
    victim.kill9();
    this.#record(FaultKind.kill9, victim.instanceId, `held ${held.length} running`, at);
    this.#monitor('kill9', at, held);
  }

  async #sigstop(f: PlannedFault): Promise<void> {
    const victim = await this.#busiestVictim(f.pick);
    if (!victim) return this.#record(FaultKind.sigstop, '-', 'skipped: no spare runner');
    const pauseMs = this.s.leaseTtlMs + 500 + Math.round(f.param * 2000);
    const held = await this.#held(victim);
    // Pause it outside its own transactions (a paused transaction would hold row locks and model
    // a stalled database rather than a stalled process) and, if we can, while a step body of
    // its runs (that body becomes a zombie). Up to 40 short tries, then pause regardless.
    let tries = 0;
    let inTx = true;
    let bodies = 0;
    let sessions = 0;
    try {
      for (; tries < 40; tries++) {
        victim.signal('SIGSTOP');
        victim.paused = true;
        // Through the proxy (cluster mode) the victim's sessions are found via the proxy's own.
        const ports = this.s.cluster ? await this.s.cluster.serverPorts(victim) : clientPorts(victim.pid);
        const conns = await serverConnections(this.s.admin, this.s.dbName, ports);
        sessions = conns.length;
        inTx = conns.some((c) => c.inTransaction);
        const [row] = await this.s.admin.sql.all<{ n: unknown }>(
          'SELECT COUNT(*) AS n FROM chaos_attempts WHERE runner_id = ? AND finished_at IS NULL AND outcome IS NULL', [victim.instanceId]);
        bodies = Number(row?.n ?? 0);
        if ((!inTx && bodies > 0) || tries === 39) break;
        victim.signal('SIGCONT');
        victim.paused = false;
        await sleep(20 + f.param * 60);
      }
    } catch (err) {
      victim.signal('SIGCONT');
      victim.paused = false;
      throw err;
    }
    victim.paused = true;
    const stoppedAt = Date.now();
    this.#record(FaultKind.sigstop, victim.instanceId, `paused ${pauseMs} ms (TTL ${this.s.leaseTtlMs}), held ${held.length} running, ${bodies} step bodies in flight, ${sessions} sessions${inTx ? ', INSIDE a transaction' : ''} (${tries + 1} tries)`, stoppedAt);
    this.#monitor('sigstop', stoppedAt, held);
    await sleep(pauseMs);
    victim.signal('SIGCONT');
    victim.paused = false;
    const resumedAt = Date.now();
    this.stops.push({ runnerId: victim.instanceId, pid: victim.pid, stoppedAtMs: this.s.toDbClock(stoppedAt), resumedAtMs: this.s.toDbClock(resumedAt), ...(inTx ? { inTransaction: true } : {}) });
  }

  /**
   * A transaction paused with locks held: a helper process locks one running execution's row in
   * an open transaction and SIGSTOPs itself; it is killed after a while, or the server drops its
   * transaction first (idle_transaction_timeout). Peers must keep going meanwhile.
   */
  async #txPause(f: PlannedFault): Promise<void> {
    const rows = await this.s.admin.sql.all<{ id: unknown }>("SELECT id FROM workflow_executions WHERE status = 'running' ORDER BY id");
    if (rows.length === 0) return this.#record(FaultKind.txPause, '-', 'skipped: nothing running');
    const target = String(rows[Math.floor(f.pick * rows.length)].id);
    const idleS = 3 + Math.round(f.param * 4);
    const holdMs = f.param < 0.5 ? 1500 + Math.round(f.param * 4000) : (idleS + 1) * 1000;
    const child = spawn(process.execPath, ['--import', 'tsx', resolve(__dirname, 'hold-locks.ts'), this.s.dbUrl, target, String(idleS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((res, rej) => {
        const timer = setTimeout(() => rej(new Error('lock holder not ready in 60 s')), 60_000);
        child.stdout?.setEncoding('utf8').on('data', (c: string) => { if (c.includes('locked')) { clearTimeout(timer); res(); } });
        child.once('exit', (code) => { clearTimeout(timer); rej(new Error(`lock holder exited ${code}`)); });
      });
      const at = Date.now();
      this.#record(FaultKind.txPause, target, `row locked in a paused transaction for ${holdMs} ms (server drops it after ${idleS} s)`, at);
      await sleep(holdMs);
      if (child.pid) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }
      // Released when the holder is gone, or when the server dropped its idle transaction.
      const releasedAt = Math.min(Date.now(), at + idleS * 1000);
      this.txPauses.push({ executionId: target, lockedAtMs: this.s.toDbClock(at), releasedAtMs: this.s.toDbClock(releasedAt) });
    } finally {
      if (child.pid) { try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }
    }
  }

  async #killConnections(f: PlannedFault): Promise<void> {
    const rng = createRng(Math.floor(f.pick * 2 ** 31));
    if (this.s.cluster) {
      // Through the proxy a session cannot be traced to one runner: kill a random share of the
      // runners' sessions (from 127.0.0.1; the harness's come from 127.0.0.2) on the writer node.
      const all = (await serverConnections(this.s.admin, this.s.dbName)).filter((c) => c.host === '127.0.0.1');
      const share = f.param < 0.5 ? 0.2 : 0.5;
      const chosen = all.filter(() => rng.chance(share));
      const killed = await killConnections(this.s.admin, chosen.map((c) => c.id));
      return this.#record(FaultKind.killConnections, `${Math.round(share * 100)}% of runner sessions`, `killed ${killed} of ${all.length} connection(s) on the writer (${chosen.filter((c) => c.inTransaction).length} in a transaction)`);
    }
    const usable = this.s.fleet.slots.filter((p) => p?.alive && p.pid);
    let target: string;
    let ports: Set<number>;
    if (f.param < 0.5 && usable.length) {
      const victim = usable[Math.floor(f.pick * usable.length)];
      target = victim.instanceId;
      ports = clientPorts(victim.pid);
    } else {
      target = 'half of all';
      ports = new Set(usable.flatMap((p) => [...clientPorts(p.pid)]).filter(() => rng.chance(0.5)));
    }
    const conns = await serverConnections(this.s.admin, this.s.dbName, ports);
    const killed = await killConnections(this.s.admin, conns.map((c) => c.id));
    this.#record(FaultKind.killConnections, target, `killed ${killed} connection(s) (${conns.filter((c) => c.inTransaction).length} in a transaction)`);
  }

  async #sigterm(f: PlannedFault): Promise<void> {
    const victim = await this.#busiestVictim(f.pick);
    if (!victim) return this.#record(FaultKind.sigterm, '-', 'skipped: no spare runner');
    const held = await this.#held(victim);
    victim.ending = true;
    const at = Date.now();
    victim.signal('SIGTERM');
    const force = f.param < 0.3;
    this.#record(FaultKind.sigterm, victim.instanceId, `held ${held.length} running${force ? ', forced by a second signal' : ''}`, at);
    const meta: { forcedAfterMs?: number } = {};
    this.#monitor('sigterm', at, held, meta);
    if (force) {
      await sleep(300 + f.param * 1500);
      meta.forcedAfterMs = Date.now() - at; // samples still pending from here on lapse with the lease
      victim.signal('SIGTERM');
    }
  }

  async #dbRestart(f: PlannedFault): Promise<void> {
    const at = Date.now();
    this.#record(FaultKind.dbRestart, 'mariadb', 'shutting down');
    const w = await restartMariaDb(1000 + Math.round(f.param * 2000));
    this.dbWindows.push({ downAt: at, upAt: w.upAt });
    this.#record(FaultKind.dbRestart, 'mariadb', `down ${w.upAt - w.downAt} ms, back after ${w.upAt - at} ms`, w.upAt);
  }

  /**
   * Zombie commits on demand: through the engine's own `commitFenced`, a checkpoint or a final
   * commit with an outdated token on an execution whose lease moved on, and a checkpoint with the
   * current token on a finished execution. Each must be rejected with LeaseLostError.
   */
  async #staleCommits(f: PlannedFault): Promise<void> {
    // next_seq: one past the last recorded event (the row's next_seq lags behind plain checkpoints).
    const nextSeq = "(SELECT COALESCE(MAX(v.seq), -1) + 1 FROM workflow_events v WHERE v.execution_id = e.id) AS next_seq";
    const rows = await retryOnConnection(() => this.s.admin.sql.all<{ id: unknown; lease_token: unknown; status: unknown; next_seq: unknown }>(
      `SELECT e.id, e.lease_token, e.status, ${nextSeq} FROM workflow_executions e WHERE e.lease_token >= 1 AND e.status IN ('running', 'waiting', 'queued') ` +
        'ORDER BY e.lease_token DESC, e.id LIMIT 50',
    ));
    const done = await retryOnConnection(() => this.s.admin.sql.all<{ id: unknown; lease_token: unknown; next_seq: unknown }>(
      `SELECT e.id, e.lease_token, ${nextSeq} FROM workflow_executions e WHERE e.status IN ('completed', 'failed') ORDER BY e.id LIMIT 50`,
    ));
    const results: string[] = [];
    if (rows.length) {
      const moved = rows.filter((r) => Number(r.lease_token) >= 2);
      const r = (moved.length ? moved : rows)[Math.floor(f.pick * (moved.length || rows.length))];
      const variant = f.param < 0.5 ? 'stale-checkpoint' : 'stale-finish';
      results.push(await this.#probe(String(r.id), Number(r.lease_token) - 1, Number(r.lease_token), Number(r.next_seq), variant));
    }
    if (done.length) {
      const r = done[Math.floor(f.param * done.length)];
      results.push(await this.#probe(String(r.id), Number(r.lease_token), Number(r.lease_token), Number(r.next_seq), 'after-finish'));
    }
    this.#record(FaultKind.staleCommit, 'engine fence', results.join('; ') || 'skipped: nothing to probe');
  }

  async #probe(executionId: string, token: number, currentToken: number, nextSeq: number, variant: ProbeResult['variant']): Promise<string> {
    const lease = { executionId, token, owner: 'chaos-zombie-probe' };
    const plan: CommitPlan = variant === 'stale-finish'
      ? { events: [], nextSeq, finish: { status: 'completed', output: JSON.stringify('zombie'), error: null } }
      : { events: [{ seq: nextSeq, kind: 'step', name: 'zombie-probe', status: 'completed', payload: JSON.stringify('zombie'), attempt: 1 }], nextSeq: nextSeq + 1 };
    let result: ProbeResult['result'];
    let detail: string;
    try {
      await commitFenced(this.s.admin.sql, lease, plan);
      result = 'landed';
      detail = 'COMMITTED';
    } catch (err) {
      result = err instanceof LeaseLostError ? 'rejected' : 'error';
      detail = `${(err as Error).name}: ${(err as Error).message}`.slice(0, 160);
    }
    this.probes.push({ executionId, token, currentToken, variant, result, detail });
    return `${variant} ${executionId} token ${token}/${currentToken}: ${result}`;
  }
}
