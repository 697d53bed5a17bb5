/**
 * Bulk seeding of finished executions and their history for the scale section: multi-row
 * INSERT … SELECT from a numbers CTE (digits cross-joined), 100,000 rows per statement. Ids
 * look like UUIDs spread evenly over the key space (the first 8 hex digits grow with the row
 * number), so seeding appends in key order (fast) while the random UUIDs of later executions
 * land among them as they would in production.
 */
import type { Monitor } from './server';

/** Rows per statement (10^5: five digits cross-joined). */
const CHUNK = 100_000;

const DIGITS = 'WITH d AS (SELECT 0 AS v UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 ' +
  'UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9), ' +
  'n AS (SELECT ? + a.v + 10 * b.v + 100 * c.v + 1000 * e.v + 10000 * f.v AS i FROM d a, d b, d c, d e, d f)';

/** The id of seeded row i of `total`. */
function idExpr(total: number): string {
  return `CONCAT(LPAD(LOWER(HEX(FLOOR(i * ${Math.floor(0xffffffff / total)}))), 8, '0'), '-5eed-4000-8000-', LPAD(i, 12, '0'))`;
}

/** Seed finished executions [from, to) of `total` (with `events` history events each) as `workflow`. */
export async function seedFinished(monitor: Monitor, o: { from: number; to: number; total: number; events: number; workflow: string }): Promise<void> {
  const id = idExpr(o.total);
  const seqs = Array.from({ length: o.events }, (_, s) => (s === 0 ? 'SELECT 0 AS seq' : `SELECT ${s}`)).join(' UNION ALL ');
  for (let start = o.from - (o.from % CHUNK); start < o.to; start += CHUNK) {
    const lo = Math.max(start, o.from);
    const hi = Math.min(start + CHUNK, o.to);
    const ts = `(UTC_TIMESTAMP(6) - INTERVAL (${o.total} - i) SECOND)`;
    await monitor.query(
      'INSERT INTO workflow_executions (id, workflow_name, workflow_version, admitted, status, input, output, lease_token, next_seq, ' +
        'step_attempt, attempt, created_at, updated_at, started_at, finished_at) ' +
        `${DIGITS} SELECT ${id}, ?, 1, 0, 'completed', '{"steps":${o.events}}', '${o.events}', 1, ${o.events}, 0, 1, ${ts}, ` +
        `${ts} + INTERVAL 1 SECOND, ${ts}, ${ts} + INTERVAL 1 SECOND FROM n WHERE i >= ? AND i < ? ORDER BY i`,
      [start, o.workflow, lo, hi],
    );
    if (o.events > 0) {
      await monitor.query(
        'INSERT INTO workflow_events (execution_id, seq, kind, name, status, payload, attempt, lease_token, created_at) ' +
          `${DIGITS}, s AS (${seqs}) SELECT ${id}, s.seq, 'step', CONCAT('s', s.seq), 'completed', ` +
          `CONCAT('{"i":', s.seq, ',"ok":true,"note":"bench-step-result"}'), 1, 1, ${ts} FROM n, s WHERE i >= ? AND i < ? ORDER BY i, s.seq`,
        [start, lo, hi],
      );
    }
  }
}
