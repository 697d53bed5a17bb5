/**
 * The watchdog: every tick, the runner elected sweeper (sweeper.ts) releases expired execution
 * leases (each fenced by its own lease token, SKIP LOCKED), and every `SLOW_WATCHDOG_EVERY`th
 * tick runs the scans — stale runners, orphaned running executions, template admissions — in
 * ONE transaction fenced by its sweeper grant. Other runners campaign, and release only leases
 * the sweeper left overdue; no two runners run the same scan (they used to deadlock on the
 * orphan requeue, 1213).
 */
import type { Logger } from 'pino';
import { requeueOrphans } from '../store/claims';
import { sweepAdmissions } from '../store/admission';
import { releaseExpiredLeases, type ReleasedLease, type StuckLease } from '../store/expired-leases';
import { markStaleRunners } from '../store/runners';
import type { SqlStore } from '../store/sql';
import type { Sweeper } from './sweeper';
import type { StuckLeaseReporter } from './stuck-leases';

/** Every Nth watchdog tick also runs the scans below. */
export const SLOW_WATCHDOG_EVERY = 10;

/** Run the scans (stale runners after 2 TTLs, orphans older than a TTL, admissions) on `sql`. */
export async function runWatchdogScans(sql: SqlStore, leaseTtlMs: number, log: Logger): Promise<void> {
  await markStaleRunners(sql, leaseTtlMs * 2);
  const orphans = await requeueOrphans(sql, leaseTtlMs);
  if (orphans) log.warn({ count: orphans }, 'requeued running executions that had no lease row');
  await sweepAdmissions(sql);
}

/** What the watchdog needs from its runner. */
export interface WatchdogHost {
  sql: SqlStore;
  log: Logger;
  leaseTtlMs: number;
  runnerId: string;
  /** A non-sweeper releases a lease once it is this overdue (the sweeper missed it). */
  backupAfterMs: number;
  sweeper: Sweeper;
  stuck: StuckLeaseReporter;
  /** Leases released by the sweeper (this runner's own included: abort those). */
  onReleased(released: ReleasedLease[]): void;
  onStuck(fresh: StuckLease[]): void;
}

/** The watchdog of one runner. */
export class Watchdog {
  #ticks = 0;
  #busy = false;
  constructor(private readonly host: WatchdogHost) {}

  /**
   * One tick. `expiredSeen`: the poll probe saw an expired lease; `recentlyProbed`: the probe
   * looked this interval (so an idle sweeper need not look again).
   */
  async tick(expiredSeen: boolean, recentlyProbed: boolean): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    const h = this.host;
    try {
      const elected = await h.sweeper.campaign(expiredSeen, !recentlyProbed);
      // A runner that is not the sweeper releases only leases the sweeper should have released
      // already (overdue by `backupAfterMs`): per lease, token-fenced and SKIP LOCKED, so this
      // never deadlocks, and failover does not wait on one slow sweeper.
      if (!elected && !expiredSeen) return;
      if (expiredSeen || !recentlyProbed) {
        const { released, stuck } = await releaseExpiredLeases(h.sql, 200, elected ? 0 : h.backupAfterMs);
        if (!elected) {
          if (released.length) h.onReleased(released);
          return;
        }
        if (stuck.length) {
          const fresh = await h.stuck.report(stuck);
          if (fresh.length) h.onStuck(fresh);
        }
        if (released.length) h.onReleased(released);
      }
      if (++this.#ticks % SLOW_WATCHDOG_EVERY === 0) await h.sweeper.sweep((tx) => runWatchdogScans(tx, h.leaseTtlMs, h.log));
    } catch (error) {
      h.log.warn({ err: error }, 'watchdog failed');
    } finally {
      this.#busy = false;
    }
  }
}
