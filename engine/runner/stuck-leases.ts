/**
 * Reports expired leases the watchdog had to skip because another transaction holds their rows
 * (a runner frozen inside a transaction) for over a second: one warning per lease and TTL, naming the lease owner
 * and the server's oldest open transactions (who may hold the lock). Never throws.
 */
import type { Logger } from 'pino';
import { longTransactions, type StuckLease } from '../store/expired-leases';
import type { SqlStore } from '../store/sql';

/** A lease locked this long on consecutive passes is stuck, not merely being released by a peer. */
const STUCK_AFTER_MS = 1000;

/** Rate-limited reporting of stuck leases. */
export class StuckLeaseReporter {
  #reported = new Map<string, number>();
  /** When each lease was first found locked: a peer's watchdog holds one only for milliseconds. */
  #firstSeen = new Map<string, number>();

  constructor(private readonly store: SqlStore, private readonly log: Logger, private readonly everyMs: number) {}

  /** Log the leases not reported within the last TTL; returns those (for the event). */
  async report(stuck: StuckLease[]): Promise<StuckLease[]> {
    const now = performance.now();
    for (const [k, at] of this.#reported) if (now - at > this.everyMs) this.#reported.delete(k);
    const keys = new Set(stuck.map((s) => `${s.executionId}#${s.token}`));
    for (const k of this.#firstSeen.keys()) if (!keys.has(k)) this.#firstSeen.delete(k);
    for (const k of keys) if (!this.#firstSeen.has(k)) this.#firstSeen.set(k, now);
    const fresh = stuck.filter((s) => {
      const k = `${s.executionId}#${s.token}`;
      return !this.#reported.has(k) && now - (this.#firstSeen.get(k) as number) >= STUCK_AFTER_MS;
    });
    if (fresh.length === 0) return [];
    for (const s of fresh) this.#reported.set(`${s.executionId}#${s.token}`, now);
    const holders = await longTransactions(this.store).catch(() => []);
    const longTx = holders.map((h) => ({ thread_id: h.threadId, age_s: h.ageS, state: h.state, rows_locked: h.rowsLocked, user: h.user, host: h.host, command: h.command, query: h.query }));
    for (const s of fresh) {
      this.log.warn({ execution_id: s.executionId, lease_owner: s.owner, lease_token: s.token, locked_row: s.locked, long_transactions: longTx },
        'expired lease skipped: its rows are locked by another transaction');
    }
    return fresh;
  }
}
