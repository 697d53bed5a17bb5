/**
 * The seed's `DistributedLockManager`: fenced, reentrant, expiring locks in `distributed_locks`.
 * It validates every argument before any SQL (keys and owners are 1–255 code points, never
 * truncated, compared exactly; TTLs > 0), retries a held lock `retryCount` times, and logs like
 * the seed (`component=distributed_lock lock_key=… owner=… token=…`). The SQL is in store/locks.
 */
import type { Logger } from 'pino';
import type { Database } from '../store/database';
import {
  acquireLock, deleteExpiredLocks, listLocks, readLock, refreshLock, refreshOwnerLocks, releaseLock,
  type AcquireOutcome, type LockGrant,
} from '../store/locks';
import { MAX_LOCK_KEY_LENGTH, MAX_OWNER_LENGTH } from '../store/entities';
import { checkStorableText } from '../validation';
import { LockNotHeldError, LockTimeoutError, ValidationError } from '../errors';
import { toMs, type Duration } from '../duration';
import { silentLogger } from '../logger';
import { DEFAULT_NAMESPACE, localKey, namespaceOf, storedKey, validateNamespace } from '../namespace/keys';

export type { LockGrant } from '../store/locks';

/** Options of `lock` / `tryLock` (the seed's LockOptions). */
export interface LockOptions {
  /** The lock's name; 1–255 code points, compared exactly. */
  lockKey: string;
  /** Who holds it (a replica's instance id); 1–255 code points. */
  owner: string;
  /** How long the grant lasts unless refreshed (ms or '5m'); must be at least 1 ms. */
  ttl: Duration;
  /** Further attempts after the first when the lock is held. @default 0 */
  retryCount?: number;
  /** Pause between attempts (ms or '1s'). @default '100ms' */
  retryDelay?: Duration;
  /** Whether the current owner may re-acquire (hold count + 1). @default true */
  reentrant?: boolean;
}

/** Options of `unlock` / `refresh`: act only on one specific grant. */
export interface GrantFenceOptions {
  /** Only if the current grant has this fencing token (guards against a same-owner re-grant). */
  token?: number;
}

/** Options of the `DistributedLockManager` constructor. */
export interface DistributedLockManagerOptions {
  /** Logger; lines carry `component: 'distributed_lock'`. @default silent */
  logger?: Logger;
  /** Keys live in this namespace (stored `ns` + U+001F + key; see engine/namespace). @default 'default' */
  namespace?: string;
}

/** Longest TTL accepted (a lock is a lease, not a record). */
const MAX_TTL_MS = 366 * 86_400_000;
const DEFAULT_RETRY_DELAY_MS = 100;

/** Fenced, reentrant, expiring locks shared by every replica through the database. */
export class DistributedLockManager {
  readonly #db: Database;
  readonly #log: Logger;
  readonly #ns: string;

  constructor(db: Database, options: DistributedLockManagerOptions = {}) {
    this.#db = db;
    this.#log = (options.logger ?? silentLogger()).child({ component: 'distributed_lock' });
    this.#ns = validateNamespace(options.namespace);
  }

  /** A caller's key → its stored key in this manager's namespace. */
  #key(lockKey: unknown): string {
    checkKey(lockKey);
    return storedKey(this.#ns, lockKey as string, MAX_LOCK_KEY_LENGTH, 'lock key');
  }

  /** A stored grant as the caller sees it (its own key). */
  #grant(g: LockGrant): LockGrant {
    return this.#ns === DEFAULT_NAMESPACE ? g : { ...g, lockKey: localKey(g.lockKey) };
  }

  /**
   * Acquire a lock, retrying `retryCount` times `retryDelay` apart while another owner holds it.
   * @throws LockTimeoutError when still held after the last attempt; ValidationError on bad input.
   */
  async lock(options: LockOptions): Promise<LockGrant> {
    const req = resolveLockOptions(options);
    req.lockKey = this.#key(req.lockKey);
    let holder: string | null = null;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(req);
      if (outcome.acquired) return this.#grant(outcome.grant);
      holder = outcome.holder;
      if (attempt > req.retryCount) throw new LockTimeoutError(localKey(req.lockKey), holder, attempt);
      await sleep(req.retryDelayMs);
    }
  }

  /** One attempt: the grant, or null when another owner holds the lock. */
  async tryLock(options: Omit<LockOptions, 'retryCount' | 'retryDelay'>): Promise<LockGrant | null> {
    const req = resolveLockOptions({ ...options, retryCount: 0 });
    const outcome = await this.#attempt({ ...req, lockKey: this.#key(req.lockKey) });
    return outcome.acquired ? this.#grant(outcome.grant) : null;
  }

  /**
   * Release one hold; the last hold frees the key. An own grant that expired but was not taken
   * over is released too.
   * @throws LockNotHeldError when `owner` does not hold the key (nothing is changed).
   */
  async unlock(lockKey: string, owner: string, fence: GrantFenceOptions = {}): Promise<void> {
    const key = this.#key(lockKey);
    checkOwner(owner);
    checkFence(fence);
    const outcome = await releaseLock(this.#db.sql, key, owner, fence);
    if (!outcome.released) throw new LockNotHeldError(lockKey, owner);
    if (outcome.remainingHolds === 0) {
      this.#log.info({ lock_key: lockKey, owner, token: outcome.token }, 'released distributed lock');
    } else {
      this.#log.debug({ lock_key: lockKey, owner, token: outcome.token, hold_count: outcome.remainingHolds }, 'released one hold of distributed lock');
    }
  }

  /**
   * Extend an unexpired grant to now + `ttl` (DB clock); the token stays.
   * @throws LockNotHeldError when not held by `owner` (absent, expired or another owner's); nothing changes.
   */
  async refresh(lockKey: string, owner: string, ttl: Duration, fence: GrantFenceOptions = {}): Promise<LockGrant> {
    const key = this.#key(lockKey);
    checkOwner(owner);
    checkFence(fence);
    const ttlMs = checkTtl(ttl);
    const grant = await refreshLock(this.#db.sql, key, owner, ttlMs, fence);
    if (!grant) throw new LockNotHeldError(lockKey, owner);
    this.#log.debug({ lock_key: key, owner, token: grant.token }, 'refreshed distributed lock');
    return this.#grant(grant);
  }

  /** Extend every unexpired grant of `owner` in one statement; returns how many (the heartbeat). */
  async refreshAll(owner: string, ttl: Duration): Promise<number> {
    checkOwner(owner);
    const ttlMs = checkTtl(ttl);
    const count = await refreshOwnerLocks(this.#db.sql, owner, ttlMs);
    this.#log.debug({ owner, count }, 'refreshed distributed locks of owner');
    return count;
  }

  /** True when an unexpired grant of `lockKey` exists. */
  async isLocked(lockKey: string): Promise<boolean> {
    return (await this.inspect(lockKey)) !== null;
  }

  /** The current unexpired grant of `lockKey`, or null. */
  async inspect(lockKey: string): Promise<LockGrant | null> {
    const grant = await readLock(this.#db.sql, this.#key(lockKey));
    return grant && this.#grant(grant);
  }

  /** Unexpired grants ordered by key, optionally of one owner. */
  async list(query: { owner?: string; limit?: number } = {}): Promise<LockGrant[]> {
    if (query.owner !== undefined) checkOwner(query.owner);
    const grants = await listLocks(this.#db.sql, query);
    // Other namespaces' grants are not this manager's to see.
    return grants.filter((g) => namespaceOf(g.lockKey) === this.#ns).map((g) => this.#grant(g));
  }

  /** Delete expired rows; returns how many. */
  async cleanupExpired(): Promise<number> {
    const count = await deleteExpiredLocks(this.#db.sql);
    if (count > 0) this.#log.info({ count }, 'cleaned expired distributed locks');
    else this.#log.debug({ count }, 'cleaned expired distributed locks');
    return count;
  }

  async #attempt(req: ResolvedLockOptions): Promise<AcquireOutcome> {
    const outcome = await acquireLock(this.#db.sql, req);
    const fields = { lock_key: req.lockKey, owner: req.owner };
    if (!outcome.acquired) {
      this.#log.debug({ ...fields, holder: outcome.holder }, 'lock held by another owner');
    } else if (outcome.reentered) {
      this.#log.debug({ ...fields, token: outcome.grant.token, hold_count: outcome.grant.holdCount }, 're-entered distributed lock');
    } else {
      this.#log.info({ ...fields, token: outcome.grant.token }, 'acquired distributed lock');
    }
    return outcome;
  }
}

interface ResolvedLockOptions {
  lockKey: string;
  owner: string;
  ttlMs: number;
  retryCount: number;
  retryDelayMs: number;
  reentrant: boolean;
}

function resolveLockOptions(o: LockOptions): ResolvedLockOptions {
  if (!o || typeof o !== 'object') throw new ValidationError('lock options must be an object', 'options');
  checkKey(o.lockKey);
  checkOwner(o.owner);
  const retryCount = o.retryCount ?? 0;
  if (!Number.isSafeInteger(retryCount) || retryCount < 0) {
    throw new ValidationError(`retryCount must be a non-negative integer (got ${String(retryCount)})`, 'retryCount');
  }
  return {
    lockKey: o.lockKey,
    owner: o.owner,
    ttlMs: checkTtl(o.ttl),
    retryCount,
    retryDelayMs: o.retryDelay === undefined ? DEFAULT_RETRY_DELAY_MS : toMs(o.retryDelay, 'retryDelay'),
    reentrant: o.reentrant !== false,
  };
}

/** 1–max code points of well-formed UTF-16 without NUL; rejected, never truncated. */
function checkText(value: unknown, field: string, max: number): void {
  checkStorableText(value, field, field, max);
}

function checkKey(lockKey: unknown): void {
  checkText(lockKey, 'lockKey', MAX_LOCK_KEY_LENGTH);
}

function checkOwner(owner: unknown): void {
  checkText(owner, 'owner', MAX_OWNER_LENGTH);
}

function checkTtl(ttl: Duration): number {
  const ms = toMs(ttl, 'ttl');
  if (!(ms >= 1)) throw new ValidationError(`ttl must be at least 1ms (got ${String(ttl)})`, 'ttl');
  if (ms > MAX_TTL_MS) throw new ValidationError(`ttl must be at most 366 days (got ${String(ttl)})`, 'ttl');
  return ms;
}

function checkFence(fence: GrantFenceOptions): void {
  if (fence.token !== undefined && !Number.isSafeInteger(fence.token)) {
    throw new ValidationError(`token must be an integer (got ${String(fence.token)})`, 'token');
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
