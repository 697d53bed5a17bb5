/**
 * Cross-feature (h17): the transactional outbox and checkpoint with payload codecs, namespaces and
 * flow control. `ctx.enqueue`, `ctx.signalExternal` and `client.start(…, { em })` write through
 * the store's payload door (no plaintext in any raw row) in the caller's namespace (the workflow's
 * inside a workflow, the client's for client.start), with the priority and rate-limit key of a
 * plain start; a transactional step's stored result and error are encoded too; the deploy gate
 * replays such histories (decoded, one namespace) without running them. MariaDB only
 * (transactional steps); SQLite: a namespaced start joins nothing, so only the refusal is tested.
 */
import { randomBytes } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/core';
import { describeEachDb } from '../helpers/db';
import { Ledger, openAppOrm } from '../helpers/app-orm';
import {
  aesGcmCodec, checkDeploy, createClient, defineWorkflow, ExecutionNotFoundError, openDatabase, runUntilIdle, silentLogger, ValidationError, WorkflowIdConflictError,
  type Database, type WorkflowContext,
} from '../../engine';
import { nsKey } from '../../engine/namespace/keys';

const KEY = randomBytes(32);
const sameKey = () => [aesGcmCodec({ keys: { k1: KEY }, currentKeyId: 'k1' })];

const SECRET = {
  enqueue: 'XO-SECRET-ENQ-5b1e', signal: 'XO-SECRET-SIG-07aa', result: 'XO-SECRET-TXRES-93c4', error: 'XO-SECRET-TXERR-4d2f',
  em: 'XO-SECRET-EM-a61b',
};

const follow = defineWorkflow({
  name: 'xo-follow', priorityStep: '1s', rateLimit: { limit: 1000, period: '1s', key: (i: { k: string }) => i.k },
}, async (_ctx: WorkflowContext, input: { k: string; s: string }) => input.s.length);
const inbox = defineWorkflow({ name: 'xo-inbox' }, async (ctx: WorkflowContext) => ctx.waitForSignal<{ s: string }>('paid', { timeout: '1h' }));
const order = defineWorkflow({ name: 'xo-order' }, async (ctx: WorkflowContext) => {
  return ctx.transaction('order', async (em) => {
    em.create(Ledger, { executionId: ctx.executionId, step: 'order', amount: 1 });
    const kid = await ctx.enqueue(follow, { k: 'shared', s: SECRET.enqueue }, { id: `${ctx.executionId}-kid`, priority: 7 });
    await ctx.signalExternal('inbox', 'paid', { s: SECRET.signal });
    return { kid, s: SECRET.result };
  });
});
const broken = defineWorkflow({ name: 'xo-broken', retry: { maxAttempts: 1 } }, async (ctx: WorkflowContext) => {
  return ctx.transaction('charge', async (em) => {
    em.create(Ledger, { executionId: ctx.executionId, step: 'charge', amount: 1 });
    await em.flush();
    throw new Error(`declined: ${SECRET.error}`);
  });
});
const all = [follow, inbox, order, broken];

/** Every text-ish cell of every table, as one string per row. */
async function allCells(db: Database): Promise<string[]> {
  const tables = await db.sql.all<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()');
  const out: string[] = [];
  for (const { t } of tables) {
    const rows = await db.sql.all<Record<string, unknown>>(`SELECT * FROM \`${t}\``);
    for (const r of rows) out.push(`${t}: ${Object.values(r).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v))).join(' | ')}`);
  }
  return out;
}

describeEachDb(__filename, 'outbox and transactional checkpoint × codecs × namespaces', (ctx) => {
  if (ctx.kind === 'sqlite') {
    test('SQLite: client.start({ em }) in a namespace is refused with a typed error before anything is written', async () => {
      const client = await createClient({ db: ctx.db, namespace: 'ns-a' });
      const fakeEm = { isInTransaction: () => false } as never;
      await expect(client.start(follow, { k: 'x', s: 'y' }, { id: 'em-sqlite', em: fakeEm })).rejects.toBeInstanceOf(ValidationError);
      expect(await ctx.db.sql.all('SELECT id FROM workflow_executions')).toHaveLength(0);
      await client.close();
    });
    return;
  }

  let orm: MikroORM;
  let enc: Database;
  beforeAll(async () => {
    orm = await openAppOrm(ctx.url);
    enc = await openDatabase(ctx.url, { codecs: sameKey() });
  });
  afterAll(async () => {
    await orm?.close(true);
    await enc?.close();
  });
  const drive = (namespace: string) => runUntilIdle({ db: enc, workflows: all, orm, namespace, logger: silentLogger(), holdWaitsUpToMs: 0 });

  test('ctx.enqueue / ctx.signalExternal: encoded, in the workflow\'s namespace, with priority and rate-limit key', async () => {
    const a = await createClient({ db: enc, namespace: 'ns-a' });
    const d = await createClient({ db: enc });
    const inboxA = await a.start(inbox, null, { id: 'inbox' });
    const inboxD = await d.start(inbox, null, { id: 'inbox' }); // same id, default namespace: must not get the signal
    await drive('ns-a');
    await runUntilIdle({ db: enc, workflows: all, logger: silentLogger() });
    const h = await a.start(order, null, { id: 'o-1' });
    await drive('ns-a');
    expect(await h.result({ timeout: '10s' })).toEqual({ kid: 'o-1-kid', s: SECRET.result });
    // The follow-up lives in ns-a (stored under the namespaced id), not in the default namespace.
    expect(await enc.sql.all('SELECT id FROM workflow_executions WHERE id = ?', [nsKey('ns-a', 'o-1-kid')])).toHaveLength(1);
    await expect(d.getHandle('o-1-kid').describe()).rejects.toBeInstanceOf(ExecutionNotFoundError);
    const kid = await a.getHandle('o-1-kid').describe();
    expect(kid).toMatchObject({ input: { k: 'shared', s: SECRET.enqueue }, priority: 7, rateKey: 'shared' });
    expect(await a.getHandle('o-1-kid').result({ timeout: '10s' })).toBe(SECRET.enqueue.length);
    expect(await inboxA.result({ timeout: '10s' })).toEqual({ s: SECRET.signal });
    expect((await inboxD.describe()).status).toBe('waiting');
    expect(await enc.sql.all('SELECT id FROM workflow_signals WHERE execution_id = ?', ['inbox'])).toHaveLength(0);
    await a.close();
    await d.close();
  });

  test('client.start({ em }): the client\'s namespace, encoded input, priority and rate-limit key; idempotent on the decoded input', async () => {
    const a = await createClient({ db: enc, namespace: 'ns-a' });
    await orm.em.fork().transactional(async (em) => {
      em.create(Ledger, { executionId: 'em-1', step: 'order', amount: 1 });
      const first = await a.start(follow, { k: 'shared', s: SECRET.em }, { id: 'em-1', em, priority: 3 });
      // Ciphertexts differ (fresh IV): the same input is recognised by its decoded value.
      expect((await a.start(follow, { k: 'shared', s: SECRET.em }, { id: 'em-1', em })).runId).toBe(first.runId);
      await expect(a.start(follow, { k: 'shared', s: 'other' }, { id: 'em-1', em })).rejects.toBeInstanceOf(WorkflowIdConflictError);
    });
    expect(await enc.sql.all('SELECT id FROM workflow_executions WHERE id = ?', [nsKey('ns-a', 'em-1')])).toHaveLength(1);
    expect(await a.getHandle('em-1').describe()).toMatchObject({ status: 'queued', priority: 3, rateKey: 'shared', input: { k: 'shared', s: SECRET.em } });
    await drive('ns-a');
    expect(await a.getHandle('em-1').result({ timeout: '10s' })).toBe(SECRET.em.length);
    await a.close();
  });

  test('a transactional step\'s stored result and error go through the payload door; no raw row holds plaintext', async () => {
    const a = await createClient({ db: enc, namespace: 'ns-a' });
    const h = await a.start(broken, null, { id: 'br-1' });
    await drive('ns-a');
    await expect(h.result({ timeout: '10s' })).rejects.toThrow(SECRET.error);
    const events = await enc.sql.all<{ name: string; payload: string }>('SELECT name, payload FROM workflow_events WHERE execution_id IN (?)',
      [[nsKey('ns-a', 'o-1'), nsKey('ns-a', 'br-1')]]);
    expect(events.find((e) => e.name === 'order')?.payload).toMatch(/^~lf1 aes-256-gcm\/k1 /);
    expect(events.find((e) => e.name === 'charge')?.payload).toMatch(/^~lf1 aes-256-gcm\/k1 /);
    const cells = await allCells(enc);
    for (const s of Object.values(SECRET)) expect(cells.filter((c) => c.includes(s))).toEqual([]);
    await a.close();
  });

  test('the deploy gate replays encrypted histories with transactional steps in a namespace, without running them', async () => {
    // The completed executions of ns-a above (o-1 ran a transactional step with outbox writes) are the gate's sample.
    const before = await orm.em.fork().count(Ledger, {});
    const report = await checkDeploy({ db: ctx.url, workflows: all, codecs: sameKey(), namespace: 'ns-a', sample: 10, all: true });
    expect(report).toMatchObject({ ok: true, incompatible: [], undecodableCount: 0 });
    expect(report.checked).toBe(4); // o-1, o-1-kid, inbox, em-1 (br-1 failed: not sampled)
    expect(await orm.em.fork().count(Ledger, {})).toBe(before);
    const other = await checkDeploy({ db: ctx.url, workflows: all, codecs: sameKey(), namespace: 'ns-z', sample: 10 });
    expect(other.checked).toBe(0);
  });
});
