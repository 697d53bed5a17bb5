/**
 * Transactional steps under real process faults (MariaDB/MySQL only: SQLite refuses them).
 * 1. kill -9 of runner processes at random moments while they run transactional steps over 60
 *    executions: every step's business row exists exactly once, a step checkpoint exists iff its
 *    business row does, and the follow-up each chain enqueues (outbox) was started exactly once.
 * 2. A zombie (SIGSTOP inside the transaction, after its business write, past the TTL; a peer
 *    takes over and commits; then SIGCONT) cannot commit its business write.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { createClient, openDatabase, type Database } from '../../engine';
import { freshDbUrl, testDialects } from '../helpers/db';
import { waitFor } from '../helpers/processes';
import { openAppOrm } from '../helpers/app-orm';

const ROOT = resolve(__dirname, '../..');
const FIXTURE = join(ROOT, 'test/process/fixtures/tx-runner.ts');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One fixture runner process (`node --import tsx`: the pid is the runner itself). */
class TxRunner {
  readonly proc: ChildProcess;
  open = 0;
  readonly messages: { type: string; [k: string]: unknown }[] = [];
  readonly exited: Promise<void>;
  stderr = '';
  constructor(readonly id: string, url: string, env: Record<string, string> = {}) {
    const penv: Record<string, string> = { ...(process.env as Record<string, string>), LEASEFLOW_DB_URL: url, TX_INSTANCE_ID: id, ...env };
    delete penv.JEST_WORKER_ID;
    this.proc = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { cwd: ROOT, env: penv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.proc.stderr?.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; });
    this.proc.on('message', (m: { type: string; open?: number }) => {
      this.messages.push(m);
      if (m.type === 'tx') this.open += m.open ?? 0;
    });
    this.exited = new Promise((r) => this.proc.once('exit', () => r()));
    all.add(this);
  }
  async ready(): Promise<this> {
    await waitFor(() => this.messages.some((m) => m.type === 'ready'), { timeoutMs: 60_000, what: `${this.id} ready (stderr: ${this.stderr})` });
    return this;
  }
  get alive(): boolean { return this.proc.exitCode === null && this.proc.signalCode === null; }
  signal(sig: NodeJS.Signals): void { if (this.alive) this.proc.kill(sig); }
}
const all = new Set<TxRunner>();
async function killAll(): Promise<void> {
  for (const r of all) { r.signal('SIGCONT'); r.signal('SIGKILL'); }
  await Promise.all([...all].map((r) => r.exited));
  all.clear();
}
process.once('exit', () => { for (const r of all) try { r.proc.kill('SIGKILL'); } catch { /* gone */ } });

const maybe = testDialects().includes('mysql') ? describe : describe.skip;

maybe('transactional steps under kill -9 and SIGSTOP [mysql]', () => {
  let url: string;
  let db: Database;
  let orm: MikroORM;
  beforeAll(async () => {
    url = await freshDbUrl('mysql', 'transactional_crash');
    db = await openDatabase(url);
    await db.migrate();
    orm = await openAppOrm(url);
  });
  afterEach(killAll);
  afterAll(async () => {
    await killAll();
    await orm?.close(true);
    await db?.close();
  });

  test('kill -9 at random points inside transactional steps: each business write exactly once, checkpoint iff business write', async () => {
    const N = 60;
    const STEPS = 4;
    const client = await createClient({ db });
    let n = 0;
    const spawnOne = () => new TxRunner(`txk-${String(++n).padStart(2, '0')}-0000000`, url, { TX_STEP_SLEEP_MS: '250', TX_CONCURRENCY: '4' });
    try {
      const handles = await Promise.all(Array.from({ length: N }, (_, i) => client.start('tx-chain', STEPS, { id: `chain-${i}` })));
      let runners: TxRunner[] = [spawnOne(), spawnOne()];
      await Promise.all(runners.map((r) => r.ready()));
      const kills = { total: 0, insideTx: 0 };
      const finished = async () => Number((await db.sql.all<{ n: unknown }>("SELECT COUNT(*) AS n FROM workflow_executions WHERE id LIKE 'chain-%' AND status = 'completed'"))[0].n);
      const ready = () => runners.filter((r) => r.alive && r.messages.some((m) => m.type === 'ready'));
      while (kills.total < 12 && (await finished()) < N) {
        await sleep(200 + Math.random() * 400);
        // Prefer a runner whose transaction's function is running right now (up to 1.5 s).
        let victim: TxRunner | undefined;
        for (let waited = 0; !victim && waited < 1500; waited += 20) {
          victim = ready().find((r) => r.open > 0);
          if (!victim) await sleep(20);
        }
        victim ??= ready()[Math.floor(Math.random() * ready().length)];
        if (!victim) { await waitFor(() => ready().length > 0, { timeoutMs: 60_000, what: 'a ready runner' }); continue; }
        if (victim.open > 0) kills.insideTx++;
        victim.signal('SIGKILL');
        kills.total++;
        await victim.exited;
        runners = [...runners.filter((r) => r !== victim), spawnOne()]; // its replacement starts in the background
        // Right after each kill, in ONE statement (one read view) while the survivor commits:
        // no business row without its checkpoint and no checkpoint without its business row.
        const [orphans] = await db.sql.all<{ rows: unknown; cps: unknown }>(
          "SELECT (SELECT COUNT(*) FROM app_ledger l WHERE l.execution_id LIKE 'chain-%' AND NOT EXISTS (SELECT 1 FROM workflow_events e " +
          "WHERE e.execution_id = l.execution_id AND e.name = l.step AND e.kind = 'step' AND e.status = 'completed')) AS `rows`, " +
          "(SELECT COUNT(*) FROM workflow_events e WHERE e.execution_id LIKE 'chain-%' AND e.kind = 'step' AND e.status = 'completed' AND NOT EXISTS " +
          '(SELECT 1 FROM app_ledger l WHERE l.execution_id = e.execution_id AND l.step = e.name)) AS cps');
        expect([Number(orphans.rows), Number(orphans.cps)]).toEqual([0, 0]);
      }
      await Promise.all(runners.filter((r) => r.alive).map((r) => r.ready()));
      const outputs = await Promise.all(handles.map((h) => h.result({ timeout: '150s' })));
      expect(outputs).toEqual(Array.from({ length: N }, () => STEPS));
      const business: { execution_id: string; step: string; n: unknown }[] = await orm.em.getConnection().execute(
        "SELECT execution_id, step, COUNT(*) AS n FROM app_ledger WHERE execution_id LIKE 'chain-%' GROUP BY execution_id, step");
      const checkpoints = await db.sql.all<{ execution_id: string; name: string }>(
        "SELECT execution_id, name FROM workflow_events WHERE execution_id LIKE 'chain-%' AND kind = 'step' AND status = 'completed'");
      expect(business.filter((r) => Number(r.n) !== 1)).toEqual([]); // exactly one application per step
      expect(business).toHaveLength(N * STEPS);
      const key = (e: string, s: string) => `${e}/${s}`;
      expect(new Set(checkpoints.map((c) => key(c.execution_id, c.name)))).toEqual(new Set(business.map((b) => key(b.execution_id, b.step))));
      // Outbox under kill -9: exactly one follow-up start per chain (ids are fresh UUIDs per attempt).
      const after = await db.sql.all<{ input: string; n: unknown }>("SELECT input, COUNT(*) AS n FROM workflow_executions WHERE workflow_name = 'tx-after' GROUP BY input");
      expect(after.filter((r) => Number(r.n) !== 1)).toEqual([]);
      expect(after).toHaveLength(N);
      expect(kills.total).toBeGreaterThanOrEqual(6);
      expect(kills.insideTx).toBeGreaterThanOrEqual(3);
      // Reported in the notes: how many kills landed while a transaction's function was running.
      process.stdout.write(`transactional-crash: ${kills.total} kills, ${kills.insideTx} inside a transaction\n`);
    } finally {
      await client.close();
    }
  }, 240_000);

  test('a zombie (SIGSTOP inside its transaction past the TTL, then SIGCONT) cannot commit its business write', async () => {
    const client = await createClient({ db });
    try {
      const h = await client.start('tx-zombie', null, { id: 'zombie-1' });
      const a = await new TxRunner('txz-a-00000001', url, { TX_ZOMBIE_SLEEP_MS: '1500' }).ready();
      await waitFor(() => a.messages.some((m) => m.type === 'in-tx'), { timeoutMs: 60_000, what: 'A inside the transaction' });
      a.signal('SIGSTOP'); // after its business write was flushed, before its commit
      const [{ lease_token: frozenToken }] = await db.sql.all<{ lease_token: unknown }>("SELECT lease_token FROM workflow_executions WHERE id = 'zombie-1'");
      const b = await new TxRunner('txz-b-00000002', url).ready();
      expect(await h.result({ timeout: '90s' })).toBe('txz-b-00000002');
      a.signal('SIGCONT');
      await waitFor(() => a.messages.some((m) => m.type === 'fn-done'), { timeoutMs: 30_000, what: 'A resumed its function' });
      await waitFor(() => a.messages.some((m) => m.type === 'lease:lost'), { timeoutMs: 30_000, what: 'A saw its lease lost' });
      const rows = await orm.em.getConnection().execute<{ n: unknown }[]>("SELECT COUNT(*) AS n FROM app_ledger WHERE execution_id = 'zombie-1'");
      expect(Number(rows[0].n)).toBe(1); // only B's write
      const [cp] = await db.sql.all<{ lease_token: unknown }>("SELECT lease_token FROM workflow_events WHERE execution_id = 'zombie-1' AND name = 'pay'");
      expect(Number(cp.lease_token)).toBeGreaterThan(Number(frozenToken));
      expect(b.alive).toBe(true);
    } finally {
      await client.close();
    }
  }, 180_000);
});
