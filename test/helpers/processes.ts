/**
 * Real runner processes for the process tests: spawn `tsx runner/main.ts` with its environment,
 * wait for its IPC `ready`, collect its pino JSON log lines, and signal the process that really
 * runs the runner (tsx's CLI is a wrapper that spawns node as its child, so SIGKILL/SIGSTOP go to
 * that child, never to the wrapper). Every process spawned here is SIGKILLed by `killAllRunners`
 * (call it in afterAll) and, as a last resort, when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Database } from '../../engine';

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

/** The fixture module served by default. */
export const FIXTURE_WORKFLOWS = join(ROOT, 'test/process/fixtures/workflows.ts');

/** Settings of one runner process (become its LEASEFLOW_* environment). */
export interface RunnerProcessOptions {
  dbUrl: string;
  instanceId: string;
  /** Workflow module or directory. @default the fixture module */
  workflows?: string;
  concurrency?: number;
  leaseTtl?: string;
  pollInterval?: string;
  drainTimeout?: string;
  /** @default 'info' */
  logLevel?: string;
  env?: Record<string, string>;
}

/** One pino line of a runner process (`raw` when the line was not JSON). */
export interface LogLine {
  level?: number;
  time?: number;
  msg?: string;
  raw?: string;
  [field: string]: unknown;
}

const spawned = new Set<RunnerProcess>();

/** A spawned runner process. */
export class RunnerProcess {
  readonly instanceId: string;
  readonly wrapper: ChildProcess;
  /** pid of the node process that runs the runner (the tsx wrapper's child). */
  pid = 0;
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  /** Resolves when the wrapper exited (the runner process exited before it). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #exit?: { code: number | null; signal: NodeJS.Signals | null };
  #partial = '';

  constructor(options: RunnerProcessOptions) {
    this.instanceId = options.instanceId;
    const env: Record<string, string> = {
      ...stringEnv(process.env),
      LEASEFLOW_DB_URL: options.dbUrl,
      LEASEFLOW_WORKFLOWS: options.workflows ?? FIXTURE_WORKFLOWS,
      LEASEFLOW_INSTANCE_ID: options.instanceId,
      LOG_LEVEL: options.logLevel ?? 'info',
      ...(options.concurrency !== undefined ? { LEASEFLOW_CONCURRENCY: String(options.concurrency) } : {}),
      ...(options.leaseTtl ? { LEASEFLOW_LEASE_TTL: options.leaseTtl } : {}),
      ...(options.pollInterval ? { LEASEFLOW_POLL_INTERVAL: options.pollInterval } : {}),
      ...(options.drainTimeout ? { LEASEFLOW_DRAIN_TIMEOUT: options.drainTimeout } : {}),
      ...options.env,
    };
    delete env.JEST_WORKER_ID; // the runner must log (the engine's logger is silent under jest)
    this.wrapper = spawn(TSX, ['runner/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.wrapper.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.#onStdout(chunk));
    this.wrapper.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.stderr.push(chunk));
    this.exited = new Promise((resolveExit) => {
      this.wrapper.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        spawned.delete(this);
        resolveExit(this.#exit);
      });
    });
    spawned.add(this);
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  #onStdout(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ raw: line });
      }
    }
  }

  /** Wait for the IPC `ready` message, then find the real runner process. */
  async ready(timeoutMs = 30_000): Promise<this> {
    const msg = await new Promise<{ type: string; runnerId: string }>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`runner ${this.instanceId} not ready after ${timeoutMs} ms; stderr: ${this.stderr.join('')}`)), timeoutMs);
      this.wrapper.on('message', (m: { type?: string; runnerId?: string }) => {
        if (m?.type === 'ready') { clearTimeout(timer); res(m as { type: string; runnerId: string }); }
      });
      void this.exited.then((e) => { clearTimeout(timer); rej(new Error(`runner ${this.instanceId} exited (${e.code ?? e.signal}) before ready; stderr: ${this.stderr.join('')}`)); });
    });
    if (msg.runnerId !== this.instanceId) throw new Error(`runner reported id ${msg.runnerId}, expected ${this.instanceId}`);
    this.pid = childPidOf(this.wrapper.pid as number) ?? (this.wrapper.pid as number);
    return this;
  }

  /** Send `signal` to the process that runs the runner. */
  signal(signal: NodeJS.Signals): void {
    if (!this.alive) return;
    if (!this.pid) this.pid = childPidOf(this.wrapper.pid as number) ?? 0; // not ready yet
    try {
      process.kill(this.pid || (this.wrapper.pid as number), signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** Graceful stop (SIGTERM); resolves with the exit once the process is gone, throws after `timeoutMs`. */
  async terminate(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`${this.instanceId} did not exit within ${timeoutMs} ms of SIGTERM\n${this.dump()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL the runner and its wrapper; resolves when the wrapper exited. */
  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.signal('SIGCONT'); // a stopped process must not linger
    this.signal('SIGKILL');
    try { this.wrapper.kill('SIGKILL'); } catch { /* gone */ }
    await this.exited;
  }

  /** Log lines whose message matches. */
  linesWithMsg(msg: string | RegExp): LogLine[] {
    return this.logs.filter((l) => typeof l.msg === 'string' && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
  }

  /** Wait until a log line satisfies `pred`. */
  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs: number, what = 'a log line'): Promise<LogLine> {
    let found: LogLine | undefined;
    await waitFor(() => (found = this.logs.find(pred)) !== undefined, { timeoutMs, what: `${this.instanceId}: ${what}` });
    return found as LogLine;
  }

  /** Every log line and stderr, for a failure message. */
  dump(): string {
    return `--- ${this.instanceId} (pid ${this.pid}) ---\n${this.logs.map((l) => l.raw ?? JSON.stringify(l)).join('\n')}\n${this.stderr.join('')}`;
  }
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** The pid of `parent`'s child process (Linux /proc), or undefined. */
function childPidOf(parent: number): number | undefined {
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === parent) return Number(entry);
      } catch { /* process went away */ }
    }
  } catch { /* no /proc */ }
  return undefined;
}

/** Spawn a runner process and wait until it is ready. */
export async function spawnRunner(options: RunnerProcessOptions): Promise<RunnerProcess> {
  const p = new RunnerProcess(options);
  try {
    return await p.ready();
  } catch (err) {
    await p.kill9();
    throw err;
  }
}

/** SIGKILL every runner process still alive (afterAll / afterEach). */
export async function killAllRunners(): Promise<void> {
  await Promise.all([...spawned].map((p) => p.kill9()));
}

process.once('exit', () => {
  for (const p of spawned) {
    try { p.signal('SIGKILL'); } catch { /* gone */ }
    try { p.wrapper.kill('SIGKILL'); } catch { /* gone */ }
  }
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` until it returns true; throw naming `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, o: { timeoutMs: number; intervalMs?: number; what: string }): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${o.timeoutMs} ms waiting for ${o.what}`);
    await sleep(o.intervalMs ?? 50);
  }
}

/** The database clock now, in epoch ms. */
export async function dbNowMs(db: Database): Promise<number> {
  const [row] = await db.sql.all<{ now: unknown }>(`SELECT ${db.sql.now} AS now`);
  return (db.sql.date(row.now) as Date).getTime();
}

/**
 * SIGSTOP `proc` at a moment when it holds no open transaction, so the pause models a stalled
 * process rather than a stalled database: on SQLite a paused writer would hold the file's write
 * lock and stall every peer; on MariaDB it would hold row locks. Probe, and if the process was
 * caught inside a transaction, resume it and try again a moment later.
 */
export async function pauseOutsideTransactions(proc: RunnerProcess, db: Database): Promise<void> {
  for (let i = 0; i < 100; i++) {
    proc.signal('SIGSTOP');
    if (await noForeignTransaction(db)) return;
    proc.signal('SIGCONT');
    await sleep(20 + Math.random() * 30);
  }
  throw new Error(`could not pause ${proc.instanceId} outside a transaction`);
}

async function noForeignTransaction(db: Database): Promise<boolean> {
  if (db.sql.mysql) {
    const rows = await db.sql.all(
      'SELECT t.trx_id FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id ' +
        'WHERE p.DB = DATABASE() AND p.ID <> CONNECTION_ID()',
    );
    return rows.length === 0;
  }
  // SQLite: can we take the write lock right now? (A short busy timeout, restored afterwards.)
  await db.sql.run('PRAGMA busy_timeout = 300');
  try {
    await db.sql.run('BEGIN IMMEDIATE');
    await db.sql.run('COMMIT');
    return true;
  } catch {
    return false;
  } finally {
    await db.sql.run('PRAGMA busy_timeout = 10000');
  }
}
