/**
 * The engine on a 3-node MariaDB Galera cluster (issue 15, item 2), every node a writer
 * (multi-writer: each handle connects to one node directly). A stale lease holder writing
 * through node 2 after its lease moved through node 1 is refused — also when its transaction
 * was already open when the lease moved (certification aborts it at COMMIT, 1213, and the retry
 * finds the fence gone); a 1213 at COMMIT is retried as a whole transaction; migrations racing on
 * three nodes serialise without GET_LOCK; unusable settings are a GaleraConfigError.
 * Skipped loudly when no cluster answers (start one: bash test/helpers/galera.sh up).
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createClient, defineWorkflow, GaleraConfigError, LeaseLostError, openDatabase, type Database } from '../../engine';
import { claimExecutions } from '../../engine/store/claims';
import { releaseExpiredLeases } from '../../engine/store/expired-leases';
import { commitFenced, insertEventsFenced } from '../../engine/store/transitions';
import { galeraProblems } from '../../engine/store/galera';
import type { Lease, NewEvent } from '../../engine/store/types';
import { describeOnCluster, freshGaleraDb, nodeUrl } from '../helpers/galera';

const ROOT = resolve(__dirname, '../..');
const wf = defineWorkflow({ name: 'galera-wf' }, async () => 1);
const step = (seq: number): NewEvent => ({ seq, kind: 'step', name: `s${seq}`, status: 'completed', payload: '1', attempt: 1 });

describeOnCluster()('engine on Galera (multi-writer)', () => {
  let dbName: string;
  let n1: Database;
  let n2: Database;

  beforeAll(async () => {
    dbName = await freshGaleraDb('galera');
    n1 = await openDatabase(nodeUrl(0, dbName));
    await n1.migrate();
    n2 = await openDatabase(nodeUrl(1, dbName));
  }, 120_000);
  afterAll(async () => {
    await n1?.close();
    await n2?.close();
  });

  /** Start `id` and claim it through `db` for `owner`: the lease. */
  async function startAndClaim(db: Database, id: string, owner: string): Promise<Lease> {
    const client = await createClient({ db: n1 });
    await client.start(wf, undefined, { id });
    await client.close();
    const [c] = await claimExecutions(db.sql, { owner, workflows: ['galera-wf'], limit: 1, leaseTtlMs: 60_000 });
    expect(c?.id).toBe(id);
    return { executionId: id, token: c.leaseToken, owner };
  }

  /** The lease moves through node 1: expired, released by a watchdog, claimed by `owner`. */
  async function moveLease(id: string, owner: string): Promise<number> {
    await n1.sql.run("UPDATE distributed_locks SET expires_at = UTC_TIMESTAMP(6) - INTERVAL 1 SECOND WHERE lock_key = ?", [`workflow_execution:${id}`]);
    const out = await releaseExpiredLeases(n1.sql);
    expect(out.released.map((r) => r.executionId)).toContain(id);
    const [c] = await claimExecutions(n1.sql, { owner, workflows: ['galera-wf'], limit: 1, leaseTtlMs: 60_000 });
    expect(c?.id).toBe(id);
    return c.leaseToken;
  }

  const eventsOf = async (id: string) => (await n1.sql.all<{ seq: unknown; lease_token: unknown }>(
    'SELECT seq, lease_token FROM workflow_events WHERE execution_id = ? ORDER BY seq', [id])).map((r) => [Number(r.seq), Number(r.lease_token)]);

  test('a stale holder writing through node 2 after its lease moved through node 1 is refused, on both commit paths', async () => {
    const stale = await startAndClaim(n2, 'g-stale', 'old-runner');
    const fresh = await moveLease('g-stale', 'new-runner');
    expect(fresh).toBeGreaterThan(stale.token);
    await expect(commitFenced(n2.sql, stale, { events: [step(0)], nextSeq: 1 })).rejects.toBeInstanceOf(LeaseLostError);
    await expect(commitFenced(n2.sql, stale, { events: [step(0)], nextSeq: 1, finish: { status: 'completed', output: '1', error: null } }))
      .rejects.toBeInstanceOf(LeaseLostError);
    expect(await eventsOf('g-stale')).toEqual([]);
    // The new holder commits through node 1.
    await commitFenced(n1.sql, { executionId: 'g-stale', token: fresh, owner: 'new-runner' }, { events: [step(0)], nextSeq: 1 });
    expect(await eventsOf('g-stale')).toEqual([[0, fresh]]);
  }, 60_000);

  test('a stale checkpoint already in flight on node 2 when the lease moves through node 1 is aborted by certification and not retried into a commit', async () => {
    const stale = await startAndClaim(n2, 'g-race', 'old-runner');
    let attempts = 0;
    let fresh = 0;
    const failed = await n2.sql.tx(async (q) => {
      attempts++;
      // The fence write passes on node 2 (its token still holds there) …
      const out = await insertEventsFenced(q, n2.sql, [{ lease: stale, events: [step(0)], ignoreCancel: false }]);
      // … and, before this transaction commits, the lease moves through node 1.
      if (attempts === 1) fresh = await moveLease('g-race', 'new-runner');
      return out;
    });
    expect(attempts).toBe(2); // the first attempt died with 1213 (certification), the whole transaction ran again
    expect(failed).toEqual([stale]);
    expect(await eventsOf('g-race')).toEqual([]);
    const [row] = await n1.sql.all<{ lease_token: unknown; runner_id: unknown }>('SELECT lease_token, runner_id FROM workflow_executions WHERE id = ?', ['g-race']);
    expect({ token: Number(row.lease_token), runner: row.runner_id }).toEqual({ token: fresh, runner: 'new-runner' });
  }, 60_000);

  test('a stale checkpoint that commits on node 2 while node 2 still applies the claim is refused by certification, where a locking read would let it through', async () => {
    // Ballast: a write set node 2 needs about a second to apply, so the claim queues behind it.
    await n1.sql.run('CREATE TABLE IF NOT EXISTS galera_ballast (id INT PRIMARY KEY, v INT NOT NULL) ENGINE = InnoDB');
    if (Number((await n1.sql.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM galera_ballast'))[0].n) === 0) {
      await n1.sql.run('INSERT INTO galera_ballast SELECT seq, 0 FROM seq_1_to_200000');
    }
    const stale = await startAndClaim(n2, 'g-lag', 'old-runner');
    let attempts = 0;
    let fresh = 0;
    const failed = await n2.sql.tx(async (q) => {
      attempts++;
      const out = await insertEventsFenced(q, n2.sql, [{ lease: stale, events: [step(0)], ignoreCancel: false }]);
      if (attempts === 1) {
        await n1.sql.run('UPDATE galera_ballast SET v = v + 1');
        fresh = await moveLease('g-lag', 'new-runner'); // ordered before our commit, not yet applied on node 2
      }
      return out;
    });
    expect(failed).toEqual([stale]);
    expect(attempts).toBe(2);
    expect(await eventsOf('g-lag')).toEqual([]);
    const [row] = await n2.sql.all<{ lease_token: unknown }>('SELECT lease_token FROM workflow_executions WHERE id = ?', ['g-lag']);
    expect(Number(row.lease_token)).toBe(fresh);
  }, 120_000);

  test('a transaction that fails with 1213 at COMMIT (a conflicting write committed on another node) is retried whole', async () => {
    await n1.sql.run("INSERT INTO workflow_templates (template_key, next_seq, created_at) VALUES ('g-1213', 0, UTC_TIMESTAMP(6))");
    const other = await openDatabase(nodeUrl(2, dbName), { poolMax: 1 });
    let attempts = 0;
    try {
      await n2.sql.tx(async (q) => {
        attempts++;
        await q.run("UPDATE workflow_templates SET next_seq = next_seq + 10 WHERE template_key = 'g-1213'");
        // A second connection, on node 3, commits a write of the same row before we commit.
        if (attempts === 1) await other.sql.run("UPDATE workflow_templates SET next_seq = next_seq + 1 WHERE template_key = 'g-1213'");
      });
    } finally {
      await other.close();
    }
    expect(attempts).toBe(2);
    const [row] = await n1.sql.all<{ n: unknown }>("SELECT next_seq AS n FROM workflow_templates WHERE template_key = 'g-1213'");
    expect(Number(row.n)).toBe(11);
  }, 60_000);

  test('three processes migrating one fresh database through three different nodes at once all succeed, without GET_LOCK', async () => {
    const name = await freshGaleraDb('galera_mig');
    const urls = [0, 1, 2].map((i) => nodeUrl(i, name));
    const children = urls.map((url) => startMigrateChild(url));
    await Promise.all(children.map((c) => c.waitFor('ready 0')));
    for (const c of children) c.child.stdin?.write('go\n');
    const outcomes = await Promise.all(children.map((c) => c.waitFor('done 0')));
    expect(outcomes).toEqual(['done 0 ok', 'done 0 ok', 'done 0 ok']);
    const db = await openDatabase(urls[1]);
    try {
      expect(await db.pendingMigrations()).toEqual([]);
      const rows = await db.sql.all<{ name: string; n: unknown }>('SELECT name, COUNT(*) AS n FROM leaseflow_migrations GROUP BY name HAVING COUNT(*) > 1');
      expect(rows).toEqual([]);
      // The engine never asked for a named lock.
      expect(await db.sql.all("SELECT 1 FROM information_schema.METADATA_LOCK_INFO WHERE LOCK_TYPE = 'User lock'").catch(() => [])).toEqual([]);
    } finally {
      await db.close();
    }
  }, 180_000);

  test('settings leaseflow cannot run on are one GaleraConfigError naming each', async () => {
    await n1.sql.run('CREATE TABLE IF NOT EXISTS app_no_pk (a INT) ENGINE = InnoDB');
    try {
      const err = await openDatabase(nodeUrl(1, dbName)).then(async (db) => { await db.close(); return null; }, (e: unknown) => e);
      expect(err).toBeInstanceOf(GaleraConfigError);
      expect((err as GaleraConfigError).problems).toEqual(['tables without a primary key: app_no_pk (Galera certifies rows by key)']);
    } finally {
      await n1.sql.run('DROP TABLE app_no_pk');
    }
    // Every other check, on facts as a server would report them.
    expect(galeraProblems({ galera: true, binlogFormat: 'STATEMENT', ready: false, clusterStatus: 'non-Primary', autoincLockMode: 1, withoutPrimaryKey: [], notInnoDb: ['t'] }))
      .toEqual([
        'binlog_format is STATEMENT (set binlog_format=ROW)',
        'node is not ready in the Primary component (wsrep_ready=OFF, wsrep_cluster_status=non-Primary)',
        'innodb_autoinc_lock_mode is 1 (set it to 2)',
        'tables not on InnoDB: t (Galera replicates InnoDB only)',
      ]);
    expect(galeraProblems({ galera: false, binlogFormat: 'MIXED', ready: false, clusterStatus: '', autoincLockMode: 1, withoutPrimaryKey: ['x'], notInnoDb: [] })).toEqual([]);
    // Sessions wait for causality on reads, updates/deletes and inserts (bits 1, 2, 4).
    const [w] = await n2.sql.all<{ w: unknown }>('SELECT @@session.wsrep_sync_wait AS w');
    expect(Number(w.w) & 7).toBe(7);
  }, 60_000);
});

/** A test/helpers/migrate-child.ts process and its output lines. */
function startMigrateChild(url: string) {
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'test/helpers/migrate-child.ts'), url], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    child,
    async waitFor(prefix: string): Promise<string> {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const hit = lines.find((l) => l.startsWith(prefix));
        if (hit) return hit;
        if (child.exitCode !== null && !lines.some((l) => l.startsWith(prefix))) throw new Error(`migrate-child exited ${child.exitCode}: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`no "${prefix}" in 120 s: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
