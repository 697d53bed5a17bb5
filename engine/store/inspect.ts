/**
 * Read-only SQL for the dashboard and metrics: live leases, runners seen recently, template
 * slots and queues, queue depth and the head-of-queue wait, counts by status, pending signals.
 * Invariant: every statement here reads through an index on a bounded range (active
 * executions, unexpired lock rows, recent runners) or is capped by a LIMIT — none scans history.
 */
import { EXECUTION_LOCK_PREFIX } from './lock-keys';
import type { SqlStore } from './sql';
import type { ExecutionStatus } from './types';

/** A lease row with its holder, token and expiry. */
export interface LeaseRow { executionId: string; owner: string; token: number; expiresAt: Date }

/** Unexpired execution leases (at most `limit`), by key. */
export async function liveLeases(store: SqlStore, limit: number): Promise<LeaseRow[]> {
  const rows = await store.all<Record<string, unknown>>(
    `SELECT lock_key, owner, token, expires_at FROM distributed_locks WHERE expires_at >= ${store.now} AND hold_count > 0 ` +
      'AND lock_key >= ? AND lock_key < ? ORDER BY lock_key LIMIT ?',
    [EXECUTION_LOCK_PREFIX, 'workflow_execution;', limit],
  );
  return rows.map((r) => ({
    executionId: String(r.lock_key).slice(EXECUTION_LOCK_PREFIX.length), owner: String(r.owner),
    token: Number(r.token), expiresAt: store.date(r.expires_at) as Date,
  }));
}

/** A member of a template key that is active (admitted holder or waiting in its queue). */
export interface TemplateMemberRow {
  templateKey: string; templateLimit: number | null; executionId: string; status: ExecutionStatus; admitted: boolean;
  runnerId: string | null; createdAt: Date;
}

/** Active template members (queued, running, waiting), oldest first, at most `limit`. */
export async function activeTemplateMembers(store: SqlStore, limit: number): Promise<TemplateMemberRow[]> {
  // Uses the claim index (status, available_at): only active rows are visited.
  const rows = await store.all<Record<string, unknown>>(
    "SELECT template_key, template_limit, id, status, admitted, runner_id, created_at FROM workflow_executions " +
      "WHERE status IN ('queued', 'running', 'waiting') AND template_key IS NOT NULL ORDER BY created_at, id LIMIT ?",
    [limit],
  );
  return rows.map((r) => ({
    templateKey: String(r.template_key), templateLimit: r.template_limit === null ? null : Number(r.template_limit),
    executionId: String(r.id), status: String(r.status) as ExecutionStatus, admitted: Number(r.admitted) === 1 || r.admitted === true,
    runnerId: r.runner_id === null ? null : String(r.runner_id), createdAt: store.date(r.created_at) as Date,
  }));
}

/** Queue depth, each count capped at `cap` (+1 means "more than cap"), and the oldest due time. */
export interface QueueDepthRow { ready: number; delayed: number; oldestReadyAt: Date | null; now: Date }

/** Ready (due) and delayed queued executions, bounded counts on the claim index. */
export async function queueDepth(store: SqlStore, cap: number): Promise<QueueDepthRow> {
  const [row] = await store.all<Record<string, unknown>>(
    `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM workflow_executions WHERE status = 'queued' AND available_at <= ${store.now} LIMIT ?) r) AS ready_n, ` +
      `(SELECT COUNT(*) FROM (SELECT 1 FROM workflow_executions WHERE status = 'queued' AND available_at > ${store.now} LIMIT ?) d) AS delayed_n, ` +
      `(SELECT MIN(available_at) FROM workflow_executions WHERE status = 'queued' AND available_at <= ${store.now}) AS oldest, ${store.now} AS db_now`,
    [cap + 1, cap + 1],
  );
  return { ready: Number(row?.ready_n ?? 0), delayed: Number(row?.delayed_n ?? 0), oldestReadyAt: store.date(row?.oldest), now: store.date(row?.db_now) as Date };
}

/** Executions per status (one GROUP BY over the status index: callers cache it). */
export async function countByStatus(store: SqlStore): Promise<Partial<Record<ExecutionStatus, number>>> {
  const rows = await store.all<{ status: unknown; n: unknown }>('SELECT status, COUNT(*) AS n FROM workflow_executions GROUP BY status');
  return Object.fromEntries(rows.map((r) => [String(r.status), Number(r.n)]));
}

/** An unconsumed signal. */
export interface PendingSignalRow { id: number; name: string; payload: string | null; createdAt: Date }

/** Unconsumed signals of an execution, in arrival order (at most `limit`). */
export async function pendingSignals(store: SqlStore, executionId: string, limit: number): Promise<PendingSignalRow[]> {
  const rows = await store.all<Record<string, unknown>>(
    'SELECT id, name, payload, created_at FROM workflow_signals WHERE execution_id = ? AND consumed_seq IS NULL ORDER BY id LIMIT ?',
    [executionId, limit],
  );
  return rows.map((r) => ({ id: Number(r.id), name: String(r.name), payload: r.payload === null ? null : String(r.payload), createdAt: store.date(r.created_at) as Date }));
}

/** 1-based place of a not-yet-admitted member in its template's FIFO queue (template index). */
export async function templateQueuePosition(store: SqlStore, templateKey: string, createdAt: Date, id: string): Promise<number> {
  const d = store.dateParam(createdAt);
  const [row] = await store.all<{ n: unknown }>(
    "SELECT COUNT(*) AS n FROM workflow_executions WHERE template_key = ? AND status = 'queued' AND admitted = 0 " +
      'AND (created_at < ? OR (created_at = ? AND id < ?))',
    [templateKey, d, d, id],
  );
  return Number(row?.n ?? 0) + 1;
}

/** Lease state of some executions (primary-key lookups). */
export interface LeaseStateRow { executionId: string; status: ExecutionStatus; runnerId: string | null; leaseToken: number }

/** Status, runner and lease token of `ids` (at most a few hundred). */
export async function leaseStates(store: SqlStore, ids: readonly string[]): Promise<LeaseStateRow[]> {
  if (ids.length === 0) return [];
  const rows = await store.all<Record<string, unknown>>('SELECT id, status, runner_id, lease_token FROM workflow_executions WHERE id IN (?)', [ids]);
  return rows.map((r) => ({ executionId: String(r.id), status: String(r.status) as ExecutionStatus, runnerId: r.runner_id === null ? null : String(r.runner_id), leaseToken: Number(r.lease_token) }));
}
