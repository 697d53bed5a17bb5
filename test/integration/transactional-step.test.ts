/**
 * Transactional steps (issue 14, item 1) and the outbox (item 2): the business write of the
 * application's MikroORM and the step checkpoint commit in one transaction fenced by a write; a
 * replay does not run the function again; a stale holder writes nothing; a real deadlock is
 * retried; workflow commands inside are refused; ctx.enqueue / ctx.signalExternal and
 * client.start({ em }) commit or roll back with the caller. SQLite: a typed "unsupported" error.
 */
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { describeEachDb, mysqlBaseUrl } from '../helpers/db';
import { Ledger, openAppOrm } from '../helpers/app-orm';
import { claimExecutions } from '../../engine/store/claims';
import {
  createClient, createRunner, defineWorkflow, executeClaimed, openDatabase, runUntilIdle, silentLogger, TransactionDatabaseMismatchError, TransactionUnsupportedError, ValidationError, WorkflowIdConflictError,
  type WorkflowContext,
} from '../../engine';

const calls = new Map<string, number>();
const bump = (key: string) => { const n = (calls.get(key) ?? 0) + 1; calls.set(key, n); return n; };
/** Test hooks the workflows call inside their transactions (set per test). */
const hooks: { inside?: (em: EntityManager, execId: string, attempt: number) => Promise<void> } = {};

const pay = defineWorkflow({ name: 'tx-pay' }, async (ctx: WorkflowContext, amount: number) => {
  const id = await ctx.transaction('charge', async (em, tx) => {
    bump(`${ctx.executionId}:charge`);
    const row = em.create(Ledger, { executionId: ctx.executionId, step: 'charge', amount });
    await hooks.inside?.(em, ctx.executionId, tx.attempt);
    await em.flush();
    return row.id;
  }, { retry: { maxAttempts: 3, initialInterval: '10ms' } });
  const go = await ctx.waitForSignal<string>('go');
  return { id, go };
});

const nested = defineWorkflow({ name: 'tx-nested' }, async (ctx: WorkflowContext) => {
  try {
    await ctx.transaction('outer', async (em) => {
      em.create(Ledger, { executionId: ctx.executionId, step: 'outer', amount: 1 });
      await em.flush();
      await ctx.step('inner', () => 1);
    });
    return 'no error';
  } catch (err) {
    return (err as Error).name;
  }
});

const follow = defineWorkflow({ name: 'tx-follow' }, async (_ctx: WorkflowContext, n: number) => n * 2);
const inbox = defineWorkflow({ name: 'tx-inbox' }, async (ctx: WorkflowContext) => ctx.waitForSignal<number>('paid'));

const outbox = defineWorkflow({ name: 'tx-outbox' }, async (ctx: WorkflowContext, target: string) => {
  return ctx.transaction('order', async (em, tx) => {
    bump(`${ctx.executionId}:order`);
    em.create(Ledger, { executionId: ctx.executionId, step: 'order', amount: 7 });
    const child = await ctx.enqueue(follow, 21, { id: `${ctx.executionId}-follow` });
    await ctx.signalExternal(target, 'paid', 7);
    if (tx.attempt === 1) throw new Error('fails after the outbox writes: everything rolls back');
    return child;
  }, { retry: { maxAttempts: 2, initialInterval: '10ms' } });
});

const outside = defineWorkflow({ name: 'tx-outside' }, async (ctx: WorkflowContext) => {
  try {
    await ctx.enqueue(follow, 1);
    return 'no error';
  } catch (err) {
    return (err as Error).name;
  }
});

const isolation = defineWorkflow({ name: 'tx-iso' }, async (ctx: WorkflowContext, level: string | undefined) => {
  try {
    return await ctx.transaction('iso', async (em) => {
      em.create(Ledger, { executionId: ctx.executionId, step: 'iso', amount: 1 });
      await em.flush();
      await new Promise((r) => setTimeout(r, 250)); // INNODB_TRX is a cache refreshed at most every 100 ms
      const rows: { l: string }[] = await em.getConnection().execute(
        'SELECT trx_isolation_level AS l FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = CONNECTION_ID()', [], 'all', em.getTransactionContext());
      return rows[0]?.l;
    }, { isolationLevel: level as never });
  } catch (err) {
    return (err as Error).name;
  }
});

const all = [pay, nested, follow, inbox, outbox, outside, isolation];
const ledger = (orm: MikroORM, executionId: string) => orm.em.fork().count(Ledger, { executionId });

describeEachDb(__filename, 'transactional steps', (ctx) => {
  let orm: MikroORM;
  beforeAll(async () => {
    if (ctx.kind === 'mysql') orm = await openAppOrm(ctx.url);
  });
  afterAll(async () => {
    await orm?.close(true);
  });
  const drive = () => runUntilIdle({ db: ctx.db, workflows: all, orm, logger: silentLogger() });
  const events = (id: string) => ctx.db.sql.all<{ name: string; status: string; attempt: unknown }>(
    'SELECT name, status, attempt FROM workflow_events WHERE execution_id = ? ORDER BY seq', [id]);

  if (ctx.kind === 'sqlite') {
    test('SQLite: not supported, with a typed error (createRunner and ctx.transaction)', async () => {
      const fake = { em: { fork: () => undefined, getConnection: () => undefined } } as unknown as MikroORM;
      await expect(createRunner({ db: ctx.db, workflows: all, orm: fake, logger: silentLogger() })).rejects.toBeInstanceOf(TransactionUnsupportedError);
      const client = await createClient({ db: ctx.db });
      const h = await client.start(nested, null, { id: 'sqlite-1' });
      await runUntilIdle({ db: ctx.db, workflows: all, orm: fake, logger: silentLogger() });
      expect(await h.result({ timeout: '10s' })).toBe('TransactionUnsupportedError');
      await client.close();
    });
    return;
  }

  test('business write and checkpoint commit together; a replay returns the stored result without running again', async () => {
    const client = await createClient({ db: ctx.db });
    const h = await client.start(pay, 100, { id: 'pay-1' });
    await drive(); // runs the transaction, then suspends on the signal
    expect(await ledger(orm, 'pay-1')).toBe(1);
    expect(await events('pay-1')).toEqual([{ name: 'charge', status: 'completed', attempt: 1 }]);
    await h.signal('go', 'now');
    await drive(); // replays: the transaction's function does not run again
    const out = (await h.result({ timeout: '10s' })) as { id: number; go: string };
    expect(out.go).toBe('now');
    expect(typeof out.id).toBe('number');
    expect(calls.get('pay-1:charge')).toBe(1);
    expect(await ledger(orm, 'pay-1')).toBe(1);
    await client.close();
  });

  test('a stale holder (the lease moved during the transaction) commits neither the business write nor the checkpoint', async () => {
    const client = await createClient({ db: ctx.db });
    await client.start(pay, 5, { id: 'stale-1' });
    hooks.inside = async (_em, execId) => {
      // Another runner was granted the lease meanwhile: the token moved on.
      await ctx.db.sql.run('UPDATE workflow_executions SET lease_token = lease_token + 1 WHERE id = ?', [execId]);
    };
    try {
      const [first] = await runUntilIdle({ db: ctx.db, workflows: all, orm, logger: silentLogger(), maxPasses: 1 });
      expect(first.outcome.kind).toBe('lease-lost');
    } finally {
      hooks.inside = undefined;
    }
    expect(await ledger(orm, 'stale-1')).toBe(0);
    expect(await events('stale-1')).toEqual([]);
    await client.close();
  });

  test('a real deadlock inside the user transaction is retried (the whole transaction), applied once', async () => {
    await orm.em.getConnection().execute("INSERT INTO app_ledger (execution_id, step, amount) VALUES ('lock-a', 'x', 0), ('lock-b', 'x', 0)");
    const client = await createClient({ db: ctx.db });
    await client.start(pay, 9, { id: 'dead-1' });
    let competitor: Promise<unknown> = Promise.resolve();
    let victimErrno: number | undefined;
    hooks.inside = async (em, _execId, attempt) => {
      if (attempt !== 1) return;
      const run = (sql: string) => em.getConnection().execute(sql, [], 'run', em.getTransactionContext());
      await run("UPDATE app_ledger SET amount = amount + 1 WHERE execution_id = 'lock-a'"); // the user transaction holds A
      let bLocked!: () => void;
      const holdsB = new Promise<void>((r) => (bLocked = r));
      competitor = ctx.db.sql.tx(async (q) => {
        // Heavier than the user transaction, so InnoDB rolls the user transaction back, not this one.
        for (let i = 0; i < 30; i++) await q.run("INSERT INTO app_ledger (execution_id, step, amount) VALUES ('heavy', 'x', 0)");
        await q.run("UPDATE app_ledger SET amount = amount + 1 WHERE execution_id = 'lock-b'");
        bLocked();
        await q.run("UPDATE app_ledger SET amount = amount + 1 WHERE execution_id = 'lock-a'"); // waits for the user transaction
        await q.run("DELETE FROM app_ledger WHERE execution_id = 'heavy'");
      });
      await holdsB;
      await new Promise((r) => setTimeout(r, 300)); // the competitor now waits for A
      await run("UPDATE app_ledger SET amount = amount + 1 WHERE execution_id = 'lock-b'") // cycle: 1213
        .catch((err: { errno?: number }) => { victimErrno = err.errno; throw err; });
    };
    try {
      await drive();
    } finally {
      hooks.inside = undefined;
    }
    await competitor;
    expect(victimErrno).toBe(1213);
    expect(calls.get('dead-1:charge')).toBe(2);
    expect(await ledger(orm, 'dead-1')).toBe(1);
    const ev = await events('dead-1');
    expect(ev.map((e) => [e.name, e.status, Number(e.attempt)])).toEqual([['charge', 'completed', 2]]);
    const failedAttempt = await ctx.db.sql.all("SELECT 1 FROM app_ledger WHERE execution_id = 'lock-a' AND amount > 1");
    expect(failedAttempt).toHaveLength(0); // the victim's update of A was rolled back (only the competitor's landed)
    await client.close();
  });

  test('workflow commands inside a transaction are refused (TransactionScopeError) and nothing is written', async () => {
    const client = await createClient({ db: ctx.db });
    const h = await client.start(nested, null, { id: 'nest-1' });
    await drive();
    expect(await h.result({ timeout: '10s' })).toBe('TransactionScopeError');
    expect(await ledger(orm, 'nest-1')).toBe(0);
    const o = await client.start(outside, null, { id: 'outside-1' });
    await drive();
    expect(await o.result({ timeout: '10s' })).toBe('TransactionScopeError');
    await client.close();
  });

  test('outbox: ctx.enqueue and ctx.signalExternal happen exactly once with the business write', async () => {
    const client = await createClient({ db: ctx.db });
    const target = await client.start(inbox, null, { id: 'inbox-1' });
    await drive(); // the target waits for its signal
    const h = await client.start(outbox, 'inbox-1', { id: 'ob-1' });
    await drive();
    expect(calls.get('ob-1:order')).toBe(2); // attempt 1 rolled back after writing the outbox rows
    expect(await h.result({ timeout: '10s' })).toBe('ob-1-follow');
    expect(await ledger(orm, 'ob-1')).toBe(1);
    const starts = await ctx.db.sql.all("SELECT id FROM workflow_executions WHERE id LIKE 'ob-1-follow%'");
    expect(starts).toHaveLength(1);
    const sigs = await ctx.db.sql.all("SELECT id FROM workflow_signals WHERE execution_id = 'inbox-1'");
    expect(sigs).toHaveLength(1);
    expect(await client.getHandle('ob-1-follow').result({ timeout: '10s' })).toBe(42);
    expect(await target.result({ timeout: '10s' })).toBe(7);
    await client.close();
  });

  test('client.start({ em }) commits and rolls back with the caller; em outside a transaction is refused', async () => {
    const client = await createClient({ db: ctx.db });
    await orm.em.fork().transactional(async (em) => {
      em.create(Ledger, { executionId: 'em-ok', step: 'order', amount: 1 });
      const first = await client.start(follow, 2, { id: 'em-ok', em });
      expect((await client.start(follow, 2, { id: 'em-ok', em })).runId).toBe(first.runId); // idempotent, same run
      // Another input under the id: a typed conflict; only that statement failed, the transaction goes on.
      await expect(client.start(follow, 3, { id: 'em-ok', em })).rejects.toBeInstanceOf(WorkflowIdConflictError);
    });
    expect(await client.getHandle('em-ok').describe()).toMatchObject({ status: 'queued' });
    await expect(orm.em.fork().transactional(async (em) => {
      em.create(Ledger, { executionId: 'em-no', step: 'order', amount: 1 });
      await client.start(follow, 2, { id: 'em-no', em });
      throw new Error('the caller rolls back');
    })).rejects.toThrow('the caller rolls back');
    expect(await ctx.db.sql.all("SELECT id FROM workflow_executions WHERE id = 'em-no'")).toHaveLength(0);
    expect(await ledger(orm, 'em-no')).toBe(0);
    expect(await ledger(orm, 'em-ok')).toBe(1);
    await expect(client.start(follow, 2, { id: 'em-x', em: orm.em.fork() })).rejects.toBeInstanceOf(ValidationError);
    await drive();
    expect(await client.getHandle('em-ok').result({ timeout: '10s' })).toBe(4);
    await client.close();
  });

  test('READ COMMITTED by default, configurable; a bad isolation level is a ValidationError and writes nothing', async () => {
    const client = await createClient({ db: ctx.db });
    const hs = await Promise.all([undefined, 'serializable', 'bogus'].map((level, i) => client.start(isolation, level, { id: `iso-${i}` })));
    await drive();
    expect(await Promise.all(hs.map((h) => h.result({ timeout: '10s' })))).toEqual(['READ COMMITTED', 'SERIALIZABLE', 'ValidationError']);
    expect(await ledger(orm, 'iso-2')).toBe(0);
    await client.close();
  });

  test('a registered entity list: openDatabase(url, { entities }) makes db.orm the ORM of transactional steps', async () => {
    const appDb = await openDatabase(ctx.url, { entities: [Ledger] });
    const client = await createClient({ db: ctx.db });
    try {
      const h = await client.start(pay, 3, { id: 'reg-1' });
      await runUntilIdle({ db: ctx.db, workflows: all, orm: appDb.orm, logger: silentLogger() });
      expect(await ledger(orm, 'reg-1')).toBe(1);
      expect(await events('reg-1')).toEqual([{ name: 'charge', status: 'completed', attempt: 1 }]);
      await h.signal('go', 'x');
      await runUntilIdle({ db: ctx.db, workflows: all, orm: appDb.orm, logger: silentLogger() });
      expect(await h.result({ timeout: '10s' })).toMatchObject({ go: 'x' });
    } finally {
      await client.close();
      await appDb.close();
    }
  });

  test('a lock-wait timeout (1205) on the fence rolls back and retries the whole transaction; the delivery order it took is kept', async () => {
    const client = await createClient({ db: ctx.db });
    const h = await client.start(pay, 11, { id: 'lockwait-1' });
    let holder: Promise<unknown> = Promise.resolve();
    hooks.inside = async (em, execId, attempt) => {
      if (attempt !== 1) return;
      // Only this pooled connection waits 1 s for a row lock (it is closed with the ORM after the file).
      await em.getConnection().execute('SET SESSION innodb_lock_wait_timeout = 1', [], 'run', em.getTransactionContext());
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      holder = ctx.db.sql.tx(async (q) => {
        await q.all('SELECT id FROM workflow_executions WHERE id = ? FOR UPDATE', [execId]);
        locked();
        await new Promise((r) => setTimeout(r, 2500));
      });
      await isLocked;
    };
    const retries: { message: string }[] = [];
    let outcome: string | undefined;
    try {
      const [claimed] = await claimExecutions(ctx.db.sql, { owner: 'lockwait-0000', workflows: ['tx-pay'], limit: 1, leaseTtlMs: 30_000 });
      expect(claimed.id).toBe('lockwait-1');
      outcome = (await executeClaimed({
        store: ctx.db.sql, execution: claimed, definition: pay, owner: 'lockwait-0000', orm, logger: silentLogger(),
        emit: (event, data) => { if (event === 'step:retrying') retries.push(data.error as { message: string }); },
      })).kind;
    } finally {
      hooks.inside = undefined;
    }
    await holder;
    expect(outcome).toBe('suspended'); // committed the step, then waits for its signal
    expect(retries.map((e) => e.message)).toEqual([expect.stringMatching(/Lock wait timeout/)]);
    expect(calls.get('lockwait-1:charge')).toBe(2);
    expect(await ledger(orm, 'lockwait-1')).toBe(1);
    const rows = await ctx.db.sql.all<{ attempt: unknown; done_order: unknown }>("SELECT attempt, done_order FROM workflow_events WHERE execution_id = 'lockwait-1'");
    expect(rows.map((r) => [Number(r.attempt), Number(r.done_order)])).toEqual([[2, 0]]);
    await h.signal('go', 'late');
    await drive(); // replays the kept order, then delivers the signal
    expect(await h.result({ timeout: '10s' })).toMatchObject({ go: 'late' });
    expect(calls.get('lockwait-1:charge')).toBe(2);
    await client.close();
  });

  test('an ORM connected to another database is refused with a typed error', async () => {
    const other = await openAppOrm(`${mysqlBaseUrl()}/leaseflow_test_probe`);
    try {
      await expect(createRunner({ db: ctx.db, workflows: all, orm: other, logger: silentLogger() })).rejects.toBeInstanceOf(TransactionDatabaseMismatchError);
    } finally {
      await other.close(true);
    }
  });
});
