/**
 * Deploying new code (issue 12), on both dialects: executions record the build/version that
 * started and last ran them; v1 executions stopped at a timer finish on v2 (a compatible patch)
 * taking the old branch while new ones take the new branch; an incompatible v3 fails the deploy
 * gate naming the position, and a runner restricted by build ids does not claim what it cannot
 * replay (it waits, visibly); patches work inside concurrent branches and across continue-as-new.
 */
import { describeEachDb } from '../helpers/db';
import { makeDue } from '../helpers/engine';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { createClient, type Client } from '../../engine/client/client';
import { createRunner } from '../../engine/runner/create-runner';
import { runUntilIdle } from '../../engine/runner/drive';
import { checkDeploy } from '../../engine/deploy/check-deploy';
import { silentLogger } from '../../engine/logger';
import type { Database } from '../../engine/store/database';
import type { WorkflowDefinition } from '../../engine/workflow/define-workflow';

const NAME = 'vs-order';
const v1 = defineWorkflow({ name: NAME, buildId: 'v1' }, async (ctx, n: number) => {
  await ctx.step('reserve', async () => n);
  await ctx.sleep('cool', '1h');
  await ctx.step('charge', async () => n * 2);
  return 'old';
});
// v2: a compatible change guarded by a patch: new executions run an audit step before the timer.
const v2 = defineWorkflow({ name: NAME, buildId: 'v2', version: 2 }, async (ctx, n: number) => {
  await ctx.step('reserve', async () => n);
  const patched = ctx.patched('audit-before-cooling');
  if (patched) await ctx.step('audit', async () => 'audited');
  await ctx.sleep('cool', '1h');
  await ctx.step('charge', async () => n * 2);
  return patched ? 'new' : 'old';
});
// v3: incompatible (the first step renamed, no patch).
const v3 = defineWorkflow({ name: NAME, buildId: 'v3', version: 3 }, async (ctx, n: number) => {
  await ctx.step('reserve-stock', async () => n);
  await ctx.sleep('cool', '1h');
  return 'v3';
});

const drive = (db: Database, wf: WorkflowDefinition<any, any>, compatibleBuilds?: string[]) => // eslint-disable-line @typescript-eslint/no-explicit-any
  runUntilIdle({ db, workflows: [wf], owner: 'vs-driver-00000000', leaseTtlMs: 30_000, holdWaitsUpToMs: 0, compatibleBuilds });

async function waitFor(cond: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  for (const deadline = Date.now() + ms; ;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeEachDb(__filename, 'versioning, patches and build routing', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => { await client?.close(); });

  it('v1 → v2 (compatible patch) → v3 (incompatible): old take the old branch, new the new; the gate names the position; a restricted runner does not claim', async () => {
    const old = [await client.start(v1, 1, { id: 'vs-old-1' }), await client.start(v1, 2, { id: 'vs-old-2' })];
    await drive(ctx.db, v1);
    for (const h of old) {
      const d = await h.describe();
      expect(d.status).toBe('waiting');
      expect([d.startBuild, d.lastBuild, d.lastVersion]).toEqual(['v1', 'v1', 1]);
    }
    // The gate passes v2 against the v1 histories (read-only connection of its own).
    const okReport = await checkDeploy({ db: ctx.url, workflows: [v2], all: true });
    expect(okReport).toMatchObject({ ok: true, checked: 2, incompatible: [] });

    // Deploy v2 (it may run what v1 ran): the old ones finish on v2 through the old branch.
    for (const h of old) await makeDue(ctx.db, h.executionId);
    await drive(ctx.db, v2, ['v1']);
    for (const h of old) {
      expect(await h.result({ timeout: '5s' })).toBe('old');
      const d = await h.describe();
      expect([d.startBuild, d.lastBuild, d.lastVersion]).toEqual(['v1', 'v2', 2]);
      expect((await h.history()).map((e) => e.kind)).not.toContain('patch');
    }
    // New executions take the new branch and record the marker once.
    const fresh = await client.start(v2, 3, { id: 'vs-new-1' });
    await drive(ctx.db, v2);
    expect((await fresh.describe()).status).toBe('waiting');
    const marker = (await fresh.history()).filter((e) => e.kind === 'patch');
    expect(marker).toEqual([expect.objectContaining({ seq: 1, name: 'audit-before-cooling' })]);
    await makeDue(ctx.db, fresh.executionId);
    await drive(ctx.db, v2);
    expect(await fresh.result({ timeout: '5s' })).toBe('new');
    expect((await fresh.history()).filter((e) => e.kind === 'patch')).toHaveLength(1);

    // Live v2 executions at the timer; v3 is incompatible with them.
    const live = [await client.start(v2, 4, { id: 'vs-live-1' }), await client.start(v2, 5, { id: 'vs-live-2' })];
    await drive(ctx.db, v2);
    const bad = await checkDeploy({ db: ctx.url, workflows: [v3] });
    expect(bad.ok).toBe(false);
    expect(bad.stoppedEarly).toBe(true);
    expect(bad.incompatible).toHaveLength(1);
    expect(bad.incompatible[0]).toMatchObject({
      workflowName: NAME, position: 0, lastBuild: 'v2',
      expected: { kind: 'step', name: 'reserve' }, actual: { kind: 'step', name: 'reserve-stock' },
    });
    expect(bad.incompatible[0].suggestion).toMatch(/ctx\.patched\(/);
    const all = await checkDeploy({ db: ctx.url, workflows: [v3], all: true, sample: 10 });
    // 2 live + 3 completed in the sample, every one incompatible.
    expect(all.checked).toBe(5);
    expect(all.incompatible.map((b) => b.executionId).sort()).toEqual(['vs-live-1', 'vs-live-2', 'vs-new-1', 'vs-old-1', 'vs-old-2']);

    // A v3 runner restricted to its own build does not claim them: they wait, visibly.
    for (const h of live) await makeDue(ctx.db, h.executionId);
    expect(await drive(ctx.db, v3, [])).toEqual([]);
    const restricted = await createRunner({ db: ctx.db, workflows: [v3], buildId: 'v3', compatibleBuilds: [], pollInterval: '50ms', schedules: false, migrate: false, logger: silentLogger() });
    await restricted.start();
    try {
      await waitFor(async () => (await live[0].describe()).waitingForBuild === 'v2', 'waitingForBuild v2');
      // A negative: give the restricted runner many polls (50 ms each) to (wrongly) claim them.
      await new Promise((r) => setTimeout(r, 1500));
      for (const h of live) {
        const d = await h.describe();
        expect(['queued', 'waiting']).toContain(d.status);
        expect(d.waitingForBuild).toBe('v2');
        expect(d.lastBuild).toBe('v2');
      }
      const listed = await client.list({ build: 'v2', status: ['queued', 'waiting'] });
      expect(listed.executions.map((e) => e.id).sort()).toEqual(['vs-live-1', 'vs-live-2']);
      // Blue/green: a v2 runner (the old build) drains them.
      const blue = await createRunner({ db: ctx.db, workflows: [v2], compatibleBuilds: ['v1'], pollInterval: '50ms', schedules: false, migrate: false, logger: silentLogger() });
      await blue.start();
      try {
        for (const h of live) expect(await h.result({ timeout: '60s' })).toBe('new');
      } finally {
        await blue.shutdown();
      }
    } finally {
      await restricted.shutdown();
    }
  }, 120_000);

  it('patched() is deterministic inside concurrent branches', async () => {
    const b1 = defineWorkflow({ name: 'vs-fan', buildId: 'fan1' }, async (c) => {
      const r = await Promise.all([c.step('a', async () => 'a'), c.step('b', async () => 'b')]);
      await c.sleep('nap', '1h');
      return r.join('');
    });
    const b2 = defineWorkflow({ name: 'vs-fan', buildId: 'fan2' }, async (c) => {
      const r = await Promise.all([
        (async () => (c.patched('a-v2') ? c.step('a2', async () => 'A') : c.step('a', async () => 'a')))(),
        (async () => (c.patched('b-v2') ? c.step('b2', async () => 'B') : c.step('b', async () => 'b')))(),
      ]);
      await c.sleep('nap', '1h');
      return r.join('');
    });
    const oldH = await client.start(b1, null, { id: 'vs-fan-old' });
    await drive(ctx.db, b1);
    const newH = await client.start(b2, null, { id: 'vs-fan-new' });
    await drive(ctx.db, b2);
    await makeDue(ctx.db, oldH.executionId);
    await makeDue(ctx.db, newH.executionId);
    await drive(ctx.db, b2);
    expect(await oldH.result({ timeout: '5s' })).toBe('ab');
    expect(await newH.result({ timeout: '5s' })).toBe('AB');
    expect((await newH.history()).filter((e) => e.kind === 'patch').map((e) => [e.seq, e.name])).toEqual([[0, 'a-v2'], [2, 'b-v2']]);
    // Both histories replay cleanly against the patched code.
    expect(await checkDeploy({ db: ctx.url, workflows: [b2], all: true })).toMatchObject({ ok: true, checked: 2 });
  });

  it('across continue-as-new: the old run replays the old branch, the next run (new code) takes the new one', async () => {
    const c1 = defineWorkflow({ name: 'vs-loop', buildId: 'loop1' }, async (c, n: number): Promise<string[]> => {
      await c.sleep('tick', '1h');
      if (n === 0) return c.continueAsNew(1);
      return ['done'];
    });
    const c2 = defineWorkflow({ name: 'vs-loop', buildId: 'loop2' }, async (c, n: number): Promise<string[]> => {
      const branch = c.patched('tick-step') ? 'new' : 'old';
      if (branch === 'new') await c.step('pre', async () => n);
      await c.sleep('tick', '1h');
      await c.step(`seen-${n}-${branch}`, async () => branch);
      if (n === 0) return c.continueAsNew(1);
      return [branch];
    });
    const h = await client.start(c1, 0, { id: 'vs-loop-1' });
    await drive(ctx.db, c1);
    await makeDue(ctx.db, h.executionId);
    await drive(ctx.db, c2);
    // The second run waits at its timer, on the new branch.
    const d = await h.describe();
    expect([d.runNumber, d.status]).toEqual([2, 'waiting']);
    await makeDue(ctx.db, h.executionId);
    await drive(ctx.db, c2);
    expect(await h.result({ timeout: '5s' })).toEqual(['new']);
  });

  it('deprecatePatch: histories with the marker and new ones without it both replay; none is recorded', async () => {
    const p1 = defineWorkflow({ name: 'vs-dep', buildId: 'dep1' }, async (c) => {
      const out = c.patched('new-path') ? await c.step('new', async () => 'new') : await c.step('old', async () => 'old');
      await c.sleep('nap', '1h');
      return out;
    });
    const p2 = defineWorkflow({ name: 'vs-dep', buildId: 'dep2' }, async (c) => {
      c.deprecatePatch('new-path');
      const out = await c.step('new', async () => 'new');
      await c.sleep('nap', '1h');
      return out;
    });
    const withMarker = await client.start(p1, null, { id: 'vs-dep-1' });
    await drive(ctx.db, p1);
    const without = await client.start(p2, null, { id: 'vs-dep-2' });
    await drive(ctx.db, p2);
    expect(await checkDeploy({ db: ctx.url, workflows: [p2], all: true })).toMatchObject({ ok: true, checked: 2 });
    for (const h of [withMarker, without]) await makeDue(ctx.db, h.executionId);
    await drive(ctx.db, p2);
    expect(await withMarker.result({ timeout: '5s' })).toBe('new');
    expect(await without.result({ timeout: '5s' })).toBe('new');
    expect((await withMarker.history()).map((e) => e.kind)).toEqual(['patch', 'step', 'timer']);
    expect((await without.history()).map((e) => e.kind)).toEqual(['step', 'timer']);
  });
});
