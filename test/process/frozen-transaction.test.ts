/**
 * A runner frozen inside its own transaction (SIGSTOP while it holds row locks) must not stop
 * failover: its peer takes over every execution whose rows are not locked within the lease TTL
 * plus a poll, logs the stuck one with its lease owner, and takes that one over too once the
 * frozen transaction ends (the process dies; the server's idle_transaction_timeout is tested in
 * test/integration/session-timeouts.test.ts). MariaDB/MySQL only: on SQLite
 * a frozen writer holds the file's single write lock, so every peer's write waits out its
 * busy_timeout (10 s) and fails until the process dies or resumes (documented in the README).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor } from '../helpers/processes';
import { createAttemptsTable } from './fixtures/attempts';
import { executionFacts } from './fixtures/facts';
import { startAll } from './fixtures/start';

const ROOT = resolve(__dirname, '../..');

/** Spawn the lock holder (plain node + tsx, so SIGSTOP/SIGKILL reach it) and wait for `locked`. */
async function holdLocks(url: string, executionId: string, idleS: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/chaos/hold-locks.ts', url, executionId, String(idleS)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c));
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`lock holder not ready: ${err}`)), 30_000);
    child.stdout?.setEncoding('utf8').on('data', (c: string) => { if (c.includes('locked')) { clearTimeout(timer); res(); } });
    child.once('exit', (code) => { clearTimeout(timer); rej(new Error(`lock holder exited ${code}: ${err}`)); });
  });
  return child;
}

describeEachDb(__filename, 'frozen transaction', (ctx) => {
  let holder: ChildProcess | undefined;
  beforeAll(async () => createAttemptsTable(ctx.db));
  afterAll(async () => {
    if (holder?.pid) { try { process.kill(holder.pid, 'SIGKILL'); } catch { /* gone */ } }
    await killAllRunners();
  });

  (ctx.kind === 'mysql' ? test : test.skip)('a runner frozen with row locks held: the peer takes over its other executions within TTL + poll and the locked one once the lock holder dies', async () => {
    const ttlMs = 2000;
    const common = { dbUrl: ctx.url, concurrency: 8, leaseTtl: `${ttlMs}ms`, pollInterval: '100ms' };
    const victim = await spawnRunner({ ...common, instanceId: 'frz-a-00000001' });
    const ids = Array.from({ length: 6 }, (_, i) => `frz-${i}`);
    await startAll(ctx.db, ids, { steps: 2, sleepMs: 60_000, sleepAt: [0], firstClaimOnly: true });
    await waitFor(async () => (await executionFacts(ctx.db, 'frz-')).filter((e) => e.status === 'running').length === ids.length,
      { timeoutMs: 20_000, what: 'all frz executions running on the victim' });
    // The victim freezes; a process standing for its open transaction keeps frz-0's rows locked.
    victim.signal('SIGSTOP');
    const idleS = 60; // longer than the test: here the holder is killed
    holder = await holdLocks(ctx.url, 'frz-0', idleS);
    const peer = await spawnRunner({ ...common, instanceId: 'frz-b-00000002' });
    const peerAt = Date.now();

    const others = ids.slice(1);
    await waitFor(async () => (await executionFacts(ctx.db, 'frz-')).filter((e) => others.includes(e.id) && e.status === 'completed').length === others.length,
      { timeoutMs: 15_000, what: 'the unlocked executions completed by the peer' }).catch((err: Error) => { throw new Error(`${err.message}\n${peer.dump()}`); });
    const othersMs = Date.now() - peerAt;
    const locked = (await executionFacts(ctx.db, "frz-0")).find((e) => e.id === "frz-0");
    expect(locked?.status).toBe('running'); // its rows are still locked: skipped, not waited on
    const stuck = await peer.waitForLog((l) => l.msg === 'expired lease skipped: its rows are locked by another transaction', 15_000, 'the stuck lease logged');
    expect(stuck).toMatchObject({ execution_id: 'frz-0', lease_owner: victim.instanceId, locked_row: 'execution' });
    expect(Array.isArray(stuck.long_transactions) && (stuck.long_transactions as unknown[]).length).toBeGreaterThan(0);

    // The frozen holder dies (or the server drops its idle transaction, tested in session-timeouts.test.ts):
    // the row lock goes with it and the peer takes frz-0 over too.
    if (holder.pid) process.kill(holder.pid, 'SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => (await executionFacts(ctx.db, 'frz-0')).find((e) => e.id === 'frz-0')?.status === 'completed',
      { timeoutMs: 15_000, what: 'frz-0 completed after the lock holder died' }).catch((err: Error) => { throw new Error(`${err.message}\n${peer.dump()}`); });
    const lockedMs = Date.now() - killedAt;
    process.stdout.write(`[frozen transaction ${ctx.kind}] TTL ${ttlMs} ms: peer start → unlocked executions completed in ${othersMs} ms; ` +
      `holder killed → the locked one completed in ${lockedMs} ms\n`);
    // Bound: the lease TTL + poll + replay, with margin for a loaded machine.
    expect(othersMs).toBeLessThan(ttlMs + 5000);
    expect(lockedMs).toBeLessThan(ttlMs + 5000);
  }, 90_000);
});
