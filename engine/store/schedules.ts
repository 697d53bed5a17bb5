/**
 * SQL of `workflow_schedules`. Invariant: a fire is recorded ONCE — the executions a look at a
 * schedule starts (id `{schedule}:{fire time ISO}`) are inserted in the same transaction that
 * advances the row, and that transaction holds the row (`FOR UPDATE [SKIP LOCKED]` on MySQL, an
 * immediate transaction on SQLite), so two runners never both act on one fire and a runner that
 * dies mid-way leaves nothing. A duplicate execution id means "already fired" and is not an error.
 */
import { insertExecution, isDuplicateKeyError } from './executions';
import type { SqlRunner, SqlStore } from './sql';
import type { ExecutionStatus, NewExecution } from './types';

/** What every fire of a schedule starts: these columns of the execution row. */
export type FireTemplate = Pick<NewExecution, 'workflowName' | 'workflowVersion' | 'templateKey' | 'templateLimit' | 'input'>;

/** One schedule as stored (JSON still as text). */
export interface ScheduleRecord extends FireTemplate {
  id: string;
  cron: string | null;
  everyMs: number | null;
  timezone: string | null;
  overlap: string;
  catchupWindowMs: number;
  jitterMs: number;
  paused: boolean;
  nextFireAt: Date | null;
  dueAt: Date | null;
  /** ISO fire times waiting for the running execution to finish, oldest first. */
  buffered: string[];
  lastExecutionId: string | null;
  lastFireAt: Date | null;
  firedCount: number;
  skippedCount: number;
  missedCount: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The columns a caller sets on create/update (the rest are the ticker's). */
export type ScheduleDefinitionFields = Pick<ScheduleRecord,
  'workflowName' | 'workflowVersion' | 'templateKey' | 'templateLimit' | 'input' | 'cron' | 'everyMs' | 'timezone' |
  'overlap' | 'catchupWindowMs' | 'jitterMs' | 'paused'>;

/** The state a look at the schedule leaves behind. */
export interface ScheduleState {
  nextFireAt: Date | null;
  dueAt: Date | null;
  buffered: string[];
  lastExecutionId: string | null;
  lastFireAt: Date | null;
  /** Added to the counters. */
  fired: number;
  skipped: number;
  missed: number;
}

const COLUMNS = 'id, workflow_name, workflow_version, template_key, template_limit, input, cron, every_ms, timezone, overlap, ' +
  'catchup_window_ms, jitter_ms, paused, next_fire_at, due_at, buffered, last_execution_id, last_fire_at, fired_count, ' +
  'skipped_count, missed_count, created_at, updated_at';

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toSchedule(r: Record<string, unknown>, date: SqlStore['date']): ScheduleRecord {
  return {
    id: String(r.id), workflowName: String(r.workflow_name), workflowVersion: Number(r.workflow_version),
    templateKey: str(r.template_key), templateLimit: num(r.template_limit), input: str(r.input),
    cron: str(r.cron), everyMs: num(r.every_ms), timezone: str(r.timezone), overlap: String(r.overlap),
    catchupWindowMs: Number(r.catchup_window_ms), jitterMs: Number(r.jitter_ms), paused: Number(r.paused) === 1 || r.paused === true,
    nextFireAt: date(r.next_fire_at), dueAt: date(r.due_at), buffered: r.buffered ? (JSON.parse(String(r.buffered)) as string[]) : [],
    lastExecutionId: str(r.last_execution_id), lastFireAt: date(r.last_fire_at),
    firedCount: Number(r.fired_count), skippedCount: Number(r.skipped_count), missedCount: Number(r.missed_count),
    createdAt: date(r.created_at) as Date, updatedAt: date(r.updated_at) as Date,
  };
}

const dateOrNull = (store: SqlStore, d: Date | null) => (d ? store.dateParam(d) : null);
const bufferedText = (b: readonly string[]) => (b.length ? JSON.stringify(b) : null);

/** Insert a new schedule (throws a duplicate-key error when the id exists). */
export async function insertSchedule(q: SqlRunner, store: SqlStore, id: string, f: ScheduleDefinitionFields, next: { nextFireAt: Date | null; dueAt: Date | null }): Promise<void> {
  await q.run(
    `INSERT INTO workflow_schedules (id, workflow_name, workflow_version, template_key, template_limit, input, cron, every_ms, timezone, ` +
      `overlap, catchup_window_ms, jitter_ms, paused, next_fire_at, due_at, fired_count, skipped_count, missed_count, created_at, updated_at) ` +
      `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, ${store.now}, ${store.now})`,
    [id, f.workflowName, f.workflowVersion, f.templateKey, f.templateLimit, f.input, f.cron, f.everyMs, f.timezone, f.overlap,
      f.catchupWindowMs, f.jitterMs, f.paused ? 1 : 0, dateOrNull(store, next.nextFireAt), dateOrNull(store, next.dueAt)],
  );
}

/** Rewrite a schedule's definition and timing (the caller holds the row). */
export async function updateScheduleDefinition(q: SqlRunner, store: SqlStore, id: string, f: ScheduleDefinitionFields, next: { nextFireAt: Date | null; dueAt: Date | null }): Promise<void> {
  await q.run(
    'UPDATE workflow_schedules SET workflow_name = ?, workflow_version = ?, template_key = ?, template_limit = ?, input = ?, cron = ?, ' +
      'every_ms = ?, timezone = ?, overlap = ?, catchup_window_ms = ?, jitter_ms = ?, paused = ?, next_fire_at = ?, due_at = ?, ' +
      `updated_at = ${store.now} WHERE id = ?`,
    [f.workflowName, f.workflowVersion, f.templateKey, f.templateLimit, f.input, f.cron, f.everyMs, f.timezone, f.overlap,
      f.catchupWindowMs, f.jitterMs, f.paused ? 1 : 0, dateOrNull(store, next.nextFireAt), dateOrNull(store, next.dueAt), id],
  );
}

/** One schedule, or null; `forUpdate` holds the row until the transaction ends. */
export async function findSchedule(q: SqlRunner, store: SqlStore, id: string, forUpdate = false): Promise<ScheduleRecord | null> {
  const rows = await q.all<Record<string, unknown>>(`SELECT ${COLUMNS} FROM workflow_schedules WHERE id = ?${forUpdate && store.mysql ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ? toSchedule(rows[0], store.date) : null;
}

/** A page of schedules by id. */
export async function listSchedules(store: SqlStore, o: { after?: string; limit: number }): Promise<ScheduleRecord[]> {
  const rows = await store.all<Record<string, unknown>>(
    `SELECT ${COLUMNS} FROM workflow_schedules${o.after !== undefined ? ' WHERE id > ?' : ''} ORDER BY id LIMIT ?`,
    o.after !== undefined ? [o.after, o.limit] : [o.limit],
  );
  return rows.map((r) => toSchedule(r, store.date));
}

/** Delete a schedule; true when it existed. Executions it started are left alone. */
export async function deleteSchedule(store: SqlStore, id: string): Promise<boolean> {
  return (await store.run('DELETE FROM workflow_schedules WHERE id = ?', [id])).affectedRows === 1;
}

/**
 * Hold up to `limit` schedules due at the database clock, skipping rows another runner holds
 * (MySQL); returns them with the clock reading.
 */
export async function lockDueSchedules(q: SqlRunner, store: SqlStore, limit: number): Promise<{ now: Date; due: ScheduleRecord[] }> {
  const rows = await q.all<Record<string, unknown>>(
    `SELECT ${COLUMNS}, ${store.now} AS db_now FROM workflow_schedules WHERE due_at <= ${store.now} ORDER BY due_at LIMIT ?` +
      (store.mysql ? ' FOR UPDATE SKIP LOCKED' : ''),
    [limit],
  );
  const now = rows[0] ? (store.date(rows[0].db_now) as Date) : new Date(0);
  return { now, due: rows.map((r) => toSchedule(r, store.date)) };
}

/**
 * The idle probe, one statement answered from the due_at index: the earliest due time of any
 * schedule (null when none is due ever) and the database clock.
 */
export async function earliestDue(store: SqlStore): Promise<{ dueAt: Date | null; now: Date }> {
  const rows = await store.all<{ due: unknown; now: unknown }>(`SELECT MIN(due_at) AS due, ${store.now} AS now FROM workflow_schedules`);
  return { dueAt: store.date(rows[0]?.due), now: store.date(rows[0]?.now) as Date };
}

/** Write what a look at the schedule decided (the caller holds the row). */
export async function saveScheduleState(q: SqlRunner, store: SqlStore, id: string, s: ScheduleState): Promise<void> {
  await q.run(
    'UPDATE workflow_schedules SET next_fire_at = ?, due_at = ?, buffered = ?, last_execution_id = ?, last_fire_at = ?, ' +
      `fired_count = fired_count + ?, skipped_count = skipped_count + ?, missed_count = missed_count + ?, updated_at = ${store.now} WHERE id = ?`,
    [dateOrNull(store, s.nextFireAt), dateOrNull(store, s.dueAt), bufferedText(s.buffered), s.lastExecutionId,
      dateOrNull(store, s.lastFireAt), s.fired, s.skipped, s.missed, id],
  );
}

/** Insert the execution of one fire; false when that fire's execution already exists. */
export async function insertFireExecution(q: SqlRunner, store: SqlStore, e: NewExecution): Promise<boolean> {
  try {
    await insertExecution(q, store, e);
    return true;
  } catch (err) {
    if (isDuplicateKeyError(err)) return false;
    throw err;
  }
}

/** Status of one execution, or null when there is none. */
export async function executionStatus(q: SqlRunner, id: string): Promise<ExecutionStatus | null> {
  const rows = await q.all<{ status: unknown }>('SELECT status FROM workflow_executions WHERE id = ?', [id]);
  return rows[0] ? (String(rows[0].status) as ExecutionStatus) : null;
}

/** One execution a schedule started. */
export interface ScheduledExecution {
  id: string;
  status: ExecutionStatus;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

/**
 * The newest executions of a schedule, newest first: a primary-key range scan over
 * `{schedule}:` (schedule ids contain no ':', so no other schedule's ids fall inside).
 */
export async function recentScheduleExecutions(store: SqlStore, scheduleId: string, limit: number): Promise<ScheduledExecution[]> {
  const rows = await store.all<Record<string, unknown>>(
    'SELECT id, status, created_at, started_at, finished_at, error FROM workflow_executions WHERE id > ? AND id < ? ORDER BY id DESC LIMIT ?',
    [`${scheduleId}:`, `${scheduleId};`, limit],
  );
  return rows.map((r) => ({
    id: String(r.id), status: String(r.status) as ExecutionStatus, createdAt: store.date(r.created_at) as Date,
    startedAt: store.date(r.started_at), finishedAt: store.date(r.finished_at), error: str(r.error),
  }));
}
