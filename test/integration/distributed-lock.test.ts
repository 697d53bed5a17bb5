/**
 * DistributedLockManager against real databases (SQLite and MariaDB): grants, contention across
 * 16 separate connections, reentrancy, expiry (simulated by moving expires_at into the past),
 * fencing-token order across deletes, validation, exact key matching and the seed's log lines.
 */
import pino from 'pino';
import { describeEachDb, type DbSuite } from '../helpers/db';
import { openDatabase, type Database } from '../../engine/store/database';
import { DistributedLockManager, type LockGrant } from '../../engine/locks';
import { LockNotHeldError, LockTimeoutError, ValidationError } from '../../engine/errors';

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** SQLite's clock ticks in milliseconds: let it pass a fresh token so a release really deletes. */
const tick = () => pause(3);

type Raw = Record<string, unknown>;

/** Move a grant's expiry one second into the past (time simulated through data). */
async function expire(db: Database, lockKey: string): Promise<void> {
  await db.sql.run(`UPDATE distributed_locks SET expires_at = ${db.sql.nowPlus} WHERE lock_key = ?`, [db.sql.ms(-1000), lockKey]);
}

async function rawRow(db: Database, lockKey: string): Promise<Raw | undefined> {
  const [row] = await db.sql.all<Raw>('SELECT lock_key, owner, token, hold_count, expires_at FROM distributed_locks WHERE lock_key = ?', [lockKey]);
  return row;
}

async function rowCount(db: Database, lockKey?: string): Promise<number> {
  const [row] = lockKey === undefined
    ? await db.sql.all<Raw>('SELECT COUNT(*) AS n FROM distributed_locks')
    : await db.sql.all<Raw>('SELECT COUNT(*) AS n FROM distributed_locks WHERE lock_key = ?', [lockKey]);
  return Number(row.n);
}

/** Keys whose expires_at lies beyond now + `ms` (checked on the DB clock). */
async function expiresBeyond(db: Database, keys: string[], ms: number): Promise<string[]> {
  const rows = await db.sql.all<Raw>(
    `SELECT lock_key FROM distributed_locks WHERE lock_key IN (?) AND expires_at > ${db.sql.nowPlus} ORDER BY lock_key`, [keys, db.sql.ms(ms)]);
  return rows.map((r) => String(r.lock_key));
}

function capture() {
  const lines: Raw[] = [];
  const logger = pino({ level: 'debug', base: undefined }, { write: (s: string) => { lines.push(JSON.parse(s) as Raw); } });
  return { logger, lines };
}

function expectIncreasing(tokens: number[]): void {
  for (let i = 1; i < tokens.length; i++) {
    if (!(tokens[i] > tokens[i - 1])) throw new Error(`token ${i} (${tokens[i]}) is not above token ${i - 1} (${tokens[i - 1]}): ${tokens.join(', ')}`);
  }
}

describeEachDb(__filename, 'DistributedLockManager', (ctx: DbSuite) => {
  let locks: DistributedLockManager;
  beforeAll(() => {
    locks = new DistributedLockManager(ctx.db);
  });

  test('lock grants a fenced lock that inspect reports and unlock deletes', async () => {
    const g = await locks.lock({ lockKey: 'basic', owner: 'instance_1', ttl: '5m' });
    expect(g).toMatchObject({ lockKey: 'basic', owner: 'instance_1', holdCount: 1 });
    expect(Number.isSafeInteger(g.token) && g.token > 0).toBe(true);
    expect(g.expiresAt.getTime()).toBeGreaterThan(Date.now() + 4 * 60_000);
    expect(await locks.isLocked('basic')).toBe(true);
    expect(await locks.inspect('basic')).toEqual(g);
    await tick();
    await locks.unlock('basic', 'instance_1');
    expect(await locks.isLocked('basic')).toBe(false);
    expect(await locks.inspect('basic')).toBeNull();
    expect(await rowCount(ctx.db, 'basic')).toBe(0);
    await expect(locks.unlock('basic', 'instance_1')).rejects.toBeInstanceOf(LockNotHeldError);
  });

  test('a held lock: tryLock returns null and lock gives up with LockTimeoutError after its retries', async () => {
    await locks.lock({ lockKey: 'held', owner: 'A', ttl: '5m' });
    expect(await locks.tryLock({ lockKey: 'held', owner: 'B', ttl: '5m' })).toBeNull();
    const started = Date.now();
    const err = await locks.lock({ lockKey: 'held', owner: 'B', ttl: '5m', retryCount: 2, retryDelay: 25 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toMatchObject({ code: 'LOCK_TIMEOUT', lockKey: 'held', holder: 'A' });
    expect((err as Error).message).toContain('3 attempt');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect((await locks.inspect('held'))?.owner).toBe('A');
  });

  test('lock keeps retrying and wins once the holder releases, with a larger token', async () => {
    const a = await locks.lock({ lockKey: 'handover', owner: 'A', ttl: '5m' });
    setTimeout(() => void locks.unlock('handover', 'A'), 60);
    const b = await locks.lock({ lockKey: 'handover', owner: 'B', ttl: '5m', retryCount: 100, retryDelay: '10ms' });
    expect(b.owner).toBe('B');
    expect(b.token).toBeGreaterThan(a.token);
  });

  test('reentrant: the owner re-acquires with the same token, hold_count counts, a partial unlock keeps it locked', async () => {
    const g1 = await locks.lock({ lockKey: 'reentrant', owner: 'A', ttl: '10m' });
    const g2 = await locks.lock({ lockKey: 'reentrant', owner: 'A', ttl: '1m' });
    const g3 = await locks.lock({ lockKey: 'reentrant', owner: 'A', ttl: '1m' });
    expect([g1.holdCount, g2.holdCount, g3.holdCount]).toEqual([1, 2, 3]);
    expect(new Set([g1.token, g2.token, g3.token]).size).toBe(1);
    // a shorter re-acquire never shortens the grant
    expect(g3.expiresAt.getTime()).toBeGreaterThanOrEqual(g1.expiresAt.getTime());
    expect(await locks.tryLock({ lockKey: 'reentrant', owner: 'B', ttl: '1m' })).toBeNull();
    await locks.unlock('reentrant', 'A');
    expect(await locks.inspect('reentrant')).toMatchObject({ owner: 'A', holdCount: 2, token: g1.token });
    await locks.unlock('reentrant', 'A');
    expect(await locks.isLocked('reentrant')).toBe(true);
    expect(await locks.tryLock({ lockKey: 'reentrant', owner: 'B', ttl: '1m' })).toBeNull();
    await locks.unlock('reentrant', 'A');
    expect(await locks.isLocked('reentrant')).toBe(false);
    await expect(locks.unlock('reentrant', 'A')).rejects.toBeInstanceOf(LockNotHeldError);
    expect(await locks.tryLock({ lockKey: 'reentrant', owner: 'B', ttl: '1m' })).not.toBeNull();
  });

  test('a non-reentrant request by the current owner is refused like any other', async () => {
    await locks.lock({ lockKey: 'non-reentrant', owner: 'A', ttl: '1m' });
    expect(await locks.tryLock({ lockKey: 'non-reentrant', owner: 'A', ttl: '1m', reentrant: false })).toBeNull();
    expect((await locks.inspect('non-reentrant'))?.holdCount).toBe(1);
  });

  test('unlock and refresh by a non-owner throw LockNotHeldError and change nothing', async () => {
    await locks.lock({ lockKey: 'foreign', owner: 'A', ttl: '5m' });
    const before = await rawRow(ctx.db, 'foreign');
    const unlockErr = await locks.unlock('foreign', 'B').catch((e: unknown) => e);
    expect(unlockErr).toBeInstanceOf(LockNotHeldError);
    expect(unlockErr).toMatchObject({ code: 'LOCK_NOT_HELD', lockKey: 'foreign', owner: 'B' });
    await expect(locks.refresh('foreign', 'B', '1h')).rejects.toBeInstanceOf(LockNotHeldError);
    await expect(locks.unlock('never-locked', 'A')).rejects.toBeInstanceOf(LockNotHeldError);
    await expect(locks.refresh('never-locked', 'A', '1m')).rejects.toBeInstanceOf(LockNotHeldError);
    expect(await rawRow(ctx.db, 'foreign')).toEqual(before);
  });

  test('refresh extends an unexpired grant and keeps its token; a fenced refresh/unlock needs the right token', async () => {
    const g = await locks.lock({ lockKey: 'refresh', owner: 'A', ttl: '1s' });
    expect(await expiresBeyond(ctx.db, ['refresh'], 59 * 60_000)).toEqual([]);
    const r = await locks.refresh('refresh', 'A', '1h');
    expect(r).toMatchObject({ lockKey: 'refresh', owner: 'A', token: g.token, holdCount: 1 });
    expect(await expiresBeyond(ctx.db, ['refresh'], 59 * 60_000)).toEqual(['refresh']);
    await expect(locks.refresh('refresh', 'A', '1h', { token: g.token + 1 })).rejects.toBeInstanceOf(LockNotHeldError);
    await expect(locks.unlock('refresh', 'A', { token: g.token - 1 })).rejects.toBeInstanceOf(LockNotHeldError);
    await locks.unlock('refresh', 'A', { token: g.token });
    expect(await locks.isLocked('refresh')).toBe(false);
  });

  test('after expiry a new owner wins; the old owner\'s refresh and unlock fail without touching the new grant', async () => {
    const a = await locks.lock({ lockKey: 'expiry', owner: 'A', ttl: '5m' });
    await expire(ctx.db, 'expiry');
    expect(await locks.isLocked('expiry')).toBe(false);
    expect(await locks.inspect('expiry')).toBeNull();
    const b = await locks.lock({ lockKey: 'expiry', owner: 'B', ttl: '5m' });
    expect(b.holdCount).toBe(1);
    expect(b.token).toBeGreaterThan(a.token);
    const before = await rawRow(ctx.db, 'expiry');
    expect(before).toMatchObject({ owner: 'B', token: b.token });
    await expect(locks.refresh('expiry', 'A', '1h')).rejects.toBeInstanceOf(LockNotHeldError);
    await expect(locks.unlock('expiry', 'A')).rejects.toBeInstanceOf(LockNotHeldError);
    expect(await rawRow(ctx.db, 'expiry')).toEqual(before);
  });

  test('an own grant that expired is refused a refresh, can still be unlocked, and re-locking it is a new grant', async () => {
    const a = await locks.lock({ lockKey: 'own-expired', owner: 'A', ttl: '5m' });
    await locks.lock({ lockKey: 'own-expired', owner: 'A', ttl: '5m' });
    await expire(ctx.db, 'own-expired');
    await expect(locks.refresh('own-expired', 'A', '5m')).rejects.toBeInstanceOf(LockNotHeldError);
    const again = await locks.lock({ lockKey: 'own-expired', owner: 'A', ttl: '5m' });
    expect(again.holdCount).toBe(1);
    expect(again.token).toBeGreaterThan(a.token);
    await expire(ctx.db, 'own-expired');
    await locks.unlock('own-expired', 'A');
    expect(await locks.isLocked('own-expired')).toBe(false);
    await expect(locks.unlock('own-expired', 'A')).rejects.toBeInstanceOf(LockNotHeldError);
  });

  test('refreshAll refreshes only the owner\'s unexpired locks and leaves expired ones and other owners alone', async () => {
    const keys = ['ra-1', 'ra-2', 'ra-expired', 'ra-other'];
    await locks.lock({ lockKey: 'ra-1', owner: 'HB', ttl: '1s' });
    await locks.lock({ lockKey: 'ra-2', owner: 'HB', ttl: '2s' });
    await locks.lock({ lockKey: 'ra-expired', owner: 'HB', ttl: '1m' });
    await locks.lock({ lockKey: 'ra-other', owner: 'OTHER', ttl: '5m' });
    await expire(ctx.db, 'ra-expired');
    const expiredBefore = await rawRow(ctx.db, 'ra-expired');
    const otherBefore = await rawRow(ctx.db, 'ra-other');
    expect(await expiresBeyond(ctx.db, keys, 30 * 60_000)).toEqual([]);
    expect(await locks.refreshAll('HB', '1h')).toBe(2);
    expect(await expiresBeyond(ctx.db, keys, 59 * 60_000)).toEqual(['ra-1', 'ra-2']);
    expect(await rawRow(ctx.db, 'ra-expired')).toEqual(expiredBefore);
    expect(await rawRow(ctx.db, 'ra-other')).toEqual(otherBefore);
    expect(await locks.isLocked('ra-expired')).toBe(false);
    expect(await locks.refreshAll('nobody', '1h')).toBe(0);
    expect((await locks.list({ owner: 'HB' })).map((g) => g.lockKey)).toEqual(['ra-1', 'ra-2']);
  });

  test('cleanupExpired deletes exactly the expired rows and returns how many', async () => {
    await tick();
    await locks.cleanupExpired();
    await locks.lock({ lockKey: 'cu-live', owner: 'A', ttl: '5m' });
    await locks.lock({ lockKey: 'cu-old-1', owner: 'A', ttl: '5m' });
    await locks.lock({ lockKey: 'cu-old-2', owner: 'B', ttl: '5m' });
    await expire(ctx.db, 'cu-old-1');
    await expire(ctx.db, 'cu-old-2');
    const total = await rowCount(ctx.db);
    await tick();
    expect(await locks.cleanupExpired()).toBe(2);
    expect(await rowCount(ctx.db)).toBe(total - 2);
    expect(await rowCount(ctx.db, 'cu-old-1')).toBe(0);
    expect(await locks.isLocked('cu-live')).toBe(true);
    expect(await locks.cleanupExpired()).toBe(0);
  });

  test('fencing tokens strictly increase across grants, including after unlock deletes and cleanupExpired', async () => {
    const key = 'fencing';
    const tokens: number[] = [];
    for (let i = 0; i < 5; i++) {
      const owner = `owner-${i % 2}`;
      tokens.push((await locks.lock({ lockKey: key, owner, ttl: '1m' })).token);
      await tick();
      await locks.unlock(key, owner);
      expect(await rowCount(ctx.db, key)).toBe(0); // deleted, so the next grant is a fresh row
    }
    tokens.push((await locks.lock({ lockKey: key, owner: 'A', ttl: '1m' })).token);
    await expire(ctx.db, key);
    await tick();
    expect(await locks.cleanupExpired()).toBeGreaterThanOrEqual(1);
    expect(await rowCount(ctx.db, key)).toBe(0);
    tokens.push((await locks.lock({ lockKey: key, owner: 'B', ttl: '1m' })).token);
    await expire(ctx.db, key);
    tokens.push((await locks.lock({ lockKey: key, owner: 'C', ttl: '1m' })).token); // take-over of an expired row
    // back-to-back grant/release cycles (same millisecond on SQLite)
    for (let i = 0; i < 20; i++) {
      await locks.unlock(key, i % 2 ? 'D' : 'C');
      tokens.push((await locks.lock({ lockKey: key, owner: i % 2 ? 'C' : 'D', ttl: '1m' })).token);
    }
    expectIncreasing(tokens);
  });

  test('a release while the DB clock is behind the token leaves a tombstone, so the next grant still counts up', async () => {
    const key = 'clock-behind';
    await locks.lock({ lockKey: key, owner: 'A', ttl: '1m' });
    // pretend the clock stepped back ~3 hours after the grant
    await ctx.db.sql.run('UPDATE distributed_locks SET token = token + 10000000000 WHERE lock_key = ?', [key]);
    const ahead = Number((await rawRow(ctx.db, key))?.token);
    await locks.unlock(key, 'A');
    expect(await locks.isLocked(key)).toBe(false);
    await expect(locks.unlock(key, 'A')).rejects.toBeInstanceOf(LockNotHeldError);
    await tick();
    await locks.cleanupExpired();
    expect(await rawRow(ctx.db, key)).toMatchObject({ token: ahead, hold_count: 0 });
    const next = await locks.lock({ lockKey: key, owner: 'B', ttl: '1m' });
    expect(next.token).toBe(ahead + 1);
    await ctx.db.sql.run('DELETE FROM distributed_locks WHERE lock_key = ?', [key]);
  });

  test('concurrent tryLock calls on one handle: exactly one wins', async () => {
    for (let round = 0; round < 10; round++) {
      const key = `one-handle-${round}`;
      const grants = await Promise.all(Array.from({ length: 10 }, (_, i) => locks.tryLock({ lockKey: key, owner: `c${i}`, ttl: '1m' })));
      expect(grants.filter(Boolean)).toHaveLength(1);
    }
  });

  test('16 contenders on their own connections race for one key for 200 rounds: one winner per round, tokens increase', async () => {
    const handles = await Promise.all(Array.from({ length: 16 }, () => openDatabase(ctx.url, { poolMax: 1 })));
    try {
      const managers = handles.map((h) => new DistributedLockManager(h));
      const key = 'race';
      const winnersPerRound: number[] = [];
      const tokens: number[] = [];
      for (let round = 0; round < 200; round++) {
        const grants = await Promise.all(managers.map((m, i) => m.tryLock({ lockKey: key, owner: `contender-${i}`, ttl: '30s' })));
        const winners = grants.flatMap((g, i) => (g ? [i] : []));
        winnersPerRound.push(winners.length);
        if (winners.length === 0) break;
        const grant = grants[winners[0]] as LockGrant;
        tokens.push(grant.token);
        for (const w of winners) await managers[w].unlock(key, `contender-${w}`);
      }
      expect(winnersPerRound).toEqual(Array(200).fill(1));
      expectIncreasing(tokens);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  });

  test('over-long or malformed keys, owners and TTLs are rejected with ValidationError and write nothing', async () => {
    const before = await rowCount(ctx.db);
    const bad: [() => Promise<unknown>, string][] = [
      [() => locks.lock({ lockKey: 'a'.repeat(256), owner: 'A', ttl: '1m' }), 'lockKey'],
      [() => locks.lock({ lockKey: '😀'.repeat(256), owner: 'A', ttl: '1m' }), 'lockKey'],
      [() => locks.tryLock({ lockKey: '', owner: 'A', ttl: '1m' }), 'lockKey'],
      [() => locks.lock({ lockKey: 'x\uD800', owner: 'A', ttl: '1m' }), 'lockKey'],
      [() => locks.lock({ lockKey: 'nul\0', owner: 'A', ttl: '1m' }), 'lockKey'],
      [() => locks.lock({ lockKey: 42 as unknown as string, owner: 'A', ttl: '1m' }), 'lockKey'],
      [() => locks.lock({ lockKey: 'v', owner: 'o'.repeat(256), ttl: '1m' }), 'owner'],
      [() => locks.lock({ lockKey: 'v', owner: '😀'.repeat(256), ttl: '1m' }), 'owner'],
      [() => locks.lock({ lockKey: 'v', owner: '', ttl: '1m' }), 'owner'],
      [() => locks.lock({ lockKey: 'v', owner: 'A', ttl: 0 }), 'ttl'],
      [() => locks.lock({ lockKey: 'v', owner: 'A', ttl: -5 }), 'ttl'],
      [() => locks.lock({ lockKey: 'v', owner: 'A', ttl: '5 minutes' }), 'ttl'],
      [() => locks.lock({ lockKey: 'v', owner: 'A', ttl: '1m', retryCount: -1 }), 'retryCount'],
      [() => locks.lock({ lockKey: 'v', owner: 'A', ttl: '1m', retryDelay: 'soon' }), 'retryDelay'],
      [() => locks.unlock('a'.repeat(256), 'A'), 'lockKey'],
      [() => locks.refresh('v', 'o'.repeat(256), '1m'), 'owner'],
      [() => locks.refresh('v', 'A', 0), 'ttl'],
      [() => locks.refreshAll('A', '0s'), 'ttl'],
      [() => locks.inspect('a'.repeat(256)), 'lockKey'],
    ];
    for (const [call, field] of bad) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect(err).toMatchObject({ code: 'VALIDATION', field });
    }
    expect(await rowCount(ctx.db)).toBe(before);

    const long = 'a'.repeat(255);
    const emoji = '😀'.repeat(255);
    const owner = '😀'.repeat(255);
    expect((await locks.lock({ lockKey: long, owner: 'A', ttl: '1m' })).lockKey).toBe(long);
    expect(await locks.lock({ lockKey: emoji, owner, ttl: '1m' })).toMatchObject({ lockKey: emoji, owner });
    expect((await rawRow(ctx.db, emoji))?.lock_key).toBe(emoji);
    expect((await locks.inspect(emoji))?.owner).toBe(owner);
    await locks.unlock(emoji, owner);
    await locks.unlock(long, 'A');
  });

  test('odd keys round-trip exactly and stay distinct', async () => {
    const keys = ["'", '"', '\\', '%', '_', '?', '??', '\\?', '😀', 'a', 'a ', 'A', ' a', 'a\t', "x'; DROP TABLE distributed_locks; --",
      "'); DELETE FROM distributed_locks; --", '%_%', 'ünïcødé', '${x}', '\\\'', 'line\nbreak'];
    const owners = keys.map((_, i) => `odd-${i}`);
    for (let i = 0; i < keys.length; i++) {
      const g = await locks.lock({ lockKey: keys[i], owner: owners[i], ttl: '1m' });
      expect(g).toMatchObject({ lockKey: keys[i], owner: owners[i], holdCount: 1 });
    }
    for (let i = 0; i < keys.length; i++) {
      expect(await locks.inspect(keys[i])).toMatchObject({ lockKey: keys[i], owner: owners[i] });
      expect(await locks.tryLock({ lockKey: keys[i], owner: 'intruder', ttl: '1m' })).toBeNull();
    }
    const rows = await ctx.db.sql.all<Raw>('SELECT lock_key, owner FROM distributed_locks');
    const stored = new Map(rows.filter((r) => String(r.owner).startsWith('odd-')).map((r) => [String(r.owner), String(r.lock_key)]));
    expect(owners.map((o) => stored.get(o))).toEqual(keys);
    expect(await locks.isLocked('a  ')).toBe(false);
    expect(await locks.isLocked('%')).toBe(true);
    expect(await locks.isLocked('x')).toBe(false);
    for (let i = 0; i < keys.length; i++) await locks.unlock(keys[i], owners[i]);
    for (const k of keys) expect(await locks.isLocked(k)).toBe(false);
  });

  test('logs the seed\'s lines with component=distributed_lock, lock_key, owner and token', async () => {
    const { logger, lines } = capture();
    const logged = new DistributedLockManager(ctx.db, { logger });
    const g = await logged.lock({ lockKey: 'workflow_execution:exec_123', owner: 'web-1-a1b2c3d4', ttl: '1m' });
    await logged.tryLock({ lockKey: 'workflow_execution:exec_123', owner: 'web-2-b2c3d4e5', ttl: '1m' });
    await logged.refresh('workflow_execution:exec_123', 'web-1-a1b2c3d4', '1m');
    await logged.unlock('workflow_execution:exec_123', 'web-1-a1b2c3d4');
    await logged.lock({ lockKey: 'log-expired', owner: 'x', ttl: '1m' });
    await expire(ctx.db, 'log-expired');
    await tick();
    await logged.cleanupExpired();
    const fields = { component: 'distributed_lock', lock_key: 'workflow_execution:exec_123', owner: 'web-1-a1b2c3d4', token: g.token };
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, msg: 'acquired distributed lock', ...fields }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 20, msg: 'lock held by another owner', component: 'distributed_lock', owner: 'web-2-b2c3d4e5', holder: 'web-1-a1b2c3d4' }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 20, msg: 'refreshed distributed lock', ...fields }));
    expect(lines).toContainEqual(expect.objectContaining({ level: 30, msg: 'released distributed lock', ...fields }));
    // 'log-expired', plus the exec_123 tombstone when its release fell in the same DB millisecond
    // as its grant (SQLite clock): the count is 1 or 2, and the line carries it.
    const cleaned = lines.find((l) => l.msg === 'cleaned expired distributed locks');
    expect(cleaned).toMatchObject({ level: 30, component: 'distributed_lock' });
    expect([1, 2]).toContain(cleaned?.count);
  });
});
