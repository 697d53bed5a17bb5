/**
 * Runner replicas as child processes (the `runner --replicas N` command and the dev demo):
 * each is `replica-main` forked with its own environment (the compiled .js under plain node; the
 * .ts through tsx in a source checkout), its output split into
 * lines for the caller, its runner id reported over IPC once it is ready. Children get their
 * own process group so a terminal Ctrl-C reaches only the parent, which signals each child once.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** One forked replica. */
export interface Replica {
  /** 1-based. */
  readonly index: number;
  readonly child: ChildProcess;
  readonly pid: number;
  /** The runner id, once the replica reported ready. */
  runnerId?: string;
  /** Resolves with the runner id when the replica is running; rejects if it exits first. */
  readonly ready: Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the process exited. */
  hasExited: boolean;
}

/** Options of `startReplicas`. */
export interface StartReplicasOptions {
  count: number;
  /** The environment of every replica (LEASEFLOW_* settings). */
  env: NodeJS.ProcessEnv;
  /** Each output line of each replica. */
  onLine: (replica: Replica, stream: 'stdout' | 'stderr', line: string) => void;
  /** Working directory. @default process.cwd() */
  cwd?: string;
}

/** Node flags for the replica entry: tsx's `--import` hook when this file runs as TypeScript. */
function execArgv(): string[] {
  return __filename.endsWith('.ts') ? ['--import', pathToFileURL(require.resolve('tsx')).href] : [];
}

/** Fork `count` runner replicas. */
export function startReplicas(opts: StartReplicasOptions): Replica[] {
  const entry = join(__dirname, `replica-main${__filename.endsWith('.ts') ? '.ts' : '.js'}`);
  const flags = execArgv();
  return Array.from({ length: opts.count }, (_, i) => {
    const child = fork(entry, [], {
      cwd: opts.cwd, env: opts.env, execArgv: flags, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true,
    });
    let exitedResolve!: (v: { code: number | null; signal: NodeJS.Signals | null }) => void;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => (exitedResolve = r));
    const replica: Replica = {
      index: i + 1, child, pid: child.pid ?? -1, exited, hasExited: false,
      ready: new Promise<string>((resolve, reject) => {
        child.on('message', (m: { type?: string; runnerId?: string }) => {
          if (m?.type === 'ready' && typeof m.runnerId === 'string') {
            replica.runnerId = m.runnerId;
            resolve(m.runnerId);
          }
        });
        void exited.then(({ code, signal }) => reject(new Error(`replica ${i + 1} exited (${signal ?? `code ${code}`}) before it was ready`)));
      }),
    };
    replica.ready.catch(() => undefined); // callers that do not wait for readiness must not see an unhandled rejection
    child.on('exit', (code, signal) => {
      replica.hasExited = true;
      exitedResolve({ code, signal });
    });
    child.on('error', () => undefined); // a failed signal to an exited child; 'exit' tells the rest
    for (const stream of ['stdout', 'stderr'] as const) {
      const source = child[stream];
      if (source) createInterface({ input: source, crlfDelay: Infinity }).on('line', (line) => opts.onLine(replica, stream, line));
    }
    return replica;
  });
}

/** Send `signal` to every replica still running. */
export function signalReplicas(replicas: readonly Replica[], signal: NodeJS.Signals): void {
  for (const r of replicas) if (!r.hasExited) r.child.kill(signal);
}

/**
 * Stop replicas gracefully: SIGTERM, then SIGKILL whatever still runs after `graceMs`.
 * Resolves with the indexes that had to be killed.
 */
export async function stopReplicas(replicas: readonly Replica[], graceMs: number): Promise<number[]> {
  signalReplicas(replicas, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const all = Promise.all(replicas.map((r) => r.exited));
  const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)))]);
  clearTimeout(timer);
  if (!timedOut) return [];
  const killed = replicas.filter((r) => !r.hasExited).map((r) => r.index);
  signalReplicas(replicas, 'SIGKILL');
  await all;
  return killed;
}
