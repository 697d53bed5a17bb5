/**
 * Helpers for engine tests: a side-effect ledger table (counts how often a step body really
 * ran, outside the engine), in-process driving, and time travel through rows.
 */
import type { Database } from '../../engine/store/database';
import { releaseExpiredLeases } from '../../engine/store/expired-leases';
import { claimExecutions } from '../../engine/store/claims';
import { executeClaimed } from '../../engine/runner/executor';
import { runUntilIdle } from '../../engine/runner/drive';
import type { WorkflowDefinition } from '../../engine/workflow/define-workflow';

/** Create the ledger table (idempotent). */
export async function createLedger(db: Database): Promise<void> {
  await db.sql.run(db.sql.mysql
    ? 'CREATE TABLE IF NOT EXISTS test_ledger (id BIGINT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(255) NOT NULL, INDEX (k))'
    : 'CREATE TABLE IF NOT EXISTS test_ledger (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL)');
}

/** Record one real run of something. */
export async function ledger(db: Database, key: string): Promise<void> {
  await db.sql.run('INSERT INTO test_ledger (k) VALUES (?)', [key]);
}

/** How many times each key ran (keys with a prefix). */
export async function ledgerCounts(db: Database, prefix: string): Promise<Record<string, number>> {
  const rows = await db.sql.all<{ k: string; n: unknown }>('SELECT k, COUNT(*) AS n FROM test_ledger WHERE k LIKE ? GROUP BY k', [`${prefix}%`]);
  return Object.fromEntries(rows.map((r) => [String(r.k), Number(r.n)]));
}

/** Run due executions of `workflows` in-process until nothing is due. */
export function drive(db: Database, workflows: WorkflowDefinition<any, any>[], owner = 'test-runner-00000000') { // eslint-disable-line @typescript-eslint/no-explicit-any
  return runUntilIdle({ db, workflows, owner, leaseTtlMs: 30_000, holdWaitsUpToMs: 200 });
}

/** Pretend every lease expired (a crashed runner) and let the watchdog hand them back. */
export async function expireAllLeases(db: Database): Promise<number> {
  await db.sql.run(`UPDATE distributed_locks SET expires_at = ${db.sql.mysql ? 'UTC_TIMESTAMP(6) - INTERVAL 1 SECOND' : `${db.sql.now} - 1000`}`);
  // The release never waits on row locks: a row still held by a transaction that is finishing
  // (an aborted run's in-flight commit) is skipped as stuck. Retry until nothing is stuck (bounded).
  let released = 0;
  for (const deadline = Date.now() + 10_000; ;) {
    const out = await releaseExpiredLeases(db.sql);
    released += out.released.length;
    if (out.stuck.length === 0 || Date.now() > deadline) return released;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Make a waiting execution due now (a timer or timeout elapsed). */
export async function makeDue(db: Database, executionId: string): Promise<void> {
  await db.sql.run(`UPDATE workflow_executions SET available_at = ${db.sql.mysql ? 'UTC_TIMESTAMP(6) - INTERVAL 1 SECOND' : `${db.sql.now} - 1000`} WHERE id = ?`, [executionId]);
}

/**
 * Claim one execution of `wf` as `owner` and run it in-process; `crash()` (or `crashWhen`
 * returning true for a session event) aborts the run as if the process died right there.
 */
export async function runOnceWithCrash(db: Database, wf: WorkflowDefinition<any, any>, crashWhen: (event: string, data: Record<string, unknown>) => boolean = () => false) { // eslint-disable-line @typescript-eslint/no-explicit-any
  const owner = 'crashy-00000000';
  const [execution] = await claimExecutions(db.sql, { owner, workflows: [wf.name], limit: 1, leaseTtlMs: 30_000 });
  if (!execution) throw new Error(`nothing of ${wf.name} to claim`);
  const ac = new AbortController();
  crash = () => ac.abort('simulated crash');
  try {
    return await executeClaimed({
      store: db.sql, execution, definition: wf, owner, signal: ac.signal, holdWaitsUpToMs: 200,
      emit: (event, data) => { if (crashWhen(event, data)) ac.abort('simulated crash'); },
    });
  } finally {
    crash = () => undefined;
  }
}

let crash: () => void = () => undefined;

/** Inside a step body run by runOnceWithCrash: the "process" dies now (before the step commits). */
export function crashNow(): void {
  crash();
}
