/**
 * Failover between real runner processes. A runner killed with SIGKILL in the middle of a step
 * loses its executions to its peer within the lease TTL plus the poll/watchdog period, and the
 * steps it had committed are not re-run; a runner stopped with SIGTERM finishes its running
 * step, commits it and hands the rest over at once, long before its (long) TTL.
 */
import type { Database } from '../../engine';
import { describeEachDb } from '../helpers/db';
import { dbNowMs, killAllRunners, spawnRunner, waitFor, type RunnerProcess } from '../helpers/processes';
import { createAttemptsTable, readAttempts, type AttemptRow } from './fixtures/attempts';
import { eventFacts, eventKeys, expectedStepEvents, groupBy, statusCounts } from './fixtures/facts';
import { startAll } from './fixtures/start';

const POLL_MS = 100;

/** Wait until every execution is inside step `step` (its body started, not yet ended). */
async function waitUntilInside(db: Database, ids: string[], step: string, timeoutMs: number): Promise<AttemptRow[]> {
  let rows: AttemptRow[] = [];
  await waitFor(async () => {
    rows = await readAttempts(db, 'step = ? AND execution_id IN (?)', [step, ids]);
    return ids.every((id) => rows.some((r) => r.executionId === id && r.phase === 'start'));
  }, { timeoutMs, what: `all of ${ids.join(', ')} inside step ${step}` });
  return rows.filter((r) => r.phase === 'start');
}

/** The runner process running most of `starts` (the victim), and the executions it runs. */
function busiest(runners: RunnerProcess[], starts: AttemptRow[]): { victim: RunnerProcess; survivor: RunnerProcess; ids: string[]; token: Map<string, number> } {
  const byRunner = groupBy(starts, (r) => r.runnerId);
  const [victim, survivor] = [...runners].sort((a, b) => (byRunner.get(b.instanceId)?.length ?? 0) - (byRunner.get(a.instanceId)?.length ?? 0));
  const mine = byRunner.get(victim.instanceId) ?? [];
  return { victim, survivor, ids: mine.map((r) => r.executionId).sort(), token: new Map(mine.map((r) => [r.executionId, r.leaseToken])) };
}

describeEachDb(__filename, 'process failover', (ctx) => {
  beforeAll(async () => createAttemptsTable(ctx.db));
  afterEach(killAllRunners);
  afterAll(killAllRunners);

  test('kill -9 mid-step: a peer finishes its executions within TTL + poll, without re-running committed steps', async () => {
    const ttlMs = 2000;
    const common = { dbUrl: ctx.url, concurrency: 8, leaseTtl: `${ttlMs}ms`, pollInterval: `${POLL_MS}ms` };
    const runners = await Promise.all([spawnRunner({ ...common, instanceId: 'k9-a-00000001' }), spawnRunner({ ...common, instanceId: 'k9-b-00000002' })]);
    const ids = Array.from({ length: 6 }, (_, i) => `k9-${i}`);
    // s1 sleeps 4 s on the first claim only: the victim is surely inside it when killed,
    // and the peer's re-run is quick, so its first commit marks the takeover.
    await startAll(ctx.db, ids, { steps: 3, sleepMs: 4000, sleepAt: [1], firstClaimOnly: true });
    const starts = await waitUntilInside(ctx.db, ids, 's1', 15_000);
    const { victim, survivor, ids: victimIds, token } = busiest(runners, starts);
    expect(victimIds.length).toBeGreaterThan(0);

    const killedAt = await dbNowMs(ctx.db);
    await victim.kill9();
    await waitFor(async () => (await statusCounts(ctx.db, 'k9-')).completed === ids.length, { timeoutMs: ttlMs + 15_000, what: 'all k9 executions completed' })
      .catch((err: Error) => { throw new Error(`${err.message}\n${survivor.dump()}`); });

    const events = await eventFacts(ctx.db, 'k9-');
    expect(eventKeys(events)).toEqual(expectedStepEvents(ids, 3));
    const attempts = await readAttempts(ctx.db, 'execution_id LIKE ?', ['k9-%']);
    const takeoverMs: number[] = [];
    for (const id of victimIds) {
      const old = token.get(id) as number;
      const ev = events.filter((e) => e.executionId === id);
      // s0 was committed by the victim and never re-run; s1 and s2 were committed by the peer.
      expect(ev.map((e) => [e.name, e.leaseToken === old ? 'victim' : 'peer'])).toEqual([['s0', 'victim'], ['s1', 'peer'], ['s2', 'peer']]);
      expect(attempts.filter((a) => a.executionId === id && a.step === 's0').map((a) => [a.phase, a.runnerId])).toEqual([['start', victim.instanceId], ['end', victim.instanceId]]);
      // s1's body ran twice: cut off in the victim (no end), then in full on the peer.
      expect(attempts.filter((a) => a.executionId === id && a.step === 's1').map((a) => [a.phase, a.runnerId]))
        .toEqual([['start', victim.instanceId], ['start', survivor.instanceId], ['end', survivor.instanceId]]);
      takeoverMs.push(Math.min(...ev.filter((e) => e.leaseToken !== old).map((e) => e.atMs)) - killedAt);
    }
    // The lease expires at most TTL after the kill; the peer's watchdog (every poll) requeues
    // it and nudges its poller. 1.5 s of margin covers claim, replay and a loaded machine.
    const bound = ttlMs + POLL_MS + 1500;
    process.stdout.write(`[kill -9 ${ctx.kind}] TTL ${ttlMs} ms: kill → peer's first commit ${takeoverMs.join(', ')} ms (bound ${bound} ms)\n`);
    expect(Math.max(...takeoverMs)).toBeLessThanOrEqual(bound);
    const presumed = survivor.linesWithMsg(/presumed dead/).filter((l) => l.dead_runner === victim.instanceId);
    expect(presumed.length).toBeGreaterThan(0);
  }, 60_000);

  test('SIGTERM hands running executions over at once: the peer resumes long before the TTL and nothing re-runs', async () => {
    const common = { dbUrl: ctx.url, concurrency: 8, leaseTtl: '30s', pollInterval: `${POLL_MS}ms`, drainTimeout: '5s' };
    const runners = await Promise.all([spawnRunner({ ...common, instanceId: 'term-a-00000001' }), spawnRunner({ ...common, instanceId: 'term-b-00000002' })]);
    const ids = Array.from({ length: 6 }, (_, i) => `term-${i}`);
    await startAll(ctx.db, ids, { steps: 3, sleepMs: 1000, sleepAt: [1] });
    const starts = await waitUntilInside(ctx.db, ids, 's1', 15_000);
    const { victim, survivor, ids: victimIds, token } = busiest(runners, starts);
    expect(victimIds.length).toBeGreaterThan(0);

    const termAt = await dbNowMs(ctx.db);
    const exit = await victim.terminate(15_000);
    expect(exit.code).toBe(0);
    await waitFor(async () => (await statusCounts(ctx.db, 'term-')).completed === ids.length, { timeoutMs: 15_000, what: 'all term executions completed' })
      .catch((err: Error) => { throw new Error(`${err.message}\n${victim.dump()}\n${survivor.dump()}`); });

    const events = await eventFacts(ctx.db, 'term-');
    expect(eventKeys(events)).toEqual(expectedStepEvents(ids, 3));
    const attempts = await readAttempts(ctx.db, 'execution_id LIKE ?', ['term-%']);
    // Drained, not killed: every step body ran exactly once, s1 to its end in the victim.
    const perStep = groupBy(attempts, (a) => `${a.executionId}#${a.step}#${a.phase}`);
    expect([...perStep.values()].filter((rows) => rows.length !== 1)).toEqual([]);
    const resumeMs: number[] = [];
    const handoffMs: number[] = [];
    for (const id of victimIds) {
      const ev = events.filter((e) => e.executionId === id);
      expect(ev.map((e) => [e.name, e.leaseToken === token.get(id) ? 'victim' : 'peer'])).toEqual([['s0', 'victim'], ['s1', 'victim'], ['s2', 'peer']]);
      resumeMs.push(ev[2].atMs - termAt);
      handoffMs.push(ev[2].atMs - ev[1].atMs); // the victim's last commit → the peer's first
    }
    const handedBack = victim.linesWithMsg('execution handed back').map((l) => l.execution_id).sort();
    expect(handedBack).toEqual(victimIds);
    // s1 had at most 1 s left; the hand-off itself takes one poll of the peer.
    process.stdout.write(`[SIGTERM ${ctx.kind}] TTL 30 s: SIGTERM → peer's first commit ${resumeMs.join(', ')} ms; ` +
      `victim's last commit → peer's first ${handoffMs.join(', ')} ms\n`);
    expect(Math.max(...resumeMs)).toBeLessThan(1000 + 2000);
    expect(Math.max(...handoffMs)).toBeLessThan(2000);
    expect(survivor.linesWithMsg(/presumed dead/)).toEqual([]);
  }, 60_000);
});
