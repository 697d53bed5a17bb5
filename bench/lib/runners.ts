/**
 * Runner PROCESSES for the bench: `node --import tsx runner/main.ts` (one process, so its pid is
 * the runner's, for kill -9 and /proc), configured through the LEASEFLOW_* environment, ready
 * on its IPC `{type:'ready'}`. Every process spawned here is killed when the bench exits, even
 * on an error or Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseDbUrl } from '../../engine/store/dialect';
import { cpuSeconds, memoryMb } from './proc';

const ROOT = resolve(__dirname, '../..');
/** Preload that counts the protocol commands a process sends to the database (see the file). */
const QUERY_COUNTER = join(__dirname, 'query-counter.cjs');
/** MySQL protocol command bytes that are statements (COM_QUERY, COM_STMT_EXECUTE). */
const STATEMENT_COMMANDS = ['3', '23'];

/** Statements (COM_QUERY + COM_STMT_EXECUTE) in a command-count map from query-counter.cjs. */
export function statementsIn(counts: Readonly<Record<string, number>>): number {
  return STATEMENT_COMMANDS.reduce((s, k) => s + (counts[k] ?? 0), 0);
}

/** Commits (COMMIT statements + writes sent in autocommit) in a count map from query-counter.cjs. */
export function commitsIn(counts: Readonly<Record<string, number>>): number {
  return (counts.commit ?? 0) + (counts.autocommit_write ?? 0);
}

/** The workflow module every bench runner serves. */
export const BENCH_WORKFLOWS = join(ROOT, 'bench/workloads/workflows.ts');

/** Settings of one runner process. */
export interface RunnerSettings {
  dbUrl: string;
  instanceId: string;
  concurrency: number;
  /** LEASEFLOW_LEASE_TTL; engine default when absent. */
  leaseTtl?: string;
  /** LEASEFLOW_POLL_INTERVAL; engine default when absent. */
  pollInterval?: string;
  /** LOG_LEVEL of the runner (info or lower: `stop()` watches for its "runner stopped" line). @default 'info' */
  logLevel?: string;
  /** Write a V8 CPU profile into this directory when the process exits (`--cpu-prof`). */
  profileDir?: string | null;
}

const alive = new Set<RunnerProc>();

/** One runner process. */
export class RunnerProc {
  readonly instanceId: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Resolves when the runner logged that it stopped (drained and handed back). */
  readonly stopped: Promise<void>;
  #exited = false;
  #tail: string[] = [];
  #onStopped?: () => void;
  #profiling: boolean;

  constructor(s: RunnerSettings) {
    this.instanceId = s.instanceId;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LEASEFLOW_DB_URL: s.dbUrl,
      LEASEFLOW_WORKFLOWS: BENCH_WORKFLOWS,
      LEASEFLOW_INSTANCE_ID: s.instanceId,
      LEASEFLOW_CONCURRENCY: String(s.concurrency),
      LOG_LEVEL: s.logLevel ?? 'info',
      BENCH_DB_PORT: String(parseDbUrl(s.dbUrl).port ?? 3306),
    };
    if (s.leaseTtl) env.LEASEFLOW_LEASE_TTL = s.leaseTtl; else delete env.LEASEFLOW_LEASE_TTL;
    if (s.pollInterval) env.LEASEFLOW_POLL_INTERVAL = s.pollInterval; else delete env.LEASEFLOW_POLL_INTERVAL;
    this.#profiling = !!s.profileDir;
    const prof = s.profileDir ? ['--cpu-prof', '--cpu-prof-dir', s.profileDir] : [];
    this.child = spawn(process.execPath, [...prof, '--expose-gc', '--require', QUERY_COUNTER, '--import', 'tsx', 'runner/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.stopped = new Promise((r) => (this.#onStopped = r));
    const keep = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      if (text.includes('"msg":"runner stopped"')) this.#onStopped?.();
      this.#tail.push(text);
      if (this.#tail.length > 40) this.#tail.shift();
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((r) => this.child.once('exit', () => { this.#exited = true; alive.delete(this); r(); }));
    alive.add(this);
  }

  get pid(): number { return this.child.pid as number; }
  get alive(): boolean { return !this.#exited; }

  /** The last lines the process wrote (for error messages). */
  tail(): string { return this.#tail.join('').split('\n').slice(-15).join('\n'); }

  /** Resolves on the IPC `ready` message; rejects if the process exits or takes too long. */
  ready(timeoutMs = 60_000): Promise<this> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`runner ${this.instanceId} not ready after ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      this.child.on('message', (m: { type?: string }) => {
        if (m?.type === 'ready') { clearTimeout(timer); res(this); }
      });
      void this.exited.then(() => { clearTimeout(timer); rej(new Error(`runner ${this.instanceId} exited before ready:\n${this.tail()}`)); });
    });
  }

  /** What the runner's query-counter preload reports over IPC (null if it does not answer). */
  report(gc = false, timeoutMs = 3000): Promise<{ counts: Record<string, number>; memory: NodeJS.MemoryUsage } | null> {
    if (!this.alive) return Promise.resolve(null);
    return new Promise((res) => {
      const onMessage = (m: { type?: string; counts?: Record<string, number>; memory?: NodeJS.MemoryUsage }) => {
        if (m?.type === 'bench:counts' && m.counts && m.memory) done({ counts: m.counts, memory: m.memory });
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      const done = (v: { counts: Record<string, number>; memory: NodeJS.MemoryUsage } | null) => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        res(v);
      };
      this.child.on('message', onMessage);
      this.child.send({ type: 'bench:counts', gc });
    });
  }

  /** Statements this runner has sent to the database so far (counted in the process itself). */
  async statements(): Promise<number | null> {
    const r = await this.report();
    return r ? statementsIn(r.counts) : null;
  }

  /** V8 heap retained after a full GC, MB (null if the runner does not answer). */
  async heapUsedMb(): Promise<number | null> {
    const r = await this.report(true);
    return r ? Math.round((r.memory.heapUsed / 1048576) * 10) / 10 : null;
  }

  cpuSeconds(): number | null { return cpuSeconds(this.pid); }
  memory(): { rssMb: number | null; hwmMb: number | null } { return memoryMb(this.pid); }

  /** kill -9. */
  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /**
   * Graceful stop: SIGTERM (drain, hand back, deregister), then SIGKILL once the runner has
   * logged "runner stopped" and had `exitGraceMs` to exit by itself, or after `graceMs` in
   * any case. (A runner that has been at full capacity can linger up to 20 × pollInterval
   * after stopping: engine/runner/poller.ts leaves its `pause()` timer armed when capacity
   * wins the race. Nothing is left to do by then, so the bench does not wait for it.)
   */
  async stop(graceMs = 15_000, exitGraceMs = 300): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    // A profiled runner writes its .cpuprofile on exit: give it time to exit by itself.
    if (this.#profiling) exitGraceMs = Math.max(exitGraceMs, 10_000);
    let timer: NodeJS.Timeout | undefined;
    const stoppedThenGrace = this.stopped.then(() => new Promise<void>((r) => setTimeout(r, exitGraceMs)));
    await Promise.race([this.exited, stoppedThenGrace, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    await this.kill9();
  }
}

/** Spawn `n` runner processes (in parallel) and wait until all are ready. */
export async function spawnRunners(n: number, settings: (i: number) => RunnerSettings): Promise<RunnerProc[]> {
  const procs = Array.from({ length: n }, (_, i) => new RunnerProc(settings(i)));
  try {
    return await Promise.all(procs.map((p) => p.ready()));
  } catch (err) {
    await Promise.all(procs.map((p) => p.kill9()));
    throw err;
  }
}

/** Stop runner processes gracefully (in parallel). */
export async function stopRunners(procs: readonly RunnerProc[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop()));
}

/** SIGKILL every runner process still alive (exit path). */
export function killAllRunnersSync(): void {
  for (const p of alive) {
    try { p.child.kill('SIGKILL'); } catch { /* gone */ }
  }
}
