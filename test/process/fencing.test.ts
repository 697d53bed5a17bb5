/**
 * Fencing against a real zombie: a runner process frozen with SIGSTOP while inside a step loses
 * its leases to a peer; when it is thawed with SIGCONT its step bodies finish (the side table
 * shows the work it did under its old token) but it commits nothing: every event of those
 * executions after the takeover carries the peer's token. Once with a pause past the TTL (the
 * runner's local lease deadline stops it), once with the lease expired through the data while
 * its local deadline is still far away (the database fence itself turns it away).
 */
import type { Database } from '../../engine';
import { describeEachDb } from '../helpers/db';
import { dbNowMs, killAllRunners, pauseOutsideTransactions, spawnRunner, waitFor, type RunnerProcess } from '../helpers/processes';
import { createAttemptsTable, readAttempts, type AttemptRow } from './fixtures/attempts';
import { eventFacts, eventKeys, expectedStepEvents, groupBy } from './fixtures/facts';
import { startAll } from './fixtures/start';

const POLL_MS = 100;

async function insideStep(db: Database, ids: string[], step: string): Promise<AttemptRow[]> {
  let rows: AttemptRow[] = [];
  await waitFor(async () => {
    rows = await readAttempts(db, "step = ? AND phase = 'start' AND execution_id IN (?)", [step, ids]);
    return ids.every((id) => rows.some((r) => r.executionId === id));
  }, { timeoutMs: 15_000, what: `all of ${ids.join(', ')} inside step ${step}` });
  return rows;
}

/** The process running most of `starts`, its executions and their tokens. */
function pickZombie(runners: RunnerProcess[], starts: AttemptRow[]) {
  const byRunner = groupBy(starts, (r) => r.runnerId);
  const [zombie, peer] = [...runners].sort((a, b) => (byRunner.get(b.instanceId)?.length ?? 0) - (byRunner.get(a.instanceId)?.length ?? 0));
  const mine = byRunner.get(zombie.instanceId) ?? [];
  return { zombie, peer, ids: mine.map((r) => r.executionId).sort(), oldToken: new Map(mine.map((r) => [r.executionId, r.leaseToken])) };
}

async function allCompleted(db: Database, ids: string[]): Promise<boolean> {
  const rows = await db.sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM workflow_executions WHERE status = 'completed' AND id IN (?)", [ids]);
  return Number(rows[0].n) === ids.length;
}

describeEachDb(__filename, 'process fencing', (ctx) => {
  beforeAll(async () => createAttemptsTable(ctx.db));
  afterEach(killAllRunners);
  afterAll(killAllRunners);

  /**
   * Shared checks once the zombie was thawed and finished its step bodies: per lease token, the
   * commits of each of its executions (old token: s0 only, before the pause; new token: the rest).
   */
  async function expectFencedOff(prefix: string, allIds: string[], zombie: RunnerProcess, ids: string[], oldToken: Map<string, number>, pausedAt: number, resumedAt: number) {
    const events = await eventFacts(ctx.db, prefix);
    expect(eventKeys(events)).toEqual(expectedStepEvents(allIds, 3));
    const attempts = await readAttempts(ctx.db, 'execution_id LIKE ?', [`${prefix}%`]);
    for (const id of ids) {
      const old = oldToken.get(id) as number;
      const ev = events.filter((e) => e.executionId === id);
      const commitsPerToken = Object.fromEntries([...groupBy(ev, (e) => String(e.leaseToken))].map(([t, rows]) => [t, rows.map((r) => r.name)]));
      const newToken = Math.max(...ev.map((e) => e.leaseToken));
      expect(newToken).toBeGreaterThan(old);
      expect(commitsPerToken).toEqual({ [old]: ['s0'], [newToken]: ['s1', 's2'] });
      expect(ev.filter((e) => e.leaseToken === old && e.atMs >= pausedAt)).toEqual([]);
      // The zombie really worked after the takeover: it ended s1's body under its old token,
      // after the peer had committed s1 — and that result was never written.
      const peerS1 = ev.find((e) => e.name === 's1') as { atMs: number };
      const zombieEnd = attempts.find((a) => a.executionId === id && a.step === 's1' && a.phase === 'end' && a.runnerId === zombie.instanceId);
      expect(zombieEnd).toMatchObject({ leaseToken: old, pid: zombie.pid });
      expect((zombieEnd as AttemptRow).atMs).toBeGreaterThanOrEqual(resumedAt);
      expect((zombieEnd as AttemptRow).atMs).toBeGreaterThanOrEqual(peerS1.atMs);
    }
  }

  test('a runner paused past its TTL commits nothing after a peer took over its executions', async () => {
    const ttlMs = 2000;
    const common = { dbUrl: ctx.url, concurrency: 8, leaseTtl: `${ttlMs}ms`, pollInterval: `${POLL_MS}ms` };
    const runners = await Promise.all([spawnRunner({ ...common, instanceId: 'stop-a-00000001' }), spawnRunner({ ...common, instanceId: 'stop-b-00000002' })]);
    const allIds = Array.from({ length: 4 }, (_, i) => `stop-${i}`);
    await startAll(ctx.db, allIds, { steps: 3, sleepMs: 1500, sleepAt: [1] });
    const { zombie, peer, ids, oldToken } = pickZombie(runners, await insideStep(ctx.db, allIds, 's1'));

    await pauseOutsideTransactions(zombie, ctx.db);
    const pausedAt = await dbNowMs(ctx.db);
    await waitFor(() => allCompleted(ctx.db, ids), { timeoutMs: ttlMs + 15_000, what: 'the peer completing the paused runner\'s executions' })
      .catch((err: Error) => { throw new Error(`${err.message}\n${peer.dump()}`); });
    const resumedAt = await dbNowMs(ctx.db);
    expect(resumedAt - pausedAt).toBeGreaterThan(ttlMs);
    zombie.signal('SIGCONT');

    // Thawed, the zombie finishes its s1 bodies and tries to commit them; it must see the loss.
    await waitFor(() => ids.every((id) => zombie.logs.some((l) => l.execution_id === id && /lease lost/.test(String(l.msg)))), {
      timeoutMs: 10_000, what: 'the thawed runner to report each lease lost',
    }).catch((err: Error) => { throw new Error(`${err.message}\n${zombie.dump()}`); });
    await waitFor(async () => (await readAttempts(ctx.db, "runner_id = ? AND step = 's1' AND phase = 'end'", [zombie.instanceId])).length >= ids.length, {
      timeoutMs: 10_000, what: 'the thawed runner ending its s1 bodies',
    });
    await expectFencedOff('stop-', allIds, zombie, ids, oldToken, pausedAt, resumedAt);
    expect(peer.linesWithMsg(/presumed dead/).some((l) => l.dead_runner === zombie.instanceId)).toBe(true);
    const how = zombie.linesWithMsg('lease lost; local run aborted').map((l) => String(l.detail).replace(/^.*was lost: /, ''));
    process.stdout.write(`[SIGSTOP ${ctx.kind}] paused ${resumedAt - pausedAt} ms (TTL ${ttlMs}); the thawed runner saw: ${[...new Set(how)].join(' | ')}\n`);
  }, 60_000);

  test('a paused runner whose leases expired meanwhile is turned away by the database fence', async () => {
    // A long TTL: the zombie's local lease deadline (and its next heartbeat, 20 s away) stay in
    // the future, so the only thing that can stop its commit is the fenced statement itself.
    const common = { dbUrl: ctx.url, concurrency: 8, leaseTtl: '60s', pollInterval: `${POLL_MS}ms` };
    const runners = await Promise.all([spawnRunner({ ...common, instanceId: 'fence-a-00000001' }), spawnRunner({ ...common, instanceId: 'fence-b-00000002' })]);
    const allIds = Array.from({ length: 4 }, (_, i) => `fence-${i}`);
    await startAll(ctx.db, allIds, { steps: 3, sleepMs: 1500, sleepAt: [1], firstClaimOnly: true });
    const { zombie, peer, ids, oldToken } = pickZombie(runners, await insideStep(ctx.db, allIds, 's1'));

    await pauseOutsideTransactions(zombie, ctx.db);
    const pausedAt = await dbNowMs(ctx.db);
    // Time travel through the data: the zombie's leases expired (as if it had been gone a TTL).
    const past = ctx.db.sql.mysql ? 'UTC_TIMESTAMP(6) - INTERVAL 1 SECOND' : `${ctx.db.sql.now} - 1000`;
    await ctx.db.sql.run(`UPDATE distributed_locks SET expires_at = ${past} WHERE owner = ?`, [zombie.instanceId]);
    await waitFor(() => allCompleted(ctx.db, ids), { timeoutMs: 15_000, what: 'the peer completing the paused runner\'s executions' })
      .catch((err: Error) => { throw new Error(`${err.message}\n${peer.dump()}`); });
    const resumedAt = await dbNowMs(ctx.db);
    zombie.signal('SIGCONT');

    await waitFor(() => ids.every((id) => zombie.linesWithMsg('lease lost; local run aborted').some((l) => l.execution_id === id)), {
      timeoutMs: 10_000, what: 'the thawed runner to report each lease lost',
    }).catch((err: Error) => { throw new Error(`${err.message}\n${zombie.dump()}`); });
    for (const id of ids) {
      const line = zombie.linesWithMsg('lease lost; local run aborted').find((l) => l.execution_id === id);
      // The detail comes from the fence's re-read of the row: the database said no.
      expect({ id, detail: line?.detail, token: line?.lease_token }).toEqual({ id, detail: expect.stringMatching(/now token \d+, status completed/), token: oldToken.get(id) });
    }
    await expectFencedOff('fence-', allIds, zombie, ids, oldToken, pausedAt, resumedAt);
  }, 60_000);
});
