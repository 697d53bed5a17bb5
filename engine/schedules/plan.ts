/**
 * What one look at a schedule does, as pure decisions: which due fires it collects (the
 * catch-up window drops fires older than it), and which of them start, wait in the buffer or are
 * skipped under the overlap policy. The store applies the plan in one transaction.
 * Buffered fires are older than new ones and always go first.
 */
import { nextFireAfter, type ScheduleSpec } from './spec';

/** What happens to a fire while an execution started by the schedule is still unfinished. */
export const OverlapPolicy = {
  /** Drop the fire (the default). */
  skip: 'skip',
  /** Keep one fire and start it when the running one finishes; drop further ones. */
  bufferOne: 'buffer_one',
  /** Keep every fire (up to MAX_BUFFERED) and start them one after another. */
  bufferAll: 'buffer_all',
  /** Start regardless. */
  allowAll: 'allow_all',
  /** Ask the running one to cancel, and start. */
  cancelOther: 'cancel_other',
} as const;
export type OverlapPolicy = (typeof OverlapPolicy)[keyof typeof OverlapPolicy];
export const OVERLAP_POLICIES: readonly OverlapPolicy[] = Object.values(OverlapPolicy);

/** Most fires a buffer_all schedule keeps; further fires are skipped (and counted). */
export const MAX_BUFFERED = 1000;
/** Most past fires one look collects (a longer outage resumes on the next look). */
export const MAX_FIRES_PER_LOOK = 1000;

/** The due fires of a schedule at `now`. */
export interface CollectedFires {
  /** Fire times inside the catch-up window, oldest first. */
  fires: Date[];
  /** Fires older than the catch-up window (not started, counted). */
  missed: number;
  /** The first fire time after `now` (or after the last collected one, when capped), or null. */
  nextFireAt: Date | null;
}

/** Every fire in [nextFireAt, now]; the ones older than `catchupWindowMs` count as missed. */
export function collectDueFires(spec: ScheduleSpec, nextFireAt: Date | null, now: Date, catchupWindowMs: number): CollectedFires {
  const fires: Date[] = [];
  let missed = 0;
  let t = nextFireAt;
  let looked = 0;
  while (t !== null && t.getTime() <= now.getTime() && looked < MAX_FIRES_PER_LOOK) {
    if (now.getTime() - t.getTime() > catchupWindowMs) missed++;
    else fires.push(t);
    looked++;
    t = nextFireAfter(spec, t);
  }
  // A very long outage: jump over the rest of the missed fires rather than walking them all.
  if (t !== null && t.getTime() < now.getTime() - catchupWindowMs) {
    const resume = nextFireAfter(spec, new Date(now.getTime() - catchupWindowMs - 1));
    return { ...collectDueFires(spec, resume, now, catchupWindowMs), missed: missed + 1 };
  }
  return { fires, missed, nextFireAt: t };
}

/** The decision for a list of fires. */
export interface FirePlan {
  /** Fire times to start now, in order. */
  start: Date[];
  /** Ask the last started execution to cancel before starting (cancel_other). */
  cancelLast: boolean;
  /** The buffer afterwards (ISO fire times, oldest first). */
  buffered: string[];
  skipped: number;
}

/**
 * Apply `policy` to the buffer followed by `fires`, given whether the last execution the schedule
 * started is still unfinished. Each started fire counts as running for the ones after it.
 */
export function planFires(policy: OverlapPolicy, buffered: readonly string[], fires: readonly Date[], lastRunning: boolean): FirePlan {
  const plan: FirePlan = { start: [], cancelLast: false, buffered: [], skipped: 0 };
  let running = lastRunning;
  const queue = [...buffered.map((s) => new Date(s)), ...fires];
  if (policy === OverlapPolicy.allowAll) return { ...plan, start: queue };
  if (policy === OverlapPolicy.cancelOther) {
    if (queue.length === 0) return plan;
    // Fires due together supersede one another: only the newest starts.
    return { start: [queue[queue.length - 1]], cancelLast: running, buffered: [], skipped: queue.length - 1 };
  }
  const cap = policy === OverlapPolicy.bufferOne ? 1 : policy === OverlapPolicy.bufferAll ? MAX_BUFFERED : 0;
  for (const fire of queue) {
    if (!running) {
      plan.start.push(fire);
      running = true;
    } else if (plan.buffered.length < cap) {
      plan.buffered.push(fire.toISOString());
    } else {
      plan.skipped++;
    }
  }
  return plan;
}

/** When the ticker must look at a schedule next: its next fire, or sooner to drain a buffer. */
export function nextDueAt(o: { paused: boolean; nextFireAt: Date | null; buffered: readonly string[]; now: Date; recheckMs: number }): Date | null {
  if (o.paused) return null;
  const recheck = o.buffered.length > 0 ? new Date(o.now.getTime() + o.recheckMs) : null;
  if (!recheck) return o.nextFireAt;
  if (!o.nextFireAt) return recheck;
  return recheck.getTime() < o.nextFireAt.getTime() ? recheck : o.nextFireAt;
}
