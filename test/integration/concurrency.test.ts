/**
 * Workflow code as people write it, on both dialects: Promise.all/race over children, timers
 * and signals; the supersede rule for a race's losing wait; cancellation with cleanup; replay
 * after crashes reproducing the same positions; and a runner's drain not held by such a parent.
 */
import { describeEachDb } from '../helpers/db';
import { createLedger, drive, expireAllLeases, ledger, ledgerCounts, makeDue } from '../helpers/engine';
import { defineWorkflow, type WorkflowDefinition } from '../../engine/workflow/define-workflow';
import { createClient, type Client } from '../../engine/client/client';
import { createRunner } from '../../engine/runner/create-runner';
import { claimExecutions } from '../../engine/store/claims';
import { executeClaimed } from '../../engine/runner/executor';
import { silentLogger } from '../../engine/logger';
import { CancelledError } from '../../engine/errors';
import type { Database } from '../../engine/store/database';

let db: Database;

const square = defineWorkflow({ name: 'cc-square' }, async (ctx, x: number) => ctx.step('sq', () => x * x));
const fanOut = defineWorkflow({ name: 'cc-fan-out' }, async (ctx, items: number[]) => Promise.all(items.map((x) => ctx.child(square, x))));
const raceTimer = defineWorkflow({ name: 'cc-race' }, async (ctx) => {
  const winner = await Promise.race([ctx.waitForSignal('go').then(() => 'signal'), ctx.sleep('t', '1h').then(() => 'timer')]);
  return winner;
});

/** Claim one execution of `wf` and run it, aborting (a simulated crash) when `crashWhen` says so. */
async function runWithCrash(wf: WorkflowDefinition<any, any>, crashWhen: (event: string, data: Record<string, unknown>) => boolean) { // eslint-disable-line @typescript-eslint/no-explicit-any
  const [execution] = await claimExecutions(db.sql, { owner: 'crashy-00000000', workflows: [wf.name], limit: 1, leaseTtlMs: 30_000 });
  const ac = new AbortController();
  return executeClaimed({
    store: db.sql, execution, definition: wf, owner: 'crashy-00000000', signal: ac.signal, holdWaitsUpToMs: 200,
    emit: (event, data) => { if (crashWhen(event, data)) ac.abort('simulated crash'); },
  });
}

const positions = async (c: Client, id: string) => (await c.getHandle(id).history()).map((e) => `${e.seq}:${e.kind}:${e.name}:${e.status}`);

describeEachDb(__filename, 'concurrent workflow code', (ctx) => {
  let client: Client;
  beforeAll(async () => {
    db = ctx.db;
    await createLedger(db);
    client = await createClient({ db });
  });
  afterAll(async () => client.close());

  test('Promise.all of five children completes the parent', async () => {
    const h = await client.start(fanOut, [1, 2, 3, 4, 5], { id: 'fan-1' });
    await drive(db, [fanOut, square]);
    expect(await h.result({ timeout: '10s' })).toEqual([1, 4, 9, 16, 25]);
    expect((await positions(client, 'fan-1')).filter((p) => p.includes('child_start'))).toHaveLength(5);
  });

  test('a race of a signal against a timer completes when the timer fires', async () => {
    const h = await client.start(raceTimer, undefined, { id: 'race-1' });
    expect((await drive(db, [raceTimer])).map((o) => o.outcome.kind)).toEqual(['suspended']);
    const d = await h.describe();
    expect(d.status).toBe('waiting');
    expect(d.waitingFor).toMatchObject({ kind: 'any', dueSeq: 1 });
    await makeDue(db, 'race-1');
    await drive(db, [raceTimer]);
    expect(await h.result({ timeout: '10s' })).toBe('timer');
    expect(await positions(client, 'race-1')).toEqual(['1:timer:t:fired']);
  });

  test('a race of a signal against a timer is won by a signal that arrives first, waking the execution', async () => {
    const h = await client.start(raceTimer, undefined, { id: 'race-2' });
    await drive(db, [raceTimer]);
    await h.signal('go', { by: 'x' });
    await drive(db, [raceTimer]);
    expect(await h.result({ timeout: '10s' })).toBe('signal');
    // The losing timer was recorded scheduled and never fired; it keeps nothing due.
    expect(await positions(client, 'race-2')).toEqual(['0:signal:go:delivered', '1:timer:t:scheduled']);
  });

  test("a race's losing signal wait consumes nothing: the next wait of that name gets the signal", async () => {
    const poll = defineWorkflow({ name: 'cc-poll' }, async (c) => {
      const seen: string[] = [];
      for (let i = 0; i < 2; i++) {
        seen.push(await Promise.race([c.waitForSignal<string>('go').then((v) => `signal:${v}`), c.sleep('tick', '1h').then(() => 'tick')]));
      }
      return seen;
    });
    const h = await client.start(poll, undefined, { id: 'poll-1' });
    await drive(db, [poll]);
    await makeDue(db, 'poll-1');
    await drive(db, [poll]); // first tick fires; the second round waits again (the first 'go' wait is superseded)
    await h.signal('go', 'a');
    await drive(db, [poll]);
    expect(await h.result({ timeout: '10s' })).toEqual(['tick', 'signal:a']);
    const rows = await db.sql.all<{ consumed_seq: unknown }>('SELECT consumed_seq FROM workflow_signals WHERE execution_id = ?', ['poll-1']);
    expect(rows.map((r) => Number(r.consumed_seq))).toEqual([2]);
  });

  test('waits for one signal name issued together are served in order', async () => {
    const pair = defineWorkflow({ name: 'cc-pair' }, async (c) => Promise.all([c.waitForSignal('a'), c.waitForSignal('a')]));
    const h = await client.start(pair, undefined, { id: 'pair-1' });
    await h.signal('a', 1);
    await h.signal('a', 2);
    await drive(db, [pair]);
    expect(await h.result({ timeout: '10s' })).toEqual([1, 2]);
  });

  test('a try/finally cleanup step after a cancelled sleep runs and commits once', async () => {
    const cleanup = defineWorkflow({ name: 'cc-cleanup' }, async (c) => {
      try {
        await c.sleep('wait', '1h');
      } finally {
        await c.step('cleanup', () => ledger(db, 'cleanup:ran'));
      }
    });
    const h = await client.start(cleanup, undefined, { id: 'cleanup-1' });
    await drive(db, [cleanup]);
    await h.cancel('stop');
    await drive(db, [cleanup]);
    await expect(h.result({ timeout: '10s' })).rejects.toBeInstanceOf(CancelledError);
    expect(await ledgerCounts(db, 'cleanup:')).toEqual({ 'cleanup:ran': 1 });
    expect((await positions(client, 'cleanup-1'))).toEqual(['0:timer:wait:scheduled', '1:cancel:cancel:delivered', '2:step:cleanup:completed']);
  });

  test('cancellation raises CancelledError at every pending command; a nonCancellable block and its step still finish', async () => {
    const many = defineWorkflow({ name: 'cc-many' }, async (c) => {
      const shielded = c.nonCancellable(async (s) => {
        await s.waitForSignal('release');
        return s.step('shielded-step', () => 'kept');
      });
      const results = await Promise.allSettled([c.sleep('t', '1h'), c.waitForSignal('never'), c.step('long', ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))))), shielded]);
      return results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).name));
    });
    const h = await client.start(many, undefined, { id: 'many-1' });
    const running = drive(db, [many]);
    await new Promise((r) => setTimeout(r, 300));
    await h.cancel('enough');
    await h.signal('release');
    await running;
    await drive(db, [many]);
    expect(await h.result({ timeout: '10s' })).toEqual(['CancelledError', 'CancelledError', 'CancelledError', 'kept']);
  });

  test('cancelling a parent cancels its running children unless they were abandoned', async () => {
    const sleeper = defineWorkflow({ name: 'cc-sleeper' }, async (c) => { await c.sleep('nap', '1h'); return 'slept'; });
    const parent = defineWorkflow({ name: 'cc-parent' }, async (c) => {
      await c.startChild(sleeper, undefined, { id: 'kid-cancel' });
      await c.startChild(sleeper, undefined, { id: 'kid-abandon', onParentCancel: 'abandon' });
      await c.sleep('forever', '1h');
    });
    const h = await client.start(parent, undefined, { id: 'parent-1' });
    await drive(db, [parent, sleeper]);
    await h.cancel('parent done');
    await drive(db, [parent, sleeper]);
    await expect(h.result({ timeout: '10s' })).rejects.toBeInstanceOf(CancelledError);
    expect((await client.getHandle('kid-cancel').describe()).status).toBe('cancelled');
    expect((await client.getHandle('kid-abandon').describe()).status).toBe('waiting');
  });

  test('replay after a crash at any delivery reproduces the same positions and runs no committed step twice', async () => {
    const mixed = defineWorkflow({ name: 'cc-mixed' }, async (c, tag: string) => {
      const a = c.step('a', async () => { await ledger(db, `${tag}:a`); return 1; });
      const b = (async () => { await c.sleep('short', '50ms'); return c.step('b', async () => { await ledger(db, `${tag}:b`); return 2; }); })();
      const r = await Promise.race([c.step('c', async () => { await new Promise((x) => setTimeout(x, 30)); await ledger(db, `${tag}:c`); return 3; }), c.sleep('slow', '10s').then(() => 0)]);
      return [await a, await b, r, c.random() < 1];
    });
    await client.start(mixed, 'clean', { id: 'mixed-clean' });
    await drive(db, [mixed]);
    const reference = await positions(client, 'mixed-clean');
    for (let crashAt = 1; crashAt <= 3; crashAt++) {
      const id = `mixed-crash-${crashAt}`;
      const h = await client.start(mixed, `crash${crashAt}`, { id });
      let seen = 0;
      await runWithCrash(mixed, (ev) => (ev === 'step:completed' || ev === 'timer:fired') && ++seen === crashAt);
      await expireAllLeases(db);
      await drive(db, [mixed]);
      expect(await h.result({ timeout: '10s' })).toEqual([1, 2, 3, true]);
      expect((await positions(client, id)).filter((p) => !p.includes(':slow:'))).toEqual(reference.filter((p) => !p.includes(':slow:')));
      // A body in flight at the crash may run again (at least once); a committed one never does.
      const hist = await client.getHandle(id).history();
      expect(new Set(hist.map((e) => e.seq)).size).toBe(hist.length);
    }
  });

  test('a runner holding a parent blocked on Promise.all of children drains at once', async () => {
    const blocked = defineWorkflow({ name: 'cc-blocked' }, async (c) => Promise.all([1, 2, 3].map((x) => c.child(square, x))));
    const runner = await createRunner({ db, workflows: [blocked], concurrency: 4, pollInterval: '20ms', drainTimeout: '30s', logger: silentLogger() });
    await runner.start();
    const h = await client.start(blocked, undefined, { id: 'blocked-1' });
    for (let i = 0; i < 100 && (await h.describe()).status !== 'waiting'; i++) await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await runner.shutdown();
    expect(Date.now() - started).toBeLessThan(10_000);
    await drive(db, [blocked, square]);
    expect(await h.result({ timeout: '10s' })).toEqual([1, 4, 9]);
  });
});
