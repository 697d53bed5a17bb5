/**
 * Firing, inside one transaction that holds the schedule row: collect what is due (or take the
 * fires a trigger/backfill names), ask plan.ts what to start, then insert those executions and
 * advance the row together. Each fire's execution id is `{schedule}:{fire time ISO}`, so a fire
 * redone after a crash or by a racing runner meets its own row (duplicate = already fired).
 */
import { cancelInTx } from '../store/cancel';
import { executionStatus, insertFireExecution, lockDueSchedules, saveScheduleState, type ScheduleRecord } from '../store/schedules';
import type { SqlRunner, SqlStore } from '../store/sql';
import { FINISHED_STATUSES } from '../store/types';
import { specOf } from './options';
import { collectDueFires, nextDueAt, planFires, OverlapPolicy } from './plan';
import { fireExecutionId, jitterFor } from './spec';

/** How long a schedule with buffered fires waits before looking whether its execution finished. */
export const BUFFER_RECHECK_MS = 1000;

/** What one look at a schedule did. */
export interface FireOutcome {
  scheduleId: string;
  started: string[];
  alreadyFired: string[];
  buffered: number;
  skipped: number;
  missed: number;
  cancelled: string | null;
  /** The stored rule could not be evaluated: the schedule was parked (due_at NULL) until updated. */
  parked?: string;
}

/**
 * Apply `fires` to the held schedule `s` at `now` under `policy`. `advance` (a regular look)
 * moves the schedule's next fire on and counts missed fires; a trigger or backfill leaves it.
 */
export async function applyFires(
  q: SqlRunner, store: SqlStore, s: ScheduleRecord, now: Date, fires: readonly Date[], policy: OverlapPolicy,
  advance?: { nextFireAt: Date | null; missed: number },
): Promise<FireOutcome> {
  let lastRunning = false;
  if (s.lastExecutionId && policy !== OverlapPolicy.allowAll) {
    const status = await executionStatus(q, s.lastExecutionId);
    lastRunning = status !== null && !FINISHED_STATUSES.includes(status);
  }
  const plan = planFires(policy, s.buffered, fires, lastRunning);
  let cancelled: string | null = null;
  if (plan.cancelLast && s.lastExecutionId) {
    const res = await cancelInTx(q, store, s.lastExecutionId, `superseded by a newer fire of schedule ${s.id}`);
    if (res.kind === 'cancelled' || res.kind === 'requested') cancelled = s.lastExecutionId;
  }
  const started: string[] = [];
  const alreadyFired: string[] = [];
  let lastExecutionId = s.lastExecutionId;
  let lastFireAt = s.lastFireAt;
  for (const fire of plan.start) {
    const id = fireExecutionId(s.id, fire);
    const inserted = await insertFireExecution(q, store, {
      id, workflowName: s.workflowName, workflowVersion: s.workflowVersion, templateKey: s.templateKey, templateLimit: s.templateLimit,
      input: s.input, parentId: null, parentSeq: null, delayMs: jitterFor(s.id, fire, s.jitterMs),
    });
    (inserted ? started : alreadyFired).push(id);
    lastExecutionId = id;
    if (!lastFireAt || fire.getTime() > lastFireAt.getTime()) lastFireAt = fire;
  }
  const nextFireAt = advance ? advance.nextFireAt : s.nextFireAt;
  await saveScheduleState(q, store, s.id, {
    nextFireAt,
    dueAt: nextDueAt({ paused: s.paused, nextFireAt, buffered: plan.buffered, now, recheckMs: BUFFER_RECHECK_MS }),
    buffered: plan.buffered, lastExecutionId, lastFireAt,
    fired: started.length, skipped: plan.skipped, missed: advance?.missed ?? 0,
  });
  return { scheduleId: s.id, started, alreadyFired, buffered: plan.buffered.length, skipped: plan.skipped, missed: advance?.missed ?? 0, cancelled };
}

/**
 * A regular look at a held schedule: everything due at `now`, under its own policy. A stored rule
 * that no longer evaluates (edited by hand, a time zone gone from the runtime) parks that schedule
 * instead of failing the round, so it cannot hold up the others.
 */
export async function fireDue(q: SqlRunner, store: SqlStore, s: ScheduleRecord, now: Date): Promise<FireOutcome> {
  let due: ReturnType<typeof collectDueFires>;
  try {
    due = s.paused ? { fires: [], missed: 0, nextFireAt: s.nextFireAt } : collectDueFires(specOf(s), s.nextFireAt, now, s.catchupWindowMs);
  } catch (err) {
    await saveScheduleState(q, store, s.id, { ...s, dueAt: null, fired: 0, skipped: 0, missed: 0 });
    return { scheduleId: s.id, started: [], alreadyFired: [], buffered: s.buffered.length, skipped: 0, missed: 0, cancelled: null, parked: String((err as Error)?.message ?? err) };
  }
  return applyFires(q, store, s, now, due.fires, s.overlap as OverlapPolicy, { nextFireAt: due.nextFireAt, missed: due.missed });
}

/**
 * One ticker round: in ONE transaction, hold up to `limit` due schedules (rows other runners
 * hold are skipped) and fire each. Returns what was done, one outcome per schedule looked at.
 */
export function fireDueSchedules(store: SqlStore, limit = 20): Promise<FireOutcome[]> {
  return store.tx(async (q) => {
    const { now, due } = await lockDueSchedules(q, store, limit);
    const out: FireOutcome[] = [];
    for (const s of due) out.push(await fireDue(q, store, s, now));
    return out;
  });
}
