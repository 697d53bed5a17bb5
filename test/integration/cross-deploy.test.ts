/**
 * Cross-feature (h17), both dialects: the deploy gate with payload codecs (it decodes histories
 * with the keys; without them it lists those executions as undecodable, not as incompatible code)
 * and with namespaces (all of them, or the one given); fork/resume of an execution of namespace A
 * from a client bound to A (API and CLI) with encrypted payloads; a runner with compatibleBuilds
 * in namespace A; the same rate-limit key in two namespaces is two buckets.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describeEachDb } from '../helpers/db';
import {
  aesGcmCodec, checkDeploy, replayHistory, ValidationError, createClient, createRunner, defineWorkflow, ExecutionNotFoundError, openDatabase, runUntilIdle, silentLogger,
  type Database, type WorkflowDefinition,
} from '../../engine';
import { runCli } from '../../runner/cli';
import type { Io } from '../../runner/commands/command';
import { gateOrder as gateV1 } from './fixtures/deploy-gate-v1';

const KEY = randomBytes(32);
const KEYS_ENV = `k1=${KEY.toString('base64')}`;
const withKey = () => [aesGcmCodec({ keys: { k1: KEY }, currentKeyId: 'k1' })];
const SECRET = 'XD-SECRET-7c2a';

const gateV3 = { ...gateV1, fn: async (c: Parameters<typeof gateV1.fn>[0], n: number) => { await c.step('reserve-stock', async () => n); return n; } };

let failing = true;
const ran: string[] = [];
const pipeline = defineWorkflow({ name: 'xd-pipeline', retry: { maxAttempts: 1 } }, async (ctx, input: { s: string }) => {
  const out: string[] = [];
  for (const name of ['a', 'b', 'c']) {
    out.push(await ctx.step(name, async () => {
      ran.push(`${ctx.executionId}:${name}`);
      if (name === 'c' && failing) throw new Error('c broke');
      return `${name}-${input.s}`;
    }));
  }
  return out.join(',');
});

const routedV1 = defineWorkflow({ name: 'xd-routed', buildId: 'r1' }, async (ctx) => {
  await ctx.step('one', async () => 1);
  return ctx.waitForSignal<number>('go', { timeout: '1h' });
});
const routedV2 = defineWorkflow({ name: 'xd-routed', buildId: 'r2' }, routedV1.fn);

const paced = defineWorkflow({ name: 'xd-paced', rateLimit: { limit: 1, period: '1h', key: () => 'shared' } }, async () => 'ran');

function io(env: Record<string, string> = {}): Io & { text: () => string } {
  let text = '';
  return { out: (t) => { text += t; }, err: (t) => { text += t; }, env, isTTY: false, readStdin: async () => '', text: () => text };
}

describeEachDb(__filename, 'deploy gate, fork/resume, routing and rate limits × codecs × namespaces', (ctx) => {
  let enc: Database;
  beforeAll(async () => { enc = await openDatabase(ctx.url, { codecs: withKey() }); });
  afterAll(async () => { await enc?.close(); });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const drive = (workflows: WorkflowDefinition<any, any>[], namespace?: string, more: { compatibleBuilds?: string[] } = {}) =>
    runUntilIdle({ db: enc, workflows, namespace, owner: 'xd-driver-00000000', leaseTtlMs: 30_000, holdWaitsUpToMs: 0, logger: silentLogger(), ...more });

  test('the gate decodes with the keys, reports undecodable (not incompatible) without them, and covers every namespace or the given one', async () => {
    const a = await createClient({ db: enc, namespace: 'ns-a' });
    const b = await createClient({ db: enc, namespace: 'ns-b' });
    await a.start(gateV1, 1, { id: 'g-1' });
    await b.start(gateV1, 2, { id: 'g-1' }); // same id, other namespace
    await drive([gateV1], 'ns-a');
    await drive([gateV1], 'ns-b');
    expect((await a.getHandle('g-1').describe()).status).toBe('waiting');

    const good = await checkDeploy({ db: ctx.url, workflows: [gateV1], codecs: withKey(), sample: 0 });
    expect(good).toMatchObject({ ok: true, checked: 2, incompatible: [], undecodableCount: 0 });
    const noKey = await checkDeploy({ db: ctx.url, workflows: [gateV1], sample: 0, all: true });
    expect(noKey).toMatchObject({ ok: false, checked: 0, incompatible: [], undecodableCount: 2 });
    expect(noKey.undecodable.map((u) => `${u.namespace}/${u.executionId}`).sort()).toEqual(['ns-a/g-1', 'ns-b/g-1']);
    expect(noKey.undecodable[0].message).toMatch(/encrypted \(key k1\)|not in this process's codec chain/);

    const bad = await checkDeploy({ db: enc, workflows: [gateV3], sample: 0, all: true });
    expect(bad.incompatible.map((x) => `${x.namespace}/${x.executionId}@${x.position}`).sort()).toEqual(['ns-a/g-1@0', 'ns-b/g-1@0']);
    const onlyB = await checkDeploy({ db: enc, workflows: [gateV3], sample: 0, all: true, namespace: 'ns-b' });
    expect(onlyB.incompatible.map((x) => `${x.namespace}/${x.executionId}`)).toEqual(['ns-b/g-1']);
    expect(onlyB.checked).toBe(1);

    // The CLI: keys from LEASEFLOW_PAYLOAD_KEYS; without them exit 1 (not 7) naming the undecodable executions.
    const fixtures = join(__dirname, 'fixtures');
    const okCli = io({ LEASEFLOW_PAYLOAD_KEYS: KEYS_ENV });
    expect(await runCli(['--db', ctx.url, 'replay', '--check', '--sample', '0', '--workflows', join(fixtures, 'deploy-gate-v1.ts')], okCli)).toBe(0);
    expect(okCli.text()).toMatch(/^OK: 2 histories replayed/m);
    const noKeyCli = io();
    expect(await runCli(['--db', ctx.url, 'replay', '--check', '--sample', '0', '--workflows', join(fixtures, 'deploy-gate-v1.ts')], noKeyCli)).toBe(1);
    expect(noKeyCli.text()).toMatch(/UNDECODABLE g-1 \(namespace ns-a\)/);
    expect(noKeyCli.text()).toMatch(/^UNDECODABLE: 0 histories replayed .*2 not checked/m);
    const badCli = io({ LEASEFLOW_PAYLOAD_KEYS: KEYS_ENV });
    expect(await runCli(['--db', ctx.url, '--namespace', 'ns-a', 'replay', '--check', '--all', '--workflows', join(fixtures, 'deploy-gate-v3.ts')], badCli)).toBe(7);
    expect(badCli.text()).toMatch(/INCOMPATIBLE g-1 \(namespace ns-a\)/);
    expect(badCli.text()).not.toMatch(/ns-b/);
    // replayHistory from the store: the id in the given namespace, decoded with the store's chain.
    expect(await replayHistory(gateV1, { db: enc, executionId: 'g-1', namespace: 'ns-a' })).toMatchObject({ ok: true, status: 'incomplete' });
    expect(await replayHistory(gateV3, { db: enc, executionId: 'g-1', namespace: 'ns-b' })).toMatchObject({ ok: false, divergence: { seq: 0 } });
    await expect(replayHistory(gateV1, { db: enc, executionId: 'g-1' })).rejects.toBeInstanceOf(ValidationError); // not in 'default'
    // Leave nothing live for the other tests' gate-free checks.
    for (const c of [a, b]) await c.getHandle('g-1').terminate('test over');
    await a.close();
    await b.close();
  });

  test('fork/resume of an encrypted execution of namespace A from a client bound to A (API and CLI); B cannot touch it', async () => {
    const a = await createClient({ db: enc, namespace: 'ns-a' });
    const b = await createClient({ db: enc, namespace: 'ns-b' });
    failing = true;
    ran.length = 0;
    const h = await a.start(pipeline, { s: SECRET }, { id: 'p-1' });
    const h2 = await a.start(pipeline, { s: SECRET }, { id: 'p-2' });
    await drive([pipeline], 'ns-a');
    expect((await h.describe()).status).toBe('failed');
    expect((await h2.describe()).status).toBe('failed');
    await expect(b.getHandle('p-1').resume({ fromStep: 'c' })).rejects.toBeInstanceOf(ExecutionNotFoundError);
    failing = false;
    expect(await h.resume({ fromStep: 'c' })).toEqual({ retriedSeq: 2 });
    const cli = io({ LEASEFLOW_PAYLOAD_KEYS: KEYS_ENV });
    expect(await runCli(['--db', ctx.url, 'resume', '--namespace', 'ns-a', 'p-2', '--from-step', 'b'], cli)).toBe(0);
    expect(cli.text()).toMatch(/resumed p-2 from step #1/);
    await drive([pipeline], 'ns-a');
    expect(await h.result({ timeout: '10s' })).toBe(`a-${SECRET},b-${SECRET},c-${SECRET}`);
    expect(await h2.result({ timeout: '10s' })).toBe(`a-${SECRET},b-${SECRET},c-${SECRET}`);
    const count = (id: string) => Object.fromEntries(['a', 'b', 'c'].map((n) => [n, ran.filter((r) => r === `${id}:${n}`).length]));
    expect(count('p-1')).toEqual({ a: 1, b: 1, c: 2 });
    expect(count('p-2')).toEqual({ a: 1, b: 2, c: 2 });
    const raw = await enc.sql.all<{ payload: string | null }>("SELECT payload FROM workflow_events WHERE payload LIKE '%XD-SECRET%'");
    expect(raw).toEqual([]);
    await a.close();
    await b.close();
  });

  test('a runner with compatibleBuilds in namespace A claims only its builds of A', async () => {
    const a = await createClient({ db: enc, namespace: 'ns-a' });
    const b = await createClient({ db: enc, namespace: 'ns-b' });
    const ha = await a.start(routedV1, null, { id: 'r-1' });
    const hb = await b.start(routedV1, null, { id: 'r-1' });
    await drive([routedV1], 'ns-a');
    await drive([routedV1], 'ns-b');
    expect((await ha.describe()).lastBuild).toBe('r1');
    await ha.signal('go', 1);
    await hb.signal('go', 2);
    // A runner of A serving r2, compatible with r2 only: claims nothing (the executions ran r1).
    await drive([routedV2], 'ns-a', { compatibleBuilds: ['r2'] });
    expect((await ha.describe()).status).toBe('queued');
    // Compatible with r1: it finishes A's execution and leaves B's alone.
    await drive([routedV2], 'ns-a', { compatibleBuilds: ['r1'] });
    expect(await ha.result({ timeout: '10s' })).toBe(1);
    expect((await hb.describe()).status).toBe('queued');
    await drive([routedV2], 'ns-b', { compatibleBuilds: ['r1'] });
    expect(await hb.result({ timeout: '10s' })).toBe(2);
    await a.close();
    await b.close();
  });

  test('describe() of an execution in A: a live runner of namespace B serving its build does not count as serving it', async () => {
    const a = await createClient({ db: enc, namespace: 'ns-a' });
    const h = await a.start(routedV1, null, { id: 'r-2' });
    await drive([routedV1], 'ns-a');
    await h.signal('go', 3);
    const other = await createRunner({
      db: enc, workflows: [routedV2], namespace: 'ns-b', compatibleBuilds: ['r1'], pollInterval: '50ms', schedules: false, migrate: false, logger: silentLogger(),
    });
    await other.start();
    try {
      const d = await h.describe();
      expect(d).toMatchObject({ status: 'queued', lastBuild: 'r1', waitingForBuild: 'r1', servedByLiveRunner: false });
      const listed = io();
      expect(await runCli(['--db', ctx.url, 'runners', '--live'], listed)).toBe(0);
      expect(listed.text()).toMatch(/\[ns-b\] xd-routed/);
    } finally {
      await other.shutdown();
    }
    const own = await createRunner({
      db: enc, workflows: [routedV2], namespace: 'ns-a', compatibleBuilds: ['r1'], pollInterval: '50ms', schedules: false, migrate: false, logger: silentLogger(),
    });
    await own.start();
    try {
      expect(await h.result({ timeout: '60s' })).toBe(3);
    } finally {
      await own.shutdown();
    }
    await a.close();
  }, 90_000);

  test('the same rate-limit key in two namespaces is two buckets', async () => {
    const a = await createClient({ db: enc, namespace: 'ns-a' });
    const b = await createClient({ db: enc, namespace: 'ns-b' });
    const a1 = await a.start(paced, null, { id: 'rl-1' });
    const a2 = await a.start(paced, null, { id: 'rl-2' });
    const a3 = await a.start(paced, null, { id: 'rl-3' });
    const b1 = await b.start(paced, null, { id: 'rl-1' });
    await drive([paced], 'ns-a');
    await drive([paced], 'ns-b');
    // GCRA with a tolerance of one: two starts per key pass at once, the third waits an hour.
    expect(await a1.result({ timeout: '10s' })).toBe('ran');
    expect(await a2.result({ timeout: '10s' })).toBe('ran');
    expect(await b1.result({ timeout: '10s' })).toBe('ran'); // one shared bucket would have deferred it by an hour
    expect((await a3.describe())).toMatchObject({ status: 'queued', rateKey: 'shared' }); // A's bucket is spent
    const keys = await enc.sql.all<{ rate_key: string }>('SELECT rate_key FROM workflow_rate_limits WHERE workflow_name = ? ORDER BY rate_key', ['xd-paced']);
    expect(keys.map((k) => k.rate_key)).toEqual(['ns-a\u001fshared', 'ns-b\u001fshared']);
    await a.close();
    await b.close();
  });
});
