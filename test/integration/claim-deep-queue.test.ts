/**
 * The claim's read with a deep queue: one ordered read per claimable status (claims.ts), so a
 * claim takes the oldest due rows across 'queued' and 'waiting', never a running, future, other
 * namespace's or other workflow's row; and on MySQL it locks about `limit` rows however many are
 * due, so a second runner's claim running meanwhile still gets rows.
 */
import { describeEachDb } from '../helpers/db';
import { claimExecutions } from '../../engine/store/claims';
import type { SqlRunner, SqlStore } from '../../engine/store/sql';

const WF = 'dq-probe';
const mysqlOnly = (kind: string) => (kind === 'mysql' ? test : test.skip);

/** Insert executions as raw rows: [id, status, due in ms from now (negative: overdue), namespace, workflow]. */
async function insertRows(store: SqlStore, rows: readonly [string, string, number, string?, string?][]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const params: unknown[] = [];
    const values = chunk.map(([id, status, dueInMs, namespace = 'default', workflow = WF]) => {
      params.push(id, workflow, namespace, status, store.ms(dueInMs));
      return `(?, ?, 1, 1, ?, ?, 'null', ${store.nowPlus}, 0, 0, 0, 0, ${store.now}, ${store.now})`;
    });
    await store.run(
      'INSERT INTO workflow_executions (id, workflow_name, workflow_version, admitted, namespace, status, input, available_at, lease_token, next_seq, ' +
        `step_attempt, attempt, created_at, updated_at) VALUES ${values.join(', ')}`,
      params,
    );
  }
}

/** A store whose claim transaction stops after its first read until `release()`: a claim held open. */
function heldStore(store: SqlStore): { store: SqlStore; paused: Promise<number>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let paused!: (connectionId: number) => void;
  const pausedP = new Promise<number>((r) => { paused = r; });
  const held: SqlStore = Object.create(store);
  Object.defineProperty(held, 'tx', {
    value: <T>(fn: (q: SqlRunner) => Promise<T>) => store.tx(async (q) => {
      const [{ c }] = await q.all<{ c: unknown }>('SELECT CONNECTION_ID() AS c');
      let first = true;
      return fn({
        all: async <R>(sql: string, params?: unknown[]) => {
          const rows = await q.all<R>(sql, params);
          if (first) { first = false; paused(Number(c)); await gate; }
          return rows;
        },
        run: (sql, params) => q.run(sql, params),
      });
    }),
  });
  return { store: held, paused: pausedP, release };
}

describeEachDb(__filename, 'claim with a deep queue', (ctx) => {
  afterEach(async () => {
    await ctx.db.sql.run('DELETE FROM workflow_executions');
    await ctx.db.sql.run('DELETE FROM distributed_locks');
  });

  test('takes the oldest due rows across queued and waiting; never running, future, other namespaces or workflows', async () => {
    const store = ctx.db.sql;
    await insertRows(store, [
      ['q-5', 'queued', -5000], ['w-4', 'waiting', -4000], ['q-3', 'queued', -3000], ['w-2', 'waiting', -2000],
      ['r-9', 'running', -9000], ['c-8', 'completed', -8000], ['q-future', 'queued', 60_000], ['w-future', 'waiting', 60_000],
      ['ns-9', 'queued', -9000, 'other'], ['wf-9', 'queued', -9000, 'default', 'dq-other'],
    ]);
    const first = await claimExecutions(store, { owner: 'dq-a', workflows: [WF], limit: 3, leaseTtlMs: 60_000 });
    expect(first.map((e) => e.id)).toEqual(['q-5', 'w-4', 'q-3']);
    expect(first.map((e) => e.claimedFromWaiting)).toEqual([false, true, false]);
    const rest = await claimExecutions(store, { owner: 'dq-a', workflows: [WF], limit: 10, leaseTtlMs: 60_000 });
    expect(rest.map((e) => e.id)).toEqual(['w-2']);
    expect(await claimExecutions(store, { owner: 'dq-a', workflows: [WF], limit: 10, leaseTtlMs: 60_000 })).toEqual([]);
    const other = await claimExecutions(store, { owner: 'dq-a', workflows: [WF], limit: 10, leaseTtlMs: 60_000, namespace: 'other' });
    expect(other.map((e) => e.id)).toEqual(['ns-9']);
  });

  test('equal due times are taken in id order, whatever their status', async () => {
    const store = ctx.db.sql;
    await insertRows(store, [['b', 'waiting', -1000], ['a', 'queued', -1000], ['d', 'queued', -1000], ['c', 'waiting', -1000]]);
    const got = await claimExecutions(store, { owner: 'dq-a', workflows: [WF], limit: 4, leaseTtlMs: 60_000 });
    // One statement's clock: all four rows share one available_at, so the order is by id.
    expect(got.map((e) => e.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  mysqlOnly(ctx.kind)('with 2,000 due rows an open claim locks about `limit` rows and a concurrent claim still gets rows', async () => {
    const store = ctx.db.sql;
    const rows: [string, string, number][] = [];
    for (let i = 0; i < 2000; i++) rows.push([`dq-${String(i).padStart(5, '0')}`, i % 4 === 0 ? 'waiting' : 'queued', -60_000 + i]);
    for (let i = 0; i < 20; i++) rows.push([`dq-run-${i}`, 'running', -120_000]);
    await insertRows(store, rows);
    const limit = 10;
    const a = heldStore(store);
    const claimA = claimExecutions(a.store, { owner: 'dq-a', workflows: [WF], limit, leaseTtlMs: 60_000 });
    try {
      const connectionA = await a.paused;
      // INNODB_TRX is a cache refreshed at most every 100 ms: poll (bounded) until A's row shows its locks.
      let locked = 0;
      for (const deadline = Date.now() + 30_000; locked === 0 && Date.now() < deadline;) {
        const trx = await store.all<{ n: unknown }>('SELECT trx_rows_locked AS n FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?', [connectionA]);
        locked = Number(trx[0]?.n ?? 0);
        if (locked === 0) await new Promise((r) => setTimeout(r, 100));
      }
      // One secondary-index record and one clustered record per row read: 2 × limit per part at most.
      // (A single `status IN (…)` read sorted every due row and held their locks: 2,000 here.)
      expect(locked).toBeGreaterThan(0);
      expect(locked).toBeLessThanOrEqual(4 * limit);
      const b = await claimExecutions(store, { owner: 'dq-b', workflows: [WF], limit, leaseTtlMs: 60_000 });
      expect(b).toHaveLength(limit);
      a.release();
      const got = await claimA;
      expect(got.map((e) => e.id)).toEqual(rows.slice(0, limit).map((r) => r[0]));
      const mine = new Set(got.map((e) => e.id));
      expect(b.filter((e) => mine.has(e.id))).toEqual([]);
      // B skipped what A holds: A's ten plus the rows its other part read and did not take (up
      // to `limit` more, held until A commits). Once both committed, those are the oldest left.
      const taken = new Set([...mine, ...b.map((e) => e.id)]);
      expect(b.every((e) => e.id.startsWith('dq-0'))).toBe(true);
      const next = await claimExecutions(store, { owner: 'dq-c', workflows: [WF], limit, leaseTtlMs: 60_000 });
      expect(next.map((e) => e.id)).toEqual(rows.filter((r) => r[1] !== 'running' && !taken.has(r[0])).slice(0, limit).map((r) => r[0]));
    } finally {
      a.release();
      await claimA.catch(() => undefined);
    }
  }, 60_000);
});
