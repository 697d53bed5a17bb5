/**
 * The runner processes of a chaos run: N slots, each running `tsx runner/main.ts` on the chaos
 * workflows. Signals go to the node process that really runs the runner (tsx's CLI wraps it in a
 * parent process). A slot whose process died — killed by a fault, crashed by a workflow, or
 * stopped gracefully — is restarted after a short delay with a new instance id, until the fleet
 * is stopped. Each process's pino lines go to a log file and are counted by message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');

/** Environment of every runner process. */
export interface FleetSettings {
  dbUrl: string;
  workflowsModule: string;
  concurrency: number;
  leaseTtl: string;
  pollInterval: string;
  drainTimeout: string;
  logDir: string;
  logLevel: string;
  /** Where slot N runs (cluster mode): its simulated host, a command prefix (`ip netns exec …`) and the URL it uses. */
  placement?: (slot: number) => { host: number; prefix: string[]; dbUrl: string };
}

/** What the fleet tells the harness. */
export type FleetEvent =
  | { type: 'ready'; proc: RunnerProc }
  | { type: 'exit'; proc: RunnerProc; code: number | null; signal: string | null; expected: boolean };

/** One runner process (one generation of a slot). */
export class RunnerProc {
  readonly instanceId: string;
  readonly wrapper: ChildProcess;
  /** pid of the node process that runs the runner. */
  pid = 0;
  ready = false;
  /** Paused with SIGSTOP right now. */
  paused = false;
  /** The harness sent this process a fault that ends it (kill -9, SIGTERM). */
  ending = false;
  /** Simulated host (cluster mode; 0 = this machine's own network). */
  readonly host: number = 0;
  /** Its host is cut off from the network right now. */
  partitioned = false;
  exitInfo?: { code: number | null; signal: string | null };
  readonly exited: Promise<void>;
  readonly startedAt = Date.now();
  #log: WriteStream;
  #partial = '';
  /** Log lines counted by message (and lease-lost details by class). */
  readonly counts = new Map<string, number>();
  readonly errors: string[] = [];

  constructor(readonly slot: number, readonly generation: number, settings: FleetSettings) {
    this.instanceId = `chaos-r${slot}-g${generation}`;
    this.#log = createWriteStream(join(settings.logDir, `${this.instanceId}.log`));
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    Object.assign(env, {
      LEASEFLOW_DB_URL: settings.dbUrl, LEASEFLOW_WORKFLOWS: settings.workflowsModule, LEASEFLOW_INSTANCE_ID: this.instanceId,
      LEASEFLOW_CONCURRENCY: String(settings.concurrency), LEASEFLOW_LEASE_TTL: settings.leaseTtl, LEASEFLOW_POLL_INTERVAL: settings.pollInterval,
      LEASEFLOW_DRAIN_TIMEOUT: settings.drainTimeout, LOG_LEVEL: settings.logLevel,
    });
    delete env.JEST_WORKER_ID;
    const place = settings.placement?.(slot);
    if (place) { this.host = place.host; env.LEASEFLOW_DB_URL = place.dbUrl; }
    // `ip netns exec` execs the command in place, so the wrapper pid is still tsx's.
    const [cmd, ...args] = [...(place?.prefix ?? []), TSX, 'runner/main.ts'];
    this.wrapper = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.wrapper.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.#onStdout(chunk));
    this.wrapper.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#log.write(`[stderr] ${chunk}`);
      if (this.errors.length < 20) this.errors.push(`stderr: ${chunk.trim().slice(0, 300)}`);
    });
    this.exited = new Promise((resolveExit) => {
      this.wrapper.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        this.#log.end();
        resolveExit();
      });
    });
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** Usable as a fault target: ready, running, not paused, not on its way out. */
  get usable(): boolean {
    return this.alive && this.ready && !this.paused && !this.ending && !this.partitioned;
  }

  #onStdout(chunk: string): void {
    this.#log.write(chunk);
    const lines = (this.#partial + chunk).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      let msg = 'unparsed line';
      try {
        const rec = JSON.parse(line) as { msg?: string; level?: number; detail?: string };
        msg = rec.msg ?? 'no msg';
        if (msg === 'lease lost; local run aborted') msg += ` [${classifyLeaseLoss(rec.detail)}]`;
        if ((rec.level ?? 0) >= 50 && this.errors.length < 20) this.errors.push(line.slice(0, 500));
      } catch { /* not JSON */ }
      if (/presumed dead/.test(msg)) msg = 'runner presumed dead (watchdog)';
      this.counts.set(msg, (this.counts.get(msg) ?? 0) + 1);
    }
  }

  /** Wait for the IPC `ready`, then find the real runner process. */
  async waitReady(timeoutMs: number): Promise<boolean> {
    const ok = await new Promise<boolean>((res) => {
      const timer = setTimeout(() => res(false), timeoutMs);
      this.wrapper.on('message', (m: { type?: string }) => {
        if (m?.type === 'ready') { clearTimeout(timer); res(true); }
      });
      void this.exited.then(() => { clearTimeout(timer); res(false); });
    });
    if (!ok) return false;
    this.pid = childPidOf(this.wrapper.pid as number) ?? (this.wrapper.pid as number);
    this.ready = true;
    return true;
  }

  /** Send a signal to the runner process (never throws for a process that is gone). */
  signal(sig: NodeJS.Signals): void {
    if (!this.alive) return;
    try {
      process.kill(this.pid || (this.wrapper.pid as number), sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }

  /** SIGKILL the runner and its wrapper. */
  kill9(): void {
    this.signal('SIGCONT');
    this.signal('SIGKILL');
    try { this.wrapper.kill('SIGKILL'); } catch { /* gone */ }
  }
}

/** Class of a lease loss, from the runner's log detail. */
export function classifyLeaseLoss(detail: string | undefined): string {
  if (!detail) return 'unknown';
  if (/local lease deadline/.test(detail)) return 'local deadline (commit refused before sending)';
  if (/now token|vanished|status/.test(detail)) return 'database fence (token/status mismatch)';
  if (/consumed by someone else/.test(detail)) return 'signal already consumed';
  if (/before the final commit/.test(detail)) return 'final commit refused';
  if (/heartbeat/.test(detail)) return 'heartbeat found the lease gone';
  if (/watchdog/.test(detail)) return 'expired, released by a watchdog';
  return detail.slice(0, 60);
}

/** The pid of `parent`'s child process (Linux /proc), or undefined. */
function childPidOf(parent: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) return Number(entry);
    } catch { /* gone */ }
  }
  return undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** N runner slots, restarted when their process dies. */
export class RunnerFleet {
  readonly slots: RunnerProc[] = [];
  readonly all: RunnerProc[] = [];
  #generation = new Map<number, number>();
  #stopping = false;
  restarts = 0;

  constructor(readonly settings: FleetSettings, readonly size: number, private readonly onEvent: (e: FleetEvent) => void) {}

  /** Start every slot and wait until all are ready. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.size }, (_, slot) => this.#spawn(slot)));
    if (this.slots.some((p) => !p?.ready)) throw new Error(`runners did not start:\n${this.all.flatMap((p) => p.errors).join('\n')}`);
  }

  async #spawn(slot: number): Promise<void> {
    const gen = (this.#generation.get(slot) ?? 0) + 1;
    this.#generation.set(slot, gen);
    const proc = new RunnerProc(slot, gen, this.settings);
    this.slots[slot] = proc;
    this.all.push(proc);
    void proc.exited.then(() => this.#onExit(proc));
    if (await proc.waitReady(90_000)) this.onEvent({ type: 'ready', proc });
    else if (proc.alive) proc.kill9(); // hung at startup: the exit handler restarts it
  }

  #onExit(proc: RunnerProc): void {
    const info = proc.exitInfo ?? { code: null, signal: null };
    this.onEvent({ type: 'exit', proc, code: info.code, signal: info.signal, expected: proc.ending || this.#stopping });
    if (this.#stopping || this.slots[proc.slot] !== proc) return;
    // A runner that could not even start (database down) waits longer before the next try.
    const delay = proc.ready ? 300 + Math.random() * 700 : 1500;
    this.restarts++;
    void sleep(delay).then(() => (this.#stopping ? undefined : this.#spawn(proc.slot)));
  }

  /** Current processes that can take a fault. */
  usable(): RunnerProc[] {
    return this.slots.filter((p) => p?.usable);
  }

  /** Live pids (for mapping database connections). */
  livePids(): number[] {
    return this.slots.filter((p) => p?.alive && p.pid).map((p) => p.pid);
  }

  byInstance(id: string): RunnerProc | undefined {
    return this.all.find((p) => p.instanceId === id);
  }

  /** Stop restarting; SIGTERM every runner, SIGKILL whatever is left after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    const alive = this.all.filter((p) => p.alive);
    for (const p of alive) { p.signal('SIGCONT'); p.signal('SIGTERM'); }
    await Promise.race([Promise.all(alive.map((p) => p.exited)), sleep(graceMs)]);
    for (const p of this.all.filter((x) => x.alive)) p.kill9();
    await Promise.all(this.all.map((p) => p.exited));
  }

  /** Last resort (harness exiting): SIGKILL everything at once, synchronously. */
  killAllNow(): void {
    this.#stopping = true;
    for (const p of this.all) if (p.alive) p.kill9();
  }
}
