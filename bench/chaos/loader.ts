/**
 * Loads what a chaos run left in the database into the checker's row types: executions, events,
 * signals and the `chaos_attempts` side table. Times are read as text and parsed here, so the
 * DB clock's microseconds survive (a JS Date would keep milliseconds only).
 */
import type { Database } from '../../engine';
import type { AttemptRow, EventRow, ExecRow, SignalRow } from './checker';

/** 'YYYY-MM-DD HH:MM:SS[.ffffff]' (UTC) → epoch ms with a fractional µs part; null stays null. */
export function parseDbTime(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.getTime();
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(String(v));
  if (!m) throw new Error(`unexpected datetime ${String(v)}`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), 0) + Number(m[6]) * 1000;
}

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const json = (v: unknown): unknown => {
  if (v === null || v === undefined) return undefined;
  try { return JSON.parse(String(v)); } catch { return String(v); }
};
const t = (col: string) => `CAST(${col} AS CHAR) AS ${col}`;

/** Every chaos row of the database (the hostile-input submitter's rows are checked apart). */
export async function loadChaosRows(db: Database): Promise<{ executions: ExecRow[]; events: EventRow[]; signals: SignalRow[]; attempts: AttemptRow[] }> {
  const ex = await db.sql.all<Record<string, unknown>>(
    `SELECT id, workflow_name, status, input, output, error, lease_token, attempt, parent_id, template_key, wait_for, runner_id, ${t('created_at')}, ${t('finished_at')} FROM workflow_executions WHERE id NOT LIKE 'hostile-%'`,
  );
  const ev = await db.sql.all<Record<string, unknown>>(
    `SELECT execution_id, seq, kind, name, status, payload, attempt, lease_token, ${t('created_at')} FROM workflow_events WHERE execution_id NOT LIKE 'hostile-%' ORDER BY execution_id, seq`,
  );
  const sg = await db.sql.all<Record<string, unknown>>("SELECT id, execution_id, name, payload, consumed_seq FROM workflow_signals WHERE execution_id NOT LIKE 'hostile-%' ORDER BY id");
  const at = await db.sql.all<Record<string, unknown>>(
    `SELECT id, execution_id, workflow, step, seq, step_attempt, lease_token, runner_id, pid, template_key, outcome, ${t('started_at')}, ${t('finished_at')} FROM chaos_attempts`,
  );
  return {
    executions: ex.map((r) => ({
      id: String(r.id), workflow: String(r.workflow_name), status: String(r.status), input: json(r.input), output: json(r.output),
      error: (json(r.error) as ExecRow['error']) ?? null, leaseToken: Number(r.lease_token), attempt: Number(r.attempt), parentId: str(r.parent_id),
      templateKey: str(r.template_key), createdAtMs: parseDbTime(r.created_at) as number, finishedAtMs: parseDbTime(r.finished_at),
      waitFor: str(r.wait_for), runnerId: str(r.runner_id),
    })),
    events: ev.map((r) => ({
      executionId: String(r.execution_id), seq: Number(r.seq), kind: String(r.kind), name: String(r.name), status: String(r.status),
      payload: str(r.payload), attempt: Number(r.attempt), leaseToken: Number(r.lease_token), createdAtMs: parseDbTime(r.created_at) as number,
    })),
    signals: sg.map((r) => ({
      id: Number(r.id), executionId: String(r.execution_id), name: String(r.name), payload: str(r.payload),
      consumedSeq: r.consumed_seq === null || r.consumed_seq === undefined ? null : Number(r.consumed_seq),
    })),
    attempts: at.map((r) => ({
      id: String(r.id), executionId: String(r.execution_id), workflow: String(r.workflow), step: String(r.step), seq: Number(r.seq),
      stepAttempt: Number(r.step_attempt), leaseToken: Number(r.lease_token), runnerId: String(r.runner_id), pid: Number(r.pid),
      templateKey: str(r.template_key), outcome: str(r.outcome), startedAtMs: parseDbTime(r.started_at) as number, finishedAtMs: parseDbTime(r.finished_at),
    })),
  };
}
