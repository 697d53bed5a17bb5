/**
 * The schedule ticker a runner hosts. Idle, it costs ONE indexed statement per look (the earliest
 * due_at and the DB clock) and sleeps until that due time, never longer than `checkIntervalMs`
 * (schedules created by other processes are seen within it; local ones nudge it at once). When
 * something is due it fires in one transaction (fire.ts). Every runner may host one: the row
 * lock decides who fires, and exactly one execution per fire comes out of it.
 */
import type { Logger } from 'pino';
import type { Database } from '../store/database';
import { notifier } from '../store/notifier';
import { earliestDue } from '../store/schedules';
import { fireDueSchedules, type FireOutcome } from './fire';

/** Settings of a ticker. */
export interface ScheduleTickerOptions {
  db: Database;
  /** Longest idle sleep between looks. */
  checkIntervalMs: number;
  logger: Logger;
  /** Called with every schedule that started, buffered, skipped or missed something. */
  onFired?: (outcome: FireOutcome) => void;
}

/** A running ticker. */
export interface ScheduleTicker {
  nudge(): void;
  /** Stop; resolves when the current look finished. */
  stop(): Promise<void>;
}

/** When a due schedule is held by someone else, look again this soon. */
const CONTENDED_RETRY_MS = 50;

/** Start ticking. */
export function startScheduleTicker(o: ScheduleTickerOptions): ScheduleTicker {
  const log = o.logger.child({ component: 'schedules' });
  const { sql } = o.db;
  let stopped = false;
  let wake: (() => void) | undefined;
  let nudged = false;
  let failures = 0;

  const sleep = (ms: number) => new Promise<void>((resolve) => {
    if (stopped || nudged) { nudged = false; return resolve(); }
    const t = setTimeout(done, Math.max(0, ms));
    wake = done;
    function done() { clearTimeout(t); wake = undefined; resolve(); }
  });

  const report = (outcome: FireOutcome) => {
    const { scheduleId, started, alreadyFired, buffered, skipped, missed, cancelled, parked } = outcome;
    if (parked) log.error({ schedule: scheduleId, error: parked }, 'schedule rule cannot be evaluated; parked until updated');
    if (started.length + skipped + missed + buffered === 0 && !cancelled) return;
    log.info({ schedule: scheduleId, started, already_fired: alreadyFired.length, buffered, skipped, missed, cancelled }, 'schedule fired');
    try { o.onFired?.(outcome); } catch (err) { log.error({ err }, 'schedule listener threw'); }
  };

  /** One look; resolves to how long to sleep before the next. */
  const look = async (): Promise<number> => {
    const { dueAt, now } = await earliestDue(sql);
    if (dueAt === null) return o.checkIntervalMs;
    const wait = dueAt.getTime() - now.getTime();
    if (wait > 0) return Math.min(wait, o.checkIntervalMs);
    const outcomes = await fireDueSchedules(sql);
    if (outcomes.length) notifier(o.db.url).emit('work');
    for (const outcome of outcomes) report(outcome);
    // Nothing held: another runner holds the due rows right now.
    return outcomes.length === 0 ? CONTENDED_RETRY_MS : 0;
  };

  const onChange = () => { nudged = true; wake?.(); };
  const ch = notifier(o.db.url);
  ch.on('schedules', onChange);

  const loop = (async () => {
    while (!stopped) {
      let waitMs: number;
      try {
        waitMs = await look();
        failures = 0;
      } catch (err) {
        failures++;
        log.warn({ err }, 'schedule tick failed');
        // Back off while the database is away, but never longer than an idle look (fires are
        // caught up afterwards; a long backoff would only delay them).
        waitMs = Math.min(o.checkIntervalMs, 250 * 2 ** Math.min(failures, 5));
      }
      if (!stopped && waitMs > 0) await sleep(waitMs);
      nudged = false;
    }
  })();

  return {
    nudge: onChange,
    async stop() {
      stopped = true;
      ch.off('schedules', onChange);
      wake?.();
      await loop;
    },
  };
}
