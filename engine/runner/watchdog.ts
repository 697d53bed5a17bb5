/**
 * The watchdog's scanning duties, run every `SLOW_WATCHDOG_EVERY`th watchdog tick: mark runners
 * with stale heartbeats, requeue running executions that have no lease row, and sweep template
 * admissions. Each is one bounded statement that is safe to run from any runner at any time.
 */
import type { Logger } from 'pino';
import { requeueOrphans } from '../store/claims';
import { sweepAdmissions } from '../store/admission';
import { markStaleRunners } from '../store/runners';
import type { SqlStore } from '../store/sql';

/** Every Nth watchdog tick also runs the scans below. */
export const SLOW_WATCHDOG_EVERY = 10;

/** Run the scans (stale runners after 2 TTLs, orphans older than a TTL, admissions). */
export async function runWatchdogScans(sql: SqlStore, leaseTtlMs: number, log: Logger): Promise<void> {
  await markStaleRunners(sql, leaseTtlMs * 2);
  const orphans = await requeueOrphans(sql, leaseTtlMs);
  if (orphans) log.warn({ count: orphans }, 'requeued running executions that had no lease row');
  await sweepAdmissions(sql);
}
