/**
 * The lease holder's writes: every checkpoint, suspension and completion is ONE short
 * transaction whose first statement is the fenced UPDATE `… WHERE id = ? AND lease_token = ?
 * AND status = 'running'`. It must match exactly one row, else the transaction rolls back
 * and `LeaseLostError` (or `CancelRequested`) is thrown: a stale holder writes nothing.
 * An unknown-outcome commit (connection lost) is resolved by re-reading the row.
 */
import { LeaseLostError, LeaseflowError } from '../errors';
import { executionLockKey } from './lock-keys';
import { cancelExecutions, findExecution, insertExecution, isDuplicateKeyError, wakeExecution } from './executions';
import { insertEvents, markTimersFired, storedPayload, timersFired } from './events';
import { boundErrorJson } from '../error-size';
import { consumeSignal, markUndelivered } from './signals';
import { insertContinuation, type ContinuePlan } from './continue-as-new';
import { handOffSlot } from './admission';
import { isConnectionError, type SqlRunner, type SqlStore } from './sql';
import { fenceExecutions } from './fence';
import type { ExecutionRecord, Lease, NewEvent, NewExecution, WaitFor } from './types';

/** The fence failed only because a cancellation was requested: the holder still holds the lease. */
export class CancelRequested extends LeaseflowError {
  constructor(readonly reason: string) {
    super('CANCEL_REQUESTED', `cancellation requested: ${reason}`);
  }
}

/** Everything one checkpoint writes. */
export interface CommitPlan {
  /** Events to append (one multi-row INSERT). */
  events: readonly NewEvent[];
  /** next_seq after this commit. */
  nextSeq: number;
  /** step_attempt after this commit. @default 0 */
  stepAttempt?: number;
  /** New custom status JSON; undefined leaves it. */
  customStatus?: string | null;
  /** Commit even when a cancellation is pending (the holder has already seen it). */
  ignoreCancel?: boolean;
  /** Terminal transition (`continued` goes with `continueAsNew`). */
  finish?: { status: 'completed' | 'failed' | 'cancelled' | 'continued'; output: string | null; error: string | null };
  /** The next run of a continue-as-new (see continue-as-new.ts). */
  continueAsNew?: ContinuePlan;
  /** Suspension: waiting for something, slot and lease released. `dueInMs` null = no deadline. */
  suspend?: { waitFor: WaitFor; dueInMs: number | null; status?: 'waiting' | 'queued' };
  /** Children to create in the same transaction. */
  children?: readonly NewExecution[];
  /** A signal consumed by this commit. */
  consumeSignal?: { id: number; seq: number };
  /** Timers recorded as scheduled that fire with this commit (their delivery order). */
  fireTimers?: readonly { seq: number; order: number }[];
  /** The template key whose slot a finish frees, when no record says so (the group finish's fallback). */
  freesSlotOf?: string | null;
  /** Children to ask to cancel (the parent's cancellation reached them). */
  cancelChildren?: { ids: readonly string[]; reason: string };
  /**
   * Runs inside the transaction after the fence took the row lock; return false to roll back
   * (something the holder was about to wait for has just arrived).
   */
  recheck?: (q: SqlRunner) => Promise<boolean>;
}

/** Outcome of a commit. */
export type CommitResult = 'committed' | 'recheck-failed';

class Rollback extends Error {}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Longest time a commit keeps retrying across a lost connection (DB restart). */
const UNKNOWN_OUTCOME_RETRY_MS = 120_000;
/** Retries of a commit whose connection dropped while the server stayed reachable. */
const MAX_REACHABLE_DROPS = 3;

/** True when a plan only appends events: the one-statement fast path applies. */
export function eventsOnly(plan: CommitPlan): boolean {
  return !plan.finish && !plan.suspend && !plan.children?.length && !plan.consumeSignal && !plan.recheck && !plan.fireTimers?.length && !plan.cancelChildren &&
    plan.customStatus === undefined && plan.stepAttempt === undefined && plan.events.length > 0;
}

/**
 * Commit `plan` fenced by `lease`. A plain checkpoint (events only) takes the group-commit path
 * (insertEventsFenced); anything else is one short transaction led by the fenced UPDATE. A
 * deadlock or certification failure (1213, also at COMMIT) retries the whole transaction.
 */
export async function commitFenced(store: SqlStore, lease: Lease, plan: CommitPlan, record?: ExecutionRecord): Promise<CommitResult> {
  const started = Date.now();
  const fast = eventsOnly(plan);
  // The server answered after a dropped connection, yet the commit had not landed: this very
  // statement may be what kills the connection (over max_allowed_packet). Not forever.
  let reachableDrops = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      if (fast) {
        let failed: Lease[];
        try {
          failed = await insertEventsFenced(store, store, [{ lease, events: plan.events, ignoreCancel: plan.ignoreCancel === true }]);
        } catch (err) {
          // A duplicate (execution, seq): an earlier try of this very commit landed and only its
          // reply was lost (a killed connection) — or another holder's rows are there.
          if (!isDuplicateKeyError(err)) throw err;
          if (await eventsLanded(store, lease, plan.events)) return 'committed';
          failed = [lease];
        }
        if (failed.length) await explainFenceFailure(store, store, lease);
        return 'committed';
      }
      return await store.tx((q) => writePlan(q, store, lease, plan, record));
    } catch (err) {
      if (err instanceof Rollback) return 'recheck-failed';
      if (err instanceof LeaseLostError || err instanceof CancelRequested) throw err;
      if (!isConnectionError(err) || Date.now() - started > UNKNOWN_OUTCOME_RETRY_MS) throw err;
      // Unknown outcome: did the commit land before the connection broke?
      await sleep(Math.min(2000, 50 * 2 ** attempt));
      const row = await findExecution(store, store, lease.executionId).catch((e) => (isConnectionError(e) ? undefined : Promise.reject(e)));
      if (row === undefined) continue; // still cannot reach the database
      if (row && fast) {
        const ok = await eventsLanded(store, lease, plan.events).catch((e) => (isConnectionError(e) ? undefined : Promise.reject(e)));
        if (ok === undefined) continue;
        if (ok) return 'committed';
      }
      if (row && !fast && landed(row, lease, plan)) {
        // The row alone cannot tell a plan that leaves it as it was (a timer fired, next_seq
        // unchanged) from one that never landed: its events and fired timers must be there too.
        const rest = await restLanded(store, lease, plan).catch((e) => (isConnectionError(e) ? undefined : Promise.reject(e)));
        if (rest === undefined) continue;
        if (rest) return 'committed';
      }
      if (!row || row.leaseToken !== lease.token || row.status !== 'running') throw new LeaseLostError(lease.executionId, lease.token);
      if (++reachableDrops >= MAX_REACHABLE_DROPS) throw err;
    }
  }
}

/** One execution's part of a fenced multi-row event insert. */
export interface FencedEvents {
  lease: Lease;
  events: readonly NewEvent[];
  ignoreCancel: boolean;
}

/**
 * Append the events of one or more executions, each fenced by its own execution's lease token;
 * returns the leases whose events were not inserted. One server (MySQL family or SQLite): ONE
 * statement, `INSERT … SELECT` joined on the fence, the fence row read with a shared lock on
 * MySQL, so a stale holder's rows simply do not join. Galera: locking reads are node-local and
 * never certified, so one short transaction makes the fence a guarded write (fence.ts) and then
 * inserts the rows that passed — certification refuses a stale holder on another node.
 */
export async function insertEventsFenced(q: SqlRunner, store: SqlStore, items: readonly FencedEvents[]): Promise<Lease[]> {
  if (store.galera) return q === store ? store.tx((t) => fenceAndInsert(t, store, items)) : fenceAndInsert(q, store, items);
  const rows: string[] = [];
  const params: unknown[] = [];
  for (const it of items) {
    for (const e of it.events) {
      rows.push(rows.length === 0
        ? 'SELECT ? AS execution_id, ? AS seq, ? AS kind, ? AS name, ? AS status, ? AS payload, ? AS attempt, ? AS lease_token, ? AS done_order, ? AS any_cancel'
        : 'SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?');
      params.push(it.lease.executionId, e.seq, e.kind, e.name, e.status, storedPayload(e), e.attempt, it.lease.token, e.order ?? null, it.ignoreCancel ? 1 : 0);
    }
  }
  const expected = rows.length;
  // On MySQL the fence must be a LOCKING read: under READ COMMITTED the SELECT of an INSERT …
  // SELECT is otherwise a snapshot read that neither waits for an in-flight claim nor stops the
  // watchdog from re-queueing the row before this insert lands (bench/chaos found it).
  const res = await q.run(
    'INSERT INTO workflow_events (execution_id, seq, kind, name, status, payload, attempt, lease_token, done_order, created_at) ' +
      `SELECT v.execution_id, v.seq, v.kind, v.name, v.status, v.payload, v.attempt, v.lease_token, v.done_order, ${store.now} ` +
      // The values drive the join and each fence row is read by its primary key: a locking scan
      // of the table would wait on rows a frozen peer holds (issue 8, item 1).
      `FROM (${rows.join(' UNION ALL ')}) AS v ${store.mysql ? 'STRAIGHT_JOIN workflow_executions e FORCE INDEX (PRIMARY)' : 'JOIN workflow_executions e'} ON e.id = v.execution_id AND e.lease_token = v.lease_token ` +
      "AND e.status = 'running' AND (v.any_cancel = 1 OR e.cancel_reason IS NULL)" + (store.mysql ? ' LOCK IN SHARE MODE' : ''),
    params,
  );
  if (res.affectedRows >= expected) return [];
  const failed: Lease[] = [];
  for (const it of items) if (!(await eventsLanded(q, it.lease, it.events))) failed.push(it.lease);
  return failed;
}

async function fenceAndInsert(q: SqlRunner, store: SqlStore, items: readonly FencedEvents[]): Promise<Lease[]> {
  const fenced = items.map((it) => ({ it, passed: false, fence: { executionId: it.lease.executionId, token: it.lease.token, ignoreCancel: it.ignoreCancel } }));
  const passes = await fenceExecutions(q, store, fenced.map((f) => f.fence));
  for (const f of fenced) f.passed = passes(f.fence);
  const pass = fenced.filter((f) => f.passed).map((f) => f.it);
  const values: string[] = [];
  const params: unknown[] = [];
  for (const it of pass) {
    for (const e of it.events) {
      values.push(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ${store.now})`);
      params.push(it.lease.executionId, e.seq, e.kind, e.name, e.status, storedPayload(e), e.attempt, it.lease.token, e.order ?? null);
    }
  }
  if (values.length) {
    await q.run(
      `INSERT INTO workflow_events (execution_id, seq, kind, name, status, payload, attempt, lease_token, done_order, created_at) VALUES ${values.join(', ')}`,
      params,
    );
  }
  return fenced.filter((f) => !f.passed).map((f) => f.it.lease);
}

export async function eventsLanded(q: SqlRunner, lease: Lease, events: readonly NewEvent[]): Promise<boolean> {
  const rows = await q.all<{ n: unknown }>(
    'SELECT COUNT(*) AS n FROM workflow_events WHERE execution_id = ? AND seq IN (?) AND lease_token = ?',
    [lease.executionId, events.map((e) => e.seq), lease.token],
  );
  return Number(rows[0]?.n) === events.length;
}

/** The fence matched nothing: throw CancelRequested or LeaseLostError, whichever is true. */
export async function explainFenceFailure(q: SqlRunner, store: SqlStore, lease: Lease): Promise<never> {
  const row = await findExecution(q, store, lease.executionId);
  if (row && row.leaseToken === lease.token && row.status === 'running' && row.cancelReason !== null) throw new CancelRequested(row.cancelReason);
  throw new LeaseLostError(lease.executionId, lease.token, row ? `now token ${row.leaseToken}, status ${row.status}` : 'execution vanished');
}

async function restLanded(store: SqlStore, lease: Lease, plan: CommitPlan): Promise<boolean> {
  if (plan.events.length && !(await eventsLanded(store, lease, plan.events))) return false;
  return !plan.fireTimers?.length || timersFired(store, lease.executionId, plan.fireTimers);
}

function landed(row: ExecutionRecord, lease: Lease, plan: CommitPlan): boolean {
  if (plan.continueAsNew) return row.runId === plan.continueAsNew.runId;
  if (row.leaseToken !== lease.token || row.nextSeq !== plan.nextSeq) return false;
  if (plan.finish) return row.status === plan.finish.status;
  if (plan.suspend) return row.status === (plan.suspend.status ?? 'waiting');
  return row.status === 'running' && row.stepAttempt === (plan.stepAttempt ?? 0);
}

async function writePlan(q: SqlRunner, store: SqlStore, lease: Lease, plan: CommitPlan, record?: ExecutionRecord): Promise<CommitResult> {
  const sets = ['next_seq = ?', 'step_attempt = ?', `updated_at = ${store.now}`];
  const params: unknown[] = [plan.nextSeq, plan.stepAttempt ?? 0];
  if (plan.customStatus !== undefined) { sets.push('custom_status = ?'); params.push(plan.customStatus); }
  if (plan.finish) {
    sets.push('status = ?', 'output = ?', 'error = ?', `finished_at = ${store.now}`, 'available_at = NULL', 'wait_for = NULL', 'runner_id = NULL');
    params.push(plan.finish.status, plan.finish.output, boundErrorJson(plan.finish.error));
  } else if (plan.suspend) {
    sets.push('status = ?', 'wait_for = ?', 'runner_id = NULL');
    params.push(plan.suspend.status ?? 'waiting', JSON.stringify(plan.suspend.waitFor));
    if (plan.suspend.dueInMs === null) sets.push('available_at = NULL');
    else { sets.push(`available_at = ${store.nowPlus}`); params.push(store.ms(plan.suspend.dueInMs)); }
  }
  const cancelGuard = plan.ignoreCancel ? '' : ' AND cancel_reason IS NULL';
  const res = await q.run(
    `UPDATE workflow_executions SET ${sets.join(', ')} WHERE id = ? AND lease_token = ? AND status = 'running'${cancelGuard}`,
    [...params, lease.executionId, lease.token],
  );
  if (res.affectedRows !== 1) await explainFenceFailure(q, store, lease);
  if (plan.recheck && !(await plan.recheck(q))) throw new Rollback();
  await insertEvents(q, store, lease.executionId, lease.token, plan.events);
  if (plan.fireTimers?.length) await markTimersFired(q, lease.executionId, lease.token, plan.fireTimers);
  if (plan.cancelChildren?.ids.length) await cancelExecutions(q, store, plan.cancelChildren.ids, plan.cancelChildren.reason);
  if (plan.consumeSignal && !(await consumeSignal(q, plan.consumeSignal.id, plan.consumeSignal.seq))) {
    throw new LeaseLostError(lease.executionId, lease.token, `signal ${plan.consumeSignal.id} was consumed by someone else`);
  }
  for (const child of plan.children ?? []) await insertExecution(q, store, child);
  if (plan.finish || plan.suspend) {
    await q.run('DELETE FROM distributed_locks WHERE lock_key = ? AND token = ?', [executionLockKey(lease.executionId), lease.token]);
  }
  // A run that continues as new hands its unconsumed signals to the next run (insertContinuation).
  if (plan.finish && !plan.continueAsNew) await markUndelivered(q, [lease.executionId]);
  if (plan.continueAsNew) {
    const { templateFreed } = await insertContinuation(q, store, lease, plan.continueAsNew);
    if (templateFreed) await wakeNextInTemplate(q, store, templateFreed);
    return 'committed';
  }
  if (plan.finish && record?.parentId) await wakeExecution(q, store, record.parentId);
  const slot = plan.freesSlotOf ?? (record?.admitted ? record.templateKey : null);
  if (plan.finish && slot) await wakeNextInTemplate(q, store, slot);
  return 'committed';
}

/** A template slot was freed: hand it to the key's head waiter (admission.ts). */
export async function wakeNextInTemplate(q: SqlRunner, store: SqlStore, templateKey: string): Promise<void> {
  await handOffSlot(q, store, templateKey);
}
