/**
 * Claims with a deep queue (issue 16, item 3). On the MySQL family a claim reads due rows in
 * (available_at, id) order through workflow_executions_due_idx and stops at its limit, so its
 * FOR UPDATE SKIP LOCKED locks only the rows it takes: a second runner claiming while the first
 * claim's transaction is still open gets the next rows instead of skipping the whole queue
 * (before the index the plan was a filesort that locked every due row). On both dialects the
 * claims take the oldest due executions first, each exactly once.
 */
import { randomUUID } from 'node:crypto';
import { describeEachDb } from '../helpers/db';
import { claimExecutions } from '../../engine/store/claims';
import type { SqlStore } from '../../engine/store/sql';

const QUEUED = 2000;
const WF = 'claim-depth';

describeEachDb(__filename, 'claims with a deep queue', (ctx) => {
  beforeAll(async () => {
    const store = ctx.db.sql;
    for (let from = 0; from < QUEUED; from += 500) {
      const rows: string[] = [];
      const params: unknown[] = [];
      for (let i = from; i < from + 500; i++) {
        rows.push(`(?, ?, 1, 1, 'queued', 'null', ${store.nowPlus}, 0, 0, 0, 0, ${store.now}, ${store.now})`);
        // Distinct, increasing due times in the past: row i is the i-th oldest.
        params.push(`cd-${String(i).padStart(5, '0')}-${randomUUID().slice(0, 8)}`, WF, store.ms(-600_000 + i * 10));
      }
      await store.run(
        'INSERT INTO workflow_executions (id, workflow_name, workflow_version, admitted, status, input, available_at, lease_token, next_seq, ' +
          `step_attempt, attempt, created_at, updated_at) VALUES ${rows.join(', ')}`, params);
    }
    if (store.mysql) await store.run('ANALYZE TABLE workflow_executions');
  });

  const claim = (store: SqlStore, owner: string, limit = 10) => claimExecutions(store, { owner, workflows: [WF], limit, leaseTtlMs: 60_000 });

  test('a claim whose transaction is still open does not hide the rest of the queue from another claimer', async () => {
    if (!ctx.db.sql.mysql) return; // SQLite: one writer at a time, claims never overlap
    const store = ctx.db.sql;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inside!: () => void;
    const claimed = new Promise<void>((r) => (inside = r));
    // The first claimer's transaction stays open (its row locks held) until the second has claimed.
    const slow: SqlStore = { ...store, tx: (fn) => store.tx(async (q) => { const out = await fn(q); inside(); await held; return out; }) };
    const first = claim(slow, 'claimer-a-00000000');
    await claimed;
    let second: Awaited<ReturnType<typeof claim>>;
    try {
      second = await claim(store, 'claimer-b-00000000');
    } finally {
      release();
    }
    const a = await first;
    expect(a).toHaveLength(10);
    expect(second).toHaveLength(10);
    expect(new Set([...a, ...second].map((e) => e.id)).size).toBe(20);
  });

  test('claims take the oldest due executions first, each once', async () => {
    const store = ctx.db.sql;
    const seen = new Set<string>();
    let previous = '';
    for (let i = 0; i < 5; i++) {
      const got = await claim(store, `claimer-c-0000000${i}`, 25);
      expect(got).toHaveLength(25);
      for (const e of got) {
        expect(seen.has(e.id)).toBe(false);
        seen.add(e.id);
      }
      const ids = got.map((e) => e.id).sort();
      expect(ids[0] > previous).toBe(true); // ids sort like their due times (cd-00000-…)
      previous = ids[ids.length - 1];
    }
  });
});
