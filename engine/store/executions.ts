/**
 * SQL of `workflow_executions` outside the lease holder's path: insert (start), read, list,
 * and the "wake" touch other writers use. Lease-holder transitions are in transitions.ts,
 * claims and the watchdog in claims.ts.
 */
import { namespaceOf, nsKey } from '../namespace/keys';
import { uuidv7 } from '../uuid7';
import type { SqlRunner, SqlStore } from './sql';
import { ADMISSION_WAIT, admissionCheck, nextTemplateSeq } from './admission';
import { DEFAULT_PRIORITY_STEP_MS } from '../flow/options';
import type { ExecutionRecord, ExecutionStatus, NewExecution, WaitFor } from './types';

/** Every column, in SELECT form. */
export const EXECUTION_COLUMNS =
  'id, run_id, first_run_id, continued_from, run_number, workflow_name, workflow_version, template_key, template_limit, admitted, priority, rate_key, rate_step_us, status, input, output, error, custom_status, ' +
  'wait_for, available_at, lease_token, runner_id, next_seq, step_attempt, attempt, parent_id, parent_seq, cancel_reason, ' +
  'created_at, updated_at, started_at, finished_at, trace_context, start_build, last_build, last_version';

/** The columns of a list row (no payloads). */
const LIST_COLUMNS = EXECUTION_COLUMNS.replace('input, output, error, custom_status, ', '');

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** Map a row to the domain record. */
export function toExecution(r: Record<string, unknown>, date: SqlStore['date']): ExecutionRecord {
  return {
    id: String(r.id),
    runId: str(r.run_id) ?? '',
    firstRunId: str(r.first_run_id) ?? str(r.run_id) ?? '',
    continuedFrom: str(r.continued_from),
    runNumber: Number(r.run_number ?? 1),
    workflowName: String(r.workflow_name),
    workflowVersion: Number(r.workflow_version),
    templateKey: str(r.template_key),
    templateLimit: r.template_limit === null || r.template_limit === undefined ? null : Number(r.template_limit),
    admitted: Number(r.admitted) === 1 || r.admitted === true,
    priority: Number(r.priority ?? 0),
    rateKey: str(r.rate_key),
    rateStepUs: r.rate_step_us === null || r.rate_step_us === undefined ? null : Number(r.rate_step_us),
    status: String(r.status) as ExecutionStatus,
    input: str(r.input),
    output: str(r.output),
    error: str(r.error),
    customStatus: str(r.custom_status),
    waitFor: r.wait_for ? (JSON.parse(String(r.wait_for)) as WaitFor) : null,
    availableAt: date(r.available_at),
    leaseToken: Number(r.lease_token),
    runnerId: str(r.runner_id),
    nextSeq: Number(r.next_seq),
    stepAttempt: Number(r.step_attempt),
    attempt: Number(r.attempt),
    parentId: str(r.parent_id),
    parentSeq: r.parent_seq === null || r.parent_seq === undefined ? null : Number(r.parent_seq),
    cancelReason: str(r.cancel_reason),
    createdAt: date(r.created_at) as Date,
    updatedAt: date(r.updated_at) as Date,
    startedAt: date(r.started_at),
    finishedAt: date(r.finished_at),
    traceContext: str(r.trace_context),
    startBuild: str(r.start_build),
    lastBuild: str(r.last_build),
    lastVersion: r.last_version === null || r.last_version === undefined ? null : Number(r.last_version),
  };
}

export { isDuplicateKeyError } from './sql';

/**
 * Insert a new queued execution (throws a duplicate-key error when the id exists). A template
 * member gets the next admission sequence of its key (FIFO ties: creation order, not id order)
 * and is admitted or parked at once (admission.ts); a rate-limited start records its key (paced
 * at its first claim, rate-limits.ts); a start due now is ordered by its priority. Call it inside
 * a transaction for template members, so the sequence, the admission and the row land together.
 */
export async function insertExecution(q: SqlRunner, store: SqlStore, e: NewExecution): Promise<void> {
  const runId = e.runId ?? uuidv7();
  const priority = e.priority ?? 0;
  // A start due now is ordered as if it had become due priority × step earlier (engine/flow).
  const offsetMs = e.delayMs > 0 ? e.delayMs : -priority * (e.priorityStepMs ?? DEFAULT_PRIORITY_STEP_MS);
  const templateSeq = e.templateKey === null ? null : await nextTemplateSeq(q, store, e.templateKey);
  // admitted, wait_for, available_at: fixed, or decided by the admission check in the INSERT itself.
  let admission = { sql: `?, ?, ${store.nowPlus}`, params: [e.admitted ? 1 : 0, null, store.ms(offsetMs)] as unknown[] };
  let from = { sql: '', params: [] as unknown[] };
  if (e.templateKey !== null && !e.admitted && e.delayMs <= 0) {
    admission = { sql: `a.adm, CASE WHEN a.adm = 1 THEN NULL ELSE ? END, CASE WHEN a.adm = 1 THEN ${store.nowPlus} ELSE NULL END`, params: [ADMISSION_WAIT, store.ms(offsetMs)] };
    const check = admissionCheck(e.templateKey, e.templateLimit ?? 1);
    from = { sql: ` FROM (SELECT ${check.sql} AS adm) AS a`, params: check.params };
  }
  await q.run(
    `INSERT INTO workflow_executions (${INSERT_COLUMNS}) ` +
      `SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ${admission.sql}, ?, 0, 0, 0, ?, ?, ?, ?, ${createdAt(store)}, ${store.now}${from.sql}`,
    [...headParams(e, runId, templateSeq, priority), ...admission.params, ...tailParams(e), ...from.params],
  );
}

/** The columns an insert writes, in the order of headParams, admission, tailParams. */
const INSERT_COLUMNS =
  'id, run_id, first_run_id, continued_from, run_number, workflow_name, workflow_version, template_key, ' +
  'template_limit, template_seq, priority, rate_key, rate_step_us, status, input, admitted, wait_for, available_at, lease_token, next_seq, ' +
  'step_attempt, attempt, parent_id, parent_seq, trace_context, namespace, created_at, updated_at';

/** created_at at millisecond precision, so a JS Date cursor (list pagination) matches it exactly. */
const createdAt = (store: SqlStore) => (store.mysql ? 'UTC_TIMESTAMP(3)' : store.now);

/** Parameters id … input (13 + input). */
function headParams(e: NewExecution, runId: string, templateSeq: number | null, priority: number): unknown[] {
  const rate = e.rateLimit ?? null;
  return [e.id, runId, e.firstRunId ?? runId, e.continuedFrom ?? null, e.runNumber ?? 1, e.workflowName, e.workflowVersion, e.templateKey,
    e.templateLimit, templateSeq, priority, rate ? nsKey(namespaceOf(e.id), rate.key) : null, rate ? Math.ceil((rate.periodMs * 1000) / rate.limit) : null,
    e.input];
}

/** Parameters lease_token … namespace. */
const tailParams = (e: NewExecution): unknown[] => [e.leaseToken ?? 0, e.parentId, e.parentSeq, e.traceContext ?? null, namespaceOf(e.id)];

/** True when a start can share a multi-row INSERT: no template key (its admission needs a transaction). */
export const isPlainStart = (e: NewExecution): boolean => e.templateKey === null;

/**
 * Insert plain starts (isPlainStart) in ONE multi-row statement, each row exactly as
 * insertExecution would write it. Atomic: a duplicate id fails the whole statement and writes
 * nothing (the caller then inserts each on its own to tell which).
 */
export async function insertPlainExecutions(q: SqlRunner, store: SqlStore, rows: readonly NewExecution[]): Promise<void> {
  if (rows.length === 0) return;
  const tuple = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ${store.nowPlus}, ?, 0, 0, 0, ?, ?, ?, ?, ${createdAt(store)}, ${store.now})`;
  const params: unknown[] = [];
  for (const e of rows) {
    if (!isPlainStart(e)) throw new Error(`insertPlainExecutions: ${e.id} has a template key`);
    const runId = e.runId ?? uuidv7();
    const priority = e.priority ?? 0;
    const offsetMs = e.delayMs > 0 ? e.delayMs : -priority * (e.priorityStepMs ?? DEFAULT_PRIORITY_STEP_MS);
    params.push(...headParams(e, runId, null, priority), e.admitted ? 1 : 0, null, store.ms(offsetMs), ...tailParams(e));
  }
  await q.run(`INSERT INTO workflow_executions (${INSERT_COLUMNS}) VALUES ${rows.map(() => tuple).join(', ')}`, params);
}

/** One execution, or null. `forUpdate` locks the row (MySQL; SQLite transactions are exclusive). */
export async function findExecution(q: SqlRunner, store: SqlStore, id: string, forUpdate = false): Promise<ExecutionRecord | null> {
  const lock = forUpdate && store.mysql ? ' FOR UPDATE' : '';
  const rows = await q.all<Record<string, unknown>>(`SELECT ${EXECUTION_COLUMNS} FROM workflow_executions WHERE id = ?${lock}`, [id]);
  return rows[0] ? toExecution(rows[0], store.date) : null;
}

/** The database clock now. */
export async function dbNow(q: SqlRunner, store: SqlStore): Promise<Date> {
  const rows = await q.all<{ now: unknown }>(`SELECT ${store.now} AS now`);
  return store.date(rows[0]?.now) as Date;
}

/**
 * Touch an execution so a waiting one becomes runnable now (a signal, a child's end or a
 * cancel arrived). It always writes the row, even when it is running, so it takes the row
 * lock: a holder that is about to suspend either sees what we stored or is woken by us.
 */
export async function wakeExecution(q: SqlRunner, store: SqlStore, id: string): Promise<void> {
  await q.run(
    `UPDATE workflow_executions SET ` +
      `available_at = CASE WHEN status = 'waiting' THEN ${store.now} ELSE available_at END, ` +
      `status = CASE WHEN status = 'waiting' THEN 'queued' ELSE status END, ` +
      `updated_at = ${store.now} WHERE id = ?`,
    [id],
  );
}

/** Record a cancellation request (first reason wins). Returns the row as it was before. */
export async function requestCancel(q: SqlRunner, store: SqlStore, id: string, reason: string): Promise<void> {
  await q.run(`UPDATE workflow_executions SET cancel_reason = COALESCE(cancel_reason, ?), updated_at = ${store.now} WHERE id = ?`, [reason, id]);
}

/** Ask unfinished executions to cancel (a parent's cancellation reaching its children) and wake them. */
export async function cancelExecutions(q: SqlRunner, store: SqlStore, ids: readonly string[], reason: string): Promise<void> {
  if (ids.length === 0) return;
  await q.run(
    `UPDATE workflow_executions SET cancel_reason = COALESCE(cancel_reason, ?), ` +
      `available_at = CASE WHEN status = 'waiting' THEN ${store.now} ELSE available_at END, ` +
      `status = CASE WHEN status = 'waiting' THEN 'queued' ELSE status END, ` +
      `updated_at = ${store.now} WHERE id IN (?) AND status IN ('queued', 'running', 'waiting')`,
    [reason, ids],
  );
}

/** Cancel an execution that never started: straight to cancelled. */
export async function cancelUnstarted(q: SqlRunner, store: SqlStore, id: string, errorJson: string): Promise<boolean> {
  const res = await q.run(
    `UPDATE workflow_executions SET status = 'cancelled', error = ?, available_at = NULL, wait_for = NULL, ` +
      `finished_at = ${store.now}, updated_at = ${store.now} WHERE id = ? AND status = 'queued' AND attempt = 0`,
    [errorJson, id],
  );
  return res.affectedRows === 1;
}

/** Filter of `list`. */
export interface ListFilter {
  /** Only this namespace (the `namespace` column). */
  namespace?: string;
  status?: ExecutionStatus | ExecutionStatus[];
  workflow?: string;
  parentId?: string;
  /** Ids starting with this text. */
  idPrefix?: string;
  templateKey?: string;
  /** Last run by this build (code versions). */
  build?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  limit: number;
  /** Continue after this (createdAt, id), newest first. */
  after?: { createdAt: Date; id: string };
}

/** A page of executions, newest first. */
export async function listExecutions(q: SqlRunner, store: SqlStore, f: ListFilter): Promise<ExecutionRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.status !== undefined) {
    const list = Array.isArray(f.status) ? f.status : [f.status];
    where.push('status IN (?)');
    params.push(list);
  }
  if (f.namespace !== undefined) { where.push('namespace = ?'); params.push(f.namespace); }
  if (f.workflow !== undefined) { where.push('workflow_name = ?'); params.push(f.workflow); }
  if (f.parentId !== undefined) { where.push('parent_id = ?'); params.push(f.parentId); }
  if (f.templateKey !== undefined) { where.push('template_key = ?'); params.push(f.templateKey); }
  if (f.build !== undefined) { where.push('last_build = ?'); params.push(f.build); }
  if (f.idPrefix !== undefined && f.idPrefix !== '') {
    // A key range, so the primary key serves it on both dialects (binary collation).
    where.push('id >= ? AND id < ?');
    params.push(f.idPrefix, `${f.idPrefix}\u{10FFFF}`);
  }
  if (f.createdAfter) { where.push('created_at >= ?'); params.push(store.dateParam(f.createdAfter)); }
  if (f.createdBefore) { where.push('created_at < ?'); params.push(store.dateParam(f.createdBefore)); }
  if (f.after) {
    where.push('(created_at < ? OR (created_at = ? AND id < ?))');
    const d = store.dateParam(f.after.createdAt);
    params.push(d, d, f.after.id);
  }
  const sqlText = `SELECT ${LIST_COLUMNS} FROM workflow_executions${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ` +
    `ORDER BY created_at DESC, id DESC LIMIT ?`;
  params.push(f.limit);
  const rows = await q.all<Record<string, unknown>>(sqlText, params);
  return rows.map((r) => toExecution(r, store.date));
}
