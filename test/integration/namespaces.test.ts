/**
 * Namespaces (issue 14, item 4), on SQLite and MariaDB/MySQL: ids are unique per namespace; a
 * client bound to namespace A cannot see, describe, list, signal, cancel, terminate or await an
 * execution of namespace B; a runner bound to A runs only A's executions; children, schedules,
 * dedup keys and template keys stay in their namespace; the CLI's --namespace binds a command.
 */
import { describeEachDb } from '../helpers/db';
import {
  createClient, createInspector, createRunner, defineWorkflow, DistributedLockManager, ExecutionNotFoundError, runUntilIdle, ScheduleNotFoundError, ValidationError, type Client,
} from '../../engine';
import { runCli } from '../../runner/cli';
import { executionDetail } from '../../dashboard/api';
import type { Io } from '../../runner/commands/command';

const echo = defineWorkflow({ name: 'ns-echo' }, async (wctx, input: { v: string }) => {
  const sig = await wctx.waitForSignal<string>('go', { timeout: '1h' });
  return { v: input.v, sig, me: wctx.executionId };
});
const kid = defineWorkflow({ name: 'ns-kid' }, async (wctx, n: number) => wctx.step('double', async () => n * 2));
const parent = defineWorkflow({ name: 'ns-parent' }, async (wctx, n: number) => {
  const a = await (await wctx.startChild(kid, n, { id: 'kid-fixed' })).result();
  const b = await (await wctx.startChild(kid, n + 1)).result();
  return a + b;
});
const deduped = defineWorkflow({ name: 'ns-dedup', dedup: { key: (i: { k: string }) => i.k, window: '1h' } }, async (_w, i: { k: string }) => i.k);
const serial = defineWorkflow({ name: 'ns-serial', template: { key: () => 'one-at-a-time', limit: 1 } }, async (wctx) => {
  await wctx.sleep('1h');
  return 'done';
});

const drive = (c: Client, namespace: string, workflows = [echo, kid, parent, deduped, serial]) =>
  runUntilIdle({ db: c.db, workflows, owner: `ns-test-${namespace}`, leaseTtlMs: 30_000, holdWaitsUpToMs: 50, namespace });

describeEachDb(__filename, 'namespaces', (ctx) => {
  let a: Client;
  let b: Client;
  let d: Client;
  beforeAll(async () => {
    a = await createClient({ db: ctx.db, namespace: 'alpha' });
    b = await createClient({ db: ctx.db, namespace: 'beta' });
    d = await createClient({ db: ctx.db });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await d?.close();
  });

  test('one id in three namespaces: three executions, each client sees only its own', async () => {
    const ha = await a.start(echo, { v: 'A' }, { id: 'order-1' });
    const hb = await b.start(echo, { v: 'B' }, { id: 'order-1' });
    const hd = await d.start(echo, { v: 'D' }, { id: 'order-1' });
    expect([ha.executionId, hb.executionId, hd.executionId]).toEqual(['order-1', 'order-1', 'order-1']);
    expect((await a.getHandle('order-1').describe()).input).toEqual({ v: 'A' });
    expect((await b.getHandle('order-1').describe()).input).toEqual({ v: 'B' });
    expect((await d.getHandle('order-1').describe())).toMatchObject({ id: 'order-1', input: { v: 'D' } });
    await b.start(echo, { v: 'B2' }, { id: 'only-in-b' });
    expect((await a.list()).executions.map((e) => e.id)).toEqual(['order-1']);
    expect((await b.list()).executions.map((e) => e.id).sort()).toEqual(['only-in-b', 'order-1']);
    expect((await d.list({ idPrefix: 'only' })).executions).toEqual([]);

    // Everything A tries on B's execution: not found, and B's row is untouched.
    const foreign = a.getHandle('only-in-b');
    await expect(foreign.describe()).rejects.toBeInstanceOf(ExecutionNotFoundError);
    await expect(foreign.history()).rejects.toBeInstanceOf(ExecutionNotFoundError);
    await expect(foreign.signal('go', 'from A')).rejects.toBeInstanceOf(ExecutionNotFoundError);
    await expect(foreign.cancel()).rejects.toBeInstanceOf(ExecutionNotFoundError);
    await expect(foreign.terminate()).rejects.toBeInstanceOf(ExecutionNotFoundError);
    await expect(foreign.result({ timeout: '1s' })).rejects.toBeInstanceOf(ExecutionNotFoundError);
    await expect(d.getHandle('only-in-b').describe()).rejects.toBeInstanceOf(ExecutionNotFoundError);
    const bDesc = await b.getHandle('only-in-b').describe();
    expect(bDesc.cancelRequested).toBeNull();
    expect(bDesc.pendingSignals).toBe(0);

    // Runners: alpha's runner runs alpha's only; beta's execution is still queued afterwards.
    await ha.signal('go', 'sa');
    await drive(a, 'alpha');
    expect(await ha.result({ timeout: '10s' })).toEqual({ v: 'A', sig: 'sa', me: 'order-1' });
    expect((await b.getHandle('order-1').describe()).status).toBe('queued');
    expect((await d.getHandle('order-1').describe()).status).toBe('queued');
    // A real runner bound to beta.
    const runner = await createRunner({ db: ctx.db, workflows: [echo], namespace: 'beta', pollInterval: '20ms', leaseTtl: '10s' });
    await runner.start();
    try {
      await hb.signal('go', 'sb');
      expect(await hb.result({ timeout: '30s' })).toEqual({ v: 'B', sig: 'sb', me: 'order-1' });
      expect((await d.getHandle('order-1').describe()).status).not.toBe('completed');
    } finally {
      await runner.shutdown();
    }
  });

  test('children, dedup keys, template keys and schedules stay in their namespace', async () => {
    const pa = await a.start(parent, 1, { id: 'p' });
    const pb = await b.start(parent, 10, { id: 'p' });
    await drive(a, 'alpha');
    await drive(b, 'beta');
    expect(await pa.result({ timeout: '10s' })).toBe(2 + 4);
    expect(await pb.result({ timeout: '10s' })).toBe(20 + 22);
    expect((await a.getHandle('kid-fixed').describe()).input).toBe(1);
    expect((await b.getHandle('kid-fixed').describe()).input).toBe(10);
    const kids = (await a.list({ parentId: 'p' })).executions.map((e) => e.id).sort();
    expect(kids).toHaveLength(2);
    expect(kids[0]).toBe('kid-fixed');
    expect(kids[1]).toMatch(/^p\/\d+$/); // derived from the parent's id, in the parent's namespace
    expect((await a.getHandle(kids[1]).describe()).parentId).toBe('p');
    await expect(d.getHandle('kid-fixed').describe()).rejects.toBeInstanceOf(ExecutionNotFoundError);

    // Dedup: the same key deduplicates within a namespace, not across.
    const d1 = await a.start(deduped, { k: 'same' }, { id: 'dd-a1' });
    const d2 = await a.start(deduped, { k: 'same' }, { id: 'dd-a2' });
    const d3 = await b.start(deduped, { k: 'same' }, { id: 'dd-b1' });
    expect(d2.executionId).toBe(d1.executionId);
    expect(d3.executionId).toBe('dd-b1');

    // Template keys: 'one-at-a-time' admits one per namespace (each namespace has its own key).
    await a.start(serial, null, { id: 'ser-a' });
    await b.start(serial, null, { id: 'ser-b' });
    await drive(a, 'alpha');
    await drive(b, 'beta');
    const [sa, sb] = [await a.getHandle('ser-a').describe(), await b.getHandle('ser-b').describe()];
    expect([sa.status, sb.status]).toEqual(['waiting', 'waiting']);
    expect(sa.templateKey).toBe('one-at-a-time');

    // Schedules: one id in two namespaces; each lists, describes and fires its own.
    await a.schedules.create({ id: 'nightly', workflow: kid, input: 5, every: '1h', paused: true });
    await b.schedules.create({ id: 'nightly', workflow: kid, input: 50, every: '1h', paused: true });
    await b.schedules.create({ id: 'b-only', workflow: kid, input: 7, every: '1h', paused: true });
    expect((await a.schedules.describe('nightly')).input).toBe(5);
    expect((await a.schedules.list()).map((s) => s.id)).toEqual(['nightly']);
    expect((await b.schedules.list()).map((s) => s.id)).toEqual(['b-only', 'nightly']);
    expect(await d.schedules.list()).toEqual([]);
    await expect(a.schedules.describe('b-only')).rejects.toBeInstanceOf(ScheduleNotFoundError);
    await expect(a.schedules.trigger('b-only')).rejects.toBeInstanceOf(ScheduleNotFoundError);
    await expect(a.schedules.delete('b-only')).rejects.toBeInstanceOf(ScheduleNotFoundError);
    const fired = await a.schedules.trigger('nightly');
    expect(fired.started).toHaveLength(1);
    await drive(d, 'default'); // the default namespace's runner does not run alpha's fire
    expect((await a.getHandle(fired.started[0]).describe()).status).toBe('queued');
    await drive(a, 'alpha');
    expect(await a.getHandle(fired.started[0]).result({ timeout: '10s' })).toBe(10);
  });

  test("the dashboard's execution detail (client + inspector) is bound to one namespace", async () => {
    await a.start(echo, { v: 'dash' }, { id: 'dash-1' });
    await a.getHandle('dash-1').signal('go', 'pending');
    const ia = await createInspector(ctx.db, { namespace: 'alpha' });
    const id = await createInspector(ctx.db);
    try {
      const detail = await executionDetail({ client: a, inspector: ia }, 'dash-1') as { description: { id: string }; pendingSignals: unknown[] };
      expect(detail.description.id).toBe('dash-1');
      expect(detail.pendingSignals).toHaveLength(1);
      await expect(executionDetail({ client: d, inspector: id }, 'dash-1')).rejects.toBeInstanceOf(ExecutionNotFoundError);
      expect(await id.pendingSignals('dash-1')).toEqual([]);
    } finally {
      await ia.close();
      await id.close();
    }
  });

  test('lock keys of DistributedLockManager are per namespace', async () => {
    const la = new DistributedLockManager(ctx.db, { namespace: 'alpha' });
    const lb = new DistributedLockManager(ctx.db, { namespace: 'beta' });
    const ld = new DistributedLockManager(ctx.db);
    const ga = await la.lock({ lockKey: 'invoice-9', owner: 'worker-a', ttl: '1m' });
    const gb = await lb.tryLock({ lockKey: 'invoice-9', owner: 'worker-b', ttl: '1m' });
    expect(ga.lockKey).toBe('invoice-9');
    expect(gb).toMatchObject({ lockKey: 'invoice-9', owner: 'worker-b' });
    expect(await ld.isLocked('invoice-9')).toBe(false);
    expect((await la.inspect('invoice-9'))?.owner).toBe('worker-a');
    expect((await la.list()).map((g) => [g.lockKey, g.owner])).toEqual([['invoice-9', 'worker-a']]);
    await expect(la.unlock('invoice-9', 'worker-b')).rejects.toMatchObject({ code: 'LOCK_NOT_HELD' });
    await expect(la.lock({ lockKey: 'invoice-9', owner: 'worker-c', ttl: '1m' })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT', lockKey: 'invoice-9' });
    await la.unlock('invoice-9', 'worker-a');
    expect((await lb.inspect('invoice-9'))?.owner).toBe('worker-b');
    await lb.unlock('invoice-9', 'worker-b');
    await expect(ld.lock({ lockKey: 'alpha\u001finvoice-9', owner: 'x', ttl: '1m' })).rejects.toBeInstanceOf(ValidationError);
  });

  test('bad namespaces and ids carrying the separator are refused before anything is written', async () => {
    await expect(createClient({ db: ctx.db, namespace: 'has space' })).rejects.toBeInstanceOf(ValidationError);
    await expect(createClient({ db: ctx.db, namespace: '' })).rejects.toBeInstanceOf(ValidationError);
    await expect(createRunner({ db: ctx.db, workflows: [echo], namespace: 'a/b' })).rejects.toBeInstanceOf(ValidationError);
    await expect(d.start(echo, { v: 'x' }, { id: 'alpha\u001forder-1' })).rejects.toBeInstanceOf(ValidationError);
    expect(() => d.getHandle('alpha\u001forder-1')).toThrow(ValidationError);
    await expect(a.start(echo, { v: 'x' }, { id: 'x'.repeat(178) })).rejects.toThrow(/too long in namespace "alpha"/);
  });

  test('CLI --namespace (and LEASEFLOW_NAMESPACE) binds a command to one namespace', async () => {
    const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      let out = '';
      let err = '';
      const io: Io = { out: (t) => { out += t; }, err: (t) => { err += t; }, env, isTTY: false, readStdin: async () => '' };
      return { code: await runCli(args, io), out, err };
    };
    const started = await run(['start', 'ns-kid', '--input', '3', '--id', 'cli-1', '--namespace', 'gamma', '--db', ctx.url]);
    expect(started.code).toBe(0);
    expect((await run(['show', 'cli-1', '--json', '--db', ctx.url])).code).toBe(3);
    expect((await run(['show', 'cli-1', '--json', '--namespace', 'alpha', '--db', ctx.url])).code).toBe(3);
    const shown = await run(['show', 'cli-1', '--json', '--namespace', 'gamma', '--db', ctx.url]);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.out).execution).toMatchObject({ id: 'cli-1', input: 3 });
    expect((await run(['show', 'cli-1', '--json', '--db', ctx.url], { LEASEFLOW_NAMESPACE: 'gamma' })).code).toBe(0);
    const listed = await run(['list', '--json', '--namespace', 'gamma', '--db', ctx.url]);
    expect(listed.out).toContain('cli-1');
    expect(listed.out).not.toContain('order-1');
    expect((await run(['cancel', 'cli-1', '--namespace', 'beta', '--db', ctx.url])).code).toBe(3);
    expect((await run(['signal', 'cli-1', 'go', '--db', ctx.url])).code).toBe(3);
    expect((await run(['list', '--namespace', 'no good', '--db', ctx.url])).code).toBe(2);
  });
});
