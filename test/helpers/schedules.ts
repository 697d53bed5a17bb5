/**
 * Time travel for schedule tests: make a schedule's next fire (and its due time) a chosen moment
 * in the past on the database clock, then fire due schedules explicitly, as a runner's ticker would.
 */
import type { Database } from '../../engine';
import { fireDueSchedules } from '../../engine/schedules/fire';
import { dbNowMs } from './processes';

/**
 * Set `id`'s next fire to `msAgo` before the DB clock (rounded down to `alignMs`), due now.
 * Returns that fire time.
 */
export async function makeScheduleDue(db: Database, id: string, msAgo = 1000, alignMs = 1): Promise<Date> {
  const now = await dbNowMs(db);
  const fire = new Date(Math.floor((now - msAgo) / alignMs) * alignMs);
  const p = db.sql.dateParam(fire);
  await db.sql.run('UPDATE workflow_schedules SET next_fire_at = ?, due_at = ? WHERE id = ?', [p, p, id]);
  return fire;
}

/** Make a schedule due now without moving its next fire (a buffer recheck that came due). */
export async function makeRecheckDue(db: Database, id: string): Promise<void> {
  await db.sql.run(`UPDATE workflow_schedules SET due_at = ${db.sql.now} WHERE id = ? AND due_at IS NOT NULL`, [id]);
}

/** Fire every due schedule now (one ticker round). */
export function fireDue(db: Database) {
  return fireDueSchedules(db.sql);
}

/** Ids of the executions of schedule `id`, oldest fire first. */
export async function scheduleExecutions(db: Database, id: string): Promise<{ id: string; status: string }[]> {
  const rows = await db.sql.all<{ id: string; status: string }>(
    'SELECT id, status FROM workflow_executions WHERE id > ? AND id < ? ORDER BY id', [`${id}:`, `${id};`]);
  return rows.map((r) => ({ id: String(r.id), status: String(r.status) }));
}
