/**
 * The side table `chaos_attempts`, written OUTSIDE the engine: one row each time a step body of
 * a chaos workflow really starts (and updated when it ends), with the execution, step, sequence
 * number, idempotency key, step attempt, the lease token it runs under, the runner and its pid,
 * and DB-clock timestamps. It is how the checker sees work that fencing threw away. Written from
 * the runner processes; rows are idempotent on a client-made id, so a retried insert after a
 * lost connection never counts an attempt twice.
 */
import { randomUUID } from 'node:crypto';
import { openDatabase, type Database } from '../../engine';

/** DDL of the side table (MySQL family). */
export const ATTEMPTS_DDL =
  'CREATE TABLE IF NOT EXISTS chaos_attempts (' +
  'id VARCHAR(36) NOT NULL PRIMARY KEY, execution_id VARCHAR(200) NOT NULL, workflow VARCHAR(64) NOT NULL, ' +
  'step VARCHAR(64) NOT NULL, seq INT NOT NULL, idempotency_key VARCHAR(320) NOT NULL, step_attempt INT NOT NULL, ' +
  'lease_token BIGINT NOT NULL, runner_id VARCHAR(255) NOT NULL, pid INT NOT NULL, template_key VARCHAR(64) NULL, ' +
  'outcome VARCHAR(16) NULL, started_at DATETIME(6) NOT NULL, finished_at DATETIME(6) NULL, ' +
  'INDEX chaos_attempts_exec_idx (execution_id, seq)) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin';

/** What a step body reports when it starts. */
export interface AttemptStart {
  executionId: string;
  workflow: string;
  step: string;
  idempotencyKey: string;
  stepAttempt: number;
  leaseToken: number;
  templateKey?: string;
  /** Recorded at start (the crash step records `crash` and never finishes). */
  outcome?: string;
}

/** Sequence number of a step from its idempotency key `{executionId}:{seq}:{name}`. */
export function seqFromKey(key: string, executionId: string, step: string): number {
  const middle = key.slice(executionId.length + 1, key.length - step.length - 1);
  const seq = Number(middle);
  if (!key.startsWith(`${executionId}:`) || !key.endsWith(`:${step}`) || !Number.isInteger(seq)) {
    throw new Error(`unexpected idempotency key ${key} for ${executionId}/${step}`);
  }
  return seq;
}

let handle: Promise<Database> | undefined;
let inFlight = 0;
let idleTimer: NodeJS.Timeout | undefined;

function sideDb(): Promise<Database> {
  const url = process.env.LEASEFLOW_DB_URL;
  if (!url) throw new Error('chaos workflows: LEASEFLOW_DB_URL is not set');
  handle ??= openDatabase(url, { poolMax: 2, createDatabase: false }).catch((err: unknown) => {
    handle = undefined;
    throw err;
  });
  return handle;
}

/**
 * Close the side pool once it has been idle for a moment: its open sockets would otherwise keep
 * a gracefully stopped runner process alive until the pool's idle timeout (~30 s).
 */
function scheduleIdleClose(): void {
  clearTimeout(idleTimer);
  if (inFlight > 0) return;
  idleTimer = setTimeout(() => {
    const h = handle;
    if (inFlight > 0 || !h) return;
    handle = undefined;
    void h.then((db) => db.close()).catch(() => undefined);
  }, IDLE_CLOSE_MS);
  idleTimer.unref();
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Longest a side-table write keeps retrying (a MariaDB restart takes a few seconds). */
const RECORD_RETRY_MS = 120_000;
/** Idle time after which the side pool is closed (re-opened on the next write). */
const IDLE_CLOSE_MS = 1500;

async function withRetry(what: string, fn: (db: Database) => Promise<unknown>): Promise<void> {
  const started = Date.now();
  inFlight++;
  clearTimeout(idleTimer);
  try {
    for (let i = 1; ; i++) {
      try {
        await fn(await sideDb());
        return;
      } catch (err) {
        if (Date.now() - started > RECORD_RETRY_MS) throw new Error(`chaos side table: ${what} kept failing: ${(err as Error).message}`);
        await sleep(Math.min(1000, 25 * 2 ** i));
      }
    }
  } finally {
    inFlight--;
    scheduleIdleClose();
  }
}

/** Record the start of a step attempt; returns its id for `recordFinish`. */
export async function recordStart(a: AttemptStart): Promise<string> {
  const id = randomUUID();
  const seq = seqFromKey(a.idempotencyKey, a.executionId, a.step);
  await withRetry('insert', (db) => db.sql.run(
    'INSERT IGNORE INTO chaos_attempts (id, execution_id, workflow, step, seq, idempotency_key, step_attempt, lease_token, runner_id, pid, ' +
      'template_key, outcome, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))',
    [id, a.executionId, a.workflow, a.step, seq, a.idempotencyKey, a.stepAttempt, a.leaseToken,
      process.env.LEASEFLOW_INSTANCE_ID ?? 'unknown', process.pid, a.templateKey ?? null, a.outcome ?? null],
  ));
  return id;
}

/** Record the end of a step attempt (`ok` or `error`). */
export async function recordFinish(id: string, outcome: 'ok' | 'error'): Promise<void> {
  await withRetry('update', (db) => db.sql.run(
    'UPDATE chaos_attempts SET finished_at = UTC_TIMESTAMP(6), outcome = ? WHERE id = ? AND finished_at IS NULL',
    [outcome, id],
  ));
}
