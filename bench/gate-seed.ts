/**
 * Bulk seeding for the deploy-gate bench and memory test: `count` executions of `gate-order`
 * waiting at a timer, each with a two-event history (step `reserve` completed, timer `cool`
 * scheduled), written by set-based SQL (MariaDB's seq_1_to_N sequence engine, a recursive CTE
 * on SQLite/MySQL) — no per-row round trips.
 */
import { defineWorkflow } from '../engine/workflow/define-workflow';
import type { Database } from '../engine/store/database';

/** The code the seeded histories were "recorded" by (and that the gate replays). */
export const gateOrder = defineWorkflow({ name: 'gate-order', buildId: 'seed' }, async (ctx, n: number) => {
  await ctx.step('reserve', async () => n);
  await ctx.sleep('cool', '1h');
  await ctx.step('charge', async () => n * 2);
  return n;
});

/** Insert `count` waiting executions with their histories. */
export async function seedHistories(db: Database, count: number): Promise<void> {
  const { sql } = db;
  const maria = db.dialect === 'mariadb';
  const id = sql.mysql ? "CONCAT('gate-', LPAD(n, 8, '0'))" : "('gate-' || substr('00000000' || n, -8, 8))";
  const far = sql.mysql ? 'UTC_TIMESTAMP(6) + INTERVAL 1 DAY' : `${sql.now} + 86400000`;
  const created = sql.mysql ? 'UTC_TIMESTAMP(3)' : sql.now;
  const cte = `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${count})`;
  const run = async (head: string, select: string) => {
    const text = maria ? `${head} ${select.replace(/FROM s$/, `FROM (SELECT seq AS n FROM seq_1_to_${count}) s`)}`
      : sql.mysql ? `${head} ${cte} ${select}` : `${cte} ${head} ${select}`;
    await sql.run(text);
  };
  await run(
    'INSERT INTO workflow_executions (id, run_id, first_run_id, run_number, workflow_name, workflow_version, admitted, status, input, available_at, ' +
      'lease_token, next_seq, step_attempt, attempt, created_at, updated_at, start_build, last_build, last_version)',
    `SELECT ${id}, ${id}, ${id}, 1, 'gate-order', 1, 0, 'waiting', CAST(n AS CHAR), ${far}, 1, 2, 0, 1, ${created}, ${sql.now}, 'seed', 'seed', 1 FROM s`.replace('CAST(n AS CHAR)', sql.mysql ? 'CAST(n AS CHAR)' : 'CAST(n AS TEXT)'),
  );
  await run(
    'INSERT INTO workflow_events (execution_id, seq, kind, name, status, payload, attempt, lease_token, done_order, created_at)',
    `SELECT ${id}, 0, 'step', 'reserve', 'completed', CAST(n AS ${sql.mysql ? 'CHAR' : 'TEXT'}), 1, 1, 0, ${sql.now} FROM s`,
  );
  await run(
    'INSERT INTO workflow_events (execution_id, seq, kind, name, status, payload, attempt, lease_token, done_order, created_at)',
    `SELECT ${id}, 1, 'timer', 'cool', 'scheduled', '{"dueAt":0}', 1, 1, NULL, ${sql.now} FROM s`,
  );
}
