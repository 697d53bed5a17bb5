/**
 * WorkflowLockManager against real databases: execution locks keep an execution on one replica
 * (WorkflowAlreadyRunningError, seed log line), template locks retry then time out, WorkflowLock
 * refresh/unlock are fenced by their token, and instance ids have the seed's shape.
 */
import { hostname } from 'node:os';
import pino from 'pino';
import { describeEachDb, type DbSuite } from '../helpers/db';
import type { Database } from '../../engine/store/database';
import {
  DistributedLockManager, WorkflowLockManager, createInstanceId, executionLockKey, templateLockKey,
} from '../../engine/locks';
import { LockNotHeldError, LockTimeoutError, ValidationError, WorkflowAlreadyRunningError } from '../../engine/errors';

type Raw = Record<string, unknown>;

async function expire(db: Database, lockKey: string): Promise<void> {
  await db.sql.run(`UPDATE distributed_locks SET expires_at = ${db.sql.nowPlus} WHERE lock_key = ?`, [db.sql.ms(-1000), lockKey]);
}

/** Seconds from the DB clock to the row's expiry. */
async function secondsLeft(db: Database, lockKey: string): Promise<number> {
  const [row] = await db.sql.all<Raw>(`SELECT expires_at, ${db.sql.now} AS now FROM distributed_locks WHERE lock_key = ?`, [lockKey]);
  return ((db.sql.date(row.expires_at) as Date).getTime() - (db.sql.date(row.now) as Date).getTime()) / 1000;
}

describe('instance ids', () => {
  test('createInstanceId is {hostname}-{8 hex chars}, fresh each call', () => {
    expect(createInstanceId('web-server-1')).toMatch(/^web-server-1-[0-9a-f]{8}$/);
    expect(createInstanceId()).toMatch(new RegExp(`^${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-[0-9a-f]{8}$`));
    expect(createInstanceId('h')).not.toBe(createInstanceId('h'));
    expect([...createInstanceId('h'.repeat(300))].length).toBeLessThanOrEqual(255);
  });

  test('lock keys follow the seed', () => {
    expect(executionLockKey('exec_123')).toBe('workflow_execution:exec_123');
    expect(templateLockKey('tpl_9')).toBe('workflow_template:tpl_9');
  });
});

describeEachDb(__filename, 'WorkflowLockManager', (ctx: DbSuite) => {
  let locks: DistributedLockManager;
  beforeAll(() => {
    locks = new DistributedLockManager(ctx.db);
  });

  test('an execution lock keeps the execution on one replica: the second gets WorkflowAlreadyRunningError and logs the seed line', async () => {
    const lines: Raw[] = [];
    const logger = pino({ level: 'debug', base: undefined }, { write: (s: string) => { lines.push(JSON.parse(s) as Raw); } });
    const replica1 = new WorkflowLockManager(locks, { instanceId: 'web-1-a1b2c3d4' });
    const replica2 = new WorkflowLockManager(locks, { instanceId: 'web-2-b2c3d4e5', logger });
    const lock = await replica1.lockWorkflowExecution('exec_123');
    expect(lock).toMatchObject({ lockKey: 'workflow_execution:exec_123', owner: 'web-1-a1b2c3d4' });
    expect(lock.token).toBeGreaterThan(0);
    const err = await replica2.lockWorkflowExecution('exec_123').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowAlreadyRunningError);
    expect(err).toMatchObject({ code: 'WORKFLOW_ALREADY_RUNNING', executionId: 'exec_123', holder: 'web-1-a1b2c3d4' });
    expect(lines).toContainEqual(expect.objectContaining({
      level: 30, msg: 'workflow already running on another replica, skipping', component: 'workflow_lock', execution_id: 'exec_123',
    }));
    // the same replica asking again is refused too: it must never run one execution twice
    await expect(replica1.lockWorkflowExecution('exec_123')).rejects.toBeInstanceOf(WorkflowAlreadyRunningError);
    expect((await locks.inspect('workflow_execution:exec_123'))?.holdCount).toBe(1);
    await lock.unlock();
    expect(await locks.isLocked('workflow_execution:exec_123')).toBe(false);
    const again = await replica2.lockWorkflowExecution('exec_123');
    expect(again.token).toBeGreaterThan(lock.token);
    await again.unlock();
  });

  test('execution locks last 5 minutes and template locks 10 minutes by default', async () => {
    const wl = new WorkflowLockManager(locks);
    expect(wl.instanceId).toMatch(/-[0-9a-f]{8}$/);
    const exec = await wl.lockWorkflowExecution('ttl-exec');
    const tpl = await wl.lockWorkflowTemplate('ttl-tpl');
    expect(await secondsLeft(ctx.db, 'workflow_execution:ttl-exec')).toBeGreaterThan(299);
    expect(await secondsLeft(ctx.db, 'workflow_execution:ttl-exec')).toBeLessThanOrEqual(300);
    expect(await secondsLeft(ctx.db, 'workflow_template:ttl-tpl')).toBeGreaterThan(599);
    expect(await secondsLeft(ctx.db, 'workflow_template:ttl-tpl')).toBeLessThanOrEqual(600);
    expect(exec.expiresAt.getTime()).toBeLessThan(tpl.expiresAt.getTime());
    await exec.unlock();
    await tpl.unlock();
  });

  test('WorkflowLock.refresh extends the grant; refresh and unlock of a taken-over lock fail and leave the new grant alone', async () => {
    const r1 = new WorkflowLockManager(locks, { instanceId: 'r1', executionTtl: '2s' });
    const r2 = new WorkflowLockManager(locks, { instanceId: 'r2' });
    const lock = await r1.lockWorkflowExecution('refresh-exec');
    await ctx.db.sql.run(`UPDATE distributed_locks SET expires_at = ${ctx.db.sql.nowPlus} WHERE lock_key = ?`, [ctx.db.sql.ms(500), lock.lockKey]);
    const before = lock.expiresAt.getTime();
    await lock.refresh();
    expect(lock.expiresAt.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(await secondsLeft(ctx.db, lock.lockKey)).toBeGreaterThan(1.5);
    expect((await locks.inspect(lock.lockKey))?.token).toBe(lock.token);

    await expire(ctx.db, lock.lockKey);
    const taken = await r2.lockWorkflowExecution('refresh-exec');
    expect(taken.token).toBeGreaterThan(lock.token);
    const [row] = await ctx.db.sql.all<Raw>('SELECT owner, token, expires_at FROM distributed_locks WHERE lock_key = ?', [lock.lockKey]);
    await expect(lock.refresh()).rejects.toBeInstanceOf(LockNotHeldError);
    await expect(lock.unlock()).rejects.toBeInstanceOf(LockNotHeldError);
    expect(await ctx.db.sql.all<Raw>('SELECT owner, token, expires_at FROM distributed_locks WHERE lock_key = ?', [lock.lockKey])).toEqual([row]);
    await taken.unlock();
  });

  test('a stale WorkflowLock cannot release a newer grant of the same replica (token fence)', async () => {
    const wl = new WorkflowLockManager(locks, { instanceId: 'same' });
    const old = await wl.lockWorkflowExecution('fenced-exec');
    await expire(ctx.db, old.lockKey);
    const fresh = await wl.lockWorkflowExecution('fenced-exec');
    expect(fresh.token).toBeGreaterThan(old.token);
    await expect(old.unlock()).rejects.toBeInstanceOf(LockNotHeldError);
    expect((await locks.inspect('workflow_execution:fenced-exec'))?.token).toBe(fresh.token);
    await fresh.unlock();
  });

  test('a template lock retries while held, then throws LockTimeoutError', async () => {
    const holder = new WorkflowLockManager(locks, { instanceId: 'tpl-holder', templateRetryDelay: '10ms' });
    const waiter = new WorkflowLockManager(locks, { instanceId: 'tpl-waiter', templateRetryCount: 2, templateRetryDelay: '30ms' });
    const held = await holder.lockWorkflowTemplate('tpl-1');
    expect(held.lockKey).toBe('workflow_template:tpl-1');
    const started = Date.now();
    const err = await waiter.lockWorkflowTemplate('tpl-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockTimeoutError);
    expect(err).toMatchObject({ code: 'LOCK_TIMEOUT', lockKey: 'workflow_template:tpl-1', holder: 'tpl-holder' });
    expect((err as Error).message).toContain('3 attempt');
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    await expect(holder.lockWorkflowTemplate('tpl-1')).rejects.toBeInstanceOf(LockTimeoutError);
    await held.unlock();
  });

  test('a template lock waiting in its retries gets the lock when the holder releases', async () => {
    const holder = new WorkflowLockManager(locks, { instanceId: 'tpl-holder' });
    const waiter = new WorkflowLockManager(locks, { instanceId: 'tpl-waiter', templateRetryCount: 20, templateRetryDelay: '20ms' });
    const held = await holder.lockWorkflowTemplate('tpl-2');
    setTimeout(() => void held.unlock(), 50);
    const got = await waiter.lockWorkflowTemplate('tpl-2');
    expect(got.owner).toBe('tpl-waiter');
    expect(got.token).toBeGreaterThan(held.token);
    await got.unlock();
  });

  test('bad ids and over-long execution keys are rejected before any SQL', async () => {
    const wl = new WorkflowLockManager(locks, { instanceId: 'v' });
    await expect(wl.lockWorkflowExecution('')).rejects.toBeInstanceOf(ValidationError);
    await expect(wl.lockWorkflowTemplate(undefined as unknown as string)).rejects.toBeInstanceOf(ValidationError);
    await expect(wl.lockWorkflowExecution('x'.repeat(255))).rejects.toMatchObject({ code: 'VALIDATION', field: 'lockKey' });
    expect(() => new WorkflowLockManager(locks, { templateRetryCount: -1 })).toThrow(ValidationError);
    expect(() => new WorkflowLockManager(locks, { executionTtl: 'soon' })).toThrow(ValidationError);
  });
});
