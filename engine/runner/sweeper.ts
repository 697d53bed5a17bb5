/**
 * One sweeper among all runners: the scans that look at every runner's rows (expired-lease
 * release, orphan requeue, stale-runner marking, admission sweeps) run only on the runner that
 * holds the `leaseflow:sweeper` lock, elected through DistributedLockManager. The grant is owned
 * by the runner's id, so the runner's heartbeat refreshes it with its execution leases: when the
 * runner dies, both expire together and a survivor whose poll probe sees the lapse takes over
 * within one poll interval. Scans are fenced by the grant's token (store/sweeper-fence.ts); a stale sweeper writes
 * nothing. Per-runner work (heartbeat, own leases, cancel checks) stays on every runner.
 */
import type { Logger } from 'pino';
import { DistributedLockManager } from '../locks/distributed-lock-manager';
import type { Database } from '../store/database';
import { SWEEPER_LOCK_KEY, SweeperFenceLost, sweeperVacant, withSweeperFence } from '../store/sweeper-fence';
import type { SqlStore } from '../store/sql';

/** How the sweeper reports a change of leadership. */
export type SweeperListener = (event: { runnerId: string; token: number; elected: boolean }) => void;

/** The election state of one runner. */
export class Sweeper {
  readonly #locks: DistributedLockManager;
  readonly #db: Database;
  readonly #owner: string;
  readonly #ttlMs: number;
  readonly #log: Logger;
  readonly #onChange: SweeperListener;
  #token: number | null = null;
  #holds = 0;
  #lastTry = -Infinity;

  constructor(db: Database, owner: string, ttlMs: number, log: Logger, onChange: SweeperListener) {
    this.#db = db;
    this.#locks = new DistributedLockManager(db);
    this.#owner = owner;
    this.#ttlMs = ttlMs;
    this.#log = log.child({ component: 'sweeper' });
    this.#onChange = onChange;
  }

  /** True while this runner believes it is the sweeper (its scans are fenced all the same). */
  get elected(): boolean {
    return this.#token !== null;
  }

  /**
   * Try to become the sweeper when not: at once when the poll probe saw an expired lease or a
   * lapsed grant (`expiredSeen`) or the runner is busy (no probe runs), else every third of the
   * TTL. One indexed read first, so a campaign against a live sweeper writes nothing.
   */
  async campaign(expiredSeen: boolean, busy: boolean): Promise<boolean> {
    if (this.#token !== null) return true;
    const now = performance.now();
    if (!expiredSeen && !busy && now - this.#lastTry < this.#ttlMs / 3) return false;
    this.#lastTry = now;
    if (!(await sweeperVacant(this.#db.sql))) return false;
    const grant = await this.#locks.tryLock({ lockKey: SWEEPER_LOCK_KEY, owner: this.#owner, ttl: this.#ttlMs });
    if (!grant) return false;
    this.#token = grant.token;
    this.#holds = grant.holdCount;
    this.#log.info({ token: grant.token }, 'elected sweeper');
    this.#onChange({ runnerId: this.#owner, token: grant.token, elected: true });
    return true;
  }

  /** Run `fn` as the sweeper, fenced by the grant; false (and no longer elected) when the grant moved on. */
  async sweep(fn: (tx: SqlStore) => Promise<void>): Promise<boolean> {
    const token = this.#token;
    if (token === null) return false;
    try {
      await withSweeperFence(this.#db.sql, this.#owner, token, fn);
      return true;
    } catch (err) {
      if (!(err instanceof SweeperFenceLost)) throw err;
      this.#lose(token);
      return false;
    }
  }

  /** Check the grant is still ours without scanning (before unfenced per-lease work). */
  async confirm(): Promise<boolean> {
    return this.sweep(async () => undefined);
  }

  /** Hand the role over at once (graceful shutdown). */
  async resign(): Promise<void> {
    const token = this.#token;
    if (token === null) return;
    this.#token = null;
    for (let i = 0; i < Math.max(1, this.#holds); i++) {
      await this.#locks.unlock(SWEEPER_LOCK_KEY, this.#owner, { token }).catch(() => undefined);
    }
    this.#log.info({ token }, 'resigned as sweeper');
    this.#onChange({ runnerId: this.#owner, token, elected: false });
  }

  #lose(token: number): void {
    if (this.#token !== token) return;
    this.#token = null;
    this.#log.warn({ token }, 'no longer the sweeper (grant expired or taken over)');
    this.#onChange({ runnerId: this.#owner, token, elected: false });
  }
}
