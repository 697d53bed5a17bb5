/**
 * Fork / resume from a step, and the deploy gate's guarantees, on both dialects: a failed
 * execution forked from its failed step (or an earlier one) completes on the current code without
 * re-running the steps before it (a side-effect ledger counts); hostile inputs are typed errors
 * that write nothing; the gate writes nothing (a footprint of every table before and after),
 * its connection refuses writes, it streams in pages, and `leaseflow replay --check` exits 7
 * naming the position.
 */
import { join } from 'node:path';
import { describeEachDb } from '../helpers/db';
import { createLedger, ledger, ledgerCounts } from '../helpers/engine';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { createClient, type Client } from '../../engine/client/client';
import { runUntilIdle } from '../../engine/runner/drive';
import { checkDeploy } from '../../engine/deploy/check-deploy';
import { openDatabase, type Database } from '../../engine/store/database';
import { ExecutionNotFoundError, ExecutionNotResumableError, ForkPointNotFoundError, ValidationError } from '../../engine/errors';
import { runCli } from '../../runner/cli';
import type { Io } from '../../runner/commands/command';

let failAt: string | null = null;
let db!: Database;
const step = (name: string) => async () => {
  await ledger(db, `fg:${name}`);
  if (failAt === name) throw new Error(`${name} broke`);
  return name;
};
const pipeline = defineWorkflow({ name: 'fg-pipeline', retry: { maxAttempts: 1 } }, async (ctx, tag: string) => {
  const out: string[] = [];
  for (const s of ['a', 'b', 'c', 'd']) out.push(await ctx.step(s, step(`${tag}-${s}`)));
  return out.join(',');
});
const gateOrder = defineWorkflow({ name: 'fg-order', buildId: 'v1' }, async (ctx, n: number) => {
  await ctx.step('reserve', async () => n);
  await ctx.sleep('cool', '1h');
  return n;
});

const drive = () => runUntilIdle({ db, workflows: [pipeline, gateOrder], owner: 'fg-driver-00000000', leaseTtlMs: 30_000, holdWaitsUpToMs: 0 });

/** Every row of every leaseflow table, as text: equal before and after means nothing was written. */
async function footprint(d: Database): Promise<string> {
  const out: string[] = [];
  for (const t of ['workflow_executions', 'workflow_events', 'workflow_signals', 'distributed_locks', 'workflow_runners', 'workflow_templates']) {
    const rows = await d.sql.all(`SELECT * FROM ${t}`);
    out.push(`${t}:${JSON.stringify(rows.map((r) => Object.values(r).map(String)).sort())}`);
  }
  return out.join('\n');
}

function io(): Io & { text: () => string } {
  let text = '';
  return { out: (t) => { text += t; }, err: (t) => { text += t; }, env: {}, isTTY: false, readStdin: async () => '', text: () => text };
}

describeEachDb(__filename, 'fork/resume and the deploy gate', (ctx) => {
  let client: Client;
  beforeAll(async () => {
    db = ctx.db;
    await createLedger(ctx.db);
    client = await createClient({ db: ctx.db });
  });
  afterAll(async () => { await client?.close(); });

  it('forks a failed execution from its failed step: it completes, earlier steps are not re-run', async () => {
    failAt = 'f1-c';
    const h = await client.start(pipeline, 'f1', { id: 'fg-f1' });
    await drive();
    expect((await h.describe()).status).toBe('failed');
    failAt = null;
    const tokenBefore = (await h.describe()).leaseToken;
    expect(await h.resume({ fromStep: 'c' })).toEqual({ retriedSeq: 2 });
    const queued = await h.describe();
    expect(queued.status).toBe('queued');
    expect(queued.leaseToken).toBe(tokenBefore + 1);
    await drive();
    expect(await h.result({ timeout: '5s' })).toBe('f1-a,f1-b,f1-c,f1-d');
    expect(await ledgerCounts(ctx.db, 'fg:f1-')).toEqual({ 'fg:f1-a': 1, 'fg:f1-b': 1, 'fg:f1-c': 2, 'fg:f1-d': 1 });
    // The failed suffix is kept aside, not deleted.
    const kept = await ctx.db.sql.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM workflow_events WHERE execution_id = ?', ['fg-f1#fork-1']);
    expect(Number(kept[0].n)).toBe(1);
  });

  it('forks from an earlier step by position: that step and the rest re-run on the current code, the prefix does not', async () => {
    failAt = 'f2-d';
    const h = await client.start(pipeline, 'f2', { id: 'fg-f2' });
    await drive();
    expect((await h.describe()).status).toBe('failed');
    failAt = null;
    expect(await h.resume({ fromStep: 1, build: 'hotfix-1' })).toEqual({ retriedSeq: 1 });
    expect((await h.describe()).lastBuild).toBe('hotfix-1');
    await drive();
    expect(await h.result({ timeout: '5s' })).toBe('f2-a,f2-b,f2-c,f2-d');
    expect(await ledgerCounts(ctx.db, 'fg:f2-')).toEqual({ 'fg:f2-a': 1, 'fg:f2-b': 2, 'fg:f2-c': 2, 'fg:f2-d': 2 });
  });

  it('hostile inputs are typed errors and write nothing', async () => {
    failAt = 'f3-b';
    const h = await client.start(pipeline, 'f3', { id: 'fg-f3' });
    await drive();
    failAt = null;
    const done = await client.start(pipeline, 'f4', { id: 'fg-f4' });
    await drive();
    expect(await done.result({ timeout: '5s' })).toBe('f4-a,f4-b,f4-c,f4-d');
    const before = await footprint(ctx.db);
    await expect(client.getHandle('fg-no-such').resume({ fromStep: 'a' })).rejects.toBeInstanceOf(ExecutionNotFoundError);
    await expect(h.resume({ fromStep: 'no-such-step' })).rejects.toBeInstanceOf(ForkPointNotFoundError);
    await expect(h.resume({ fromStep: 99 })).rejects.toBeInstanceOf(ForkPointNotFoundError);
    await expect(h.resume({ fromStep: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(h.resume({ fromStep: '' })).rejects.toBeInstanceOf(ValidationError);
    await expect(h.resume({ fromStep: 'a', build: 'x'.repeat(200) })).rejects.toBeInstanceOf(ValidationError);
    await expect(done.resume({ fromStep: 'a' })).rejects.toBeInstanceOf(ExecutionNotResumableError);
    const cli = io();
    expect(await runCli(['--db', ctx.url, 'resume', 'fg-f3', '--from-step', 'nope'], cli)).toBe(3);
    expect(cli.text()).toMatch(/no step "nope"/);
    expect(await footprint(ctx.db)).toBe(before);
  });

  it('the gate writes nothing, refuses writes on its connection, streams in pages, and replay --check exits 7 naming the position', async () => {
    for (let i = 0; i < 7; i++) await client.start(gateOrder, i, { id: `fg-gate-${i}` });
    await drive();
    const before = await footprint(ctx.db);
    const ok = await checkDeploy({ db: ctx.url, workflows: [gateOrder, pipeline], pageSize: 2, all: true, sample: 3 });
    // 7 waiting fg-order + 0 completed fg-order; fg-pipeline: 3 most recent completed, failed fg-f3 not live.
    expect(ok).toMatchObject({ ok: true, checked: 10, incompatible: [] });
    const v3 = { ...gateOrder, fn: async (c: Parameters<typeof gateOrder.fn>[0], n: number) => { await c.step('reserve-stock', async () => n); return n; } };
    const bad = await checkDeploy({ db: ctx.url, workflows: [v3], pageSize: 2, all: true });
    expect(bad.incompatible).toHaveLength(7);
    expect(bad.incompatible.every((b) => b.position === 0)).toBe(true);
    const cli = io();
    expect(await runCli(['--db', ctx.url, 'replay', '--check', '--workflows', join(__dirname, 'fixtures', 'deploy-gate-v3.ts')], cli)).toBe(7);
    expect(cli.text()).toMatch(/position: 0/);
    expect(cli.text()).toMatch(/history: {2}step "reserve"/);
    expect(cli.text()).toMatch(/code now: step "reserve-stock"/);
    expect(cli.text()).toMatch(/fix: .*ctx\.patched/);
    const okCli = io();
    expect(await runCli(['--db', ctx.url, 'replay', '--check', '--workflows', join(__dirname, 'fixtures', 'deploy-gate-v1.ts')], okCli)).toBe(0);
    expect(okCli.text()).toMatch(/^OK: 7 histories replayed/m);
    expect(await footprint(ctx.db)).toBe(before);
    // The connection the gate opens from a URL refuses writes outright.
    const ro = await openDatabase(ctx.url, { readOnly: true });
    try {
      await expect(ro.sql.run("UPDATE workflow_executions SET status = 'failed' WHERE id = 'fg-gate-0'")).rejects.toThrow(/read.only|READ ONLY|readonly/i);
    } finally {
      await ro.close();
    }
    expect(await footprint(ctx.db)).toBe(before);
  });
});
