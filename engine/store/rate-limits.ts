/**
 * Rate limits (issue 13), enforced in the claim transaction on the database clock, so every
 * runner and process shares one limit per (workflow, key).
 *
 * Each key has one `workflow_rate_limits` row: `next_at` is the GCRA theoretical arrival time and
 * `hint_at` the tail of the queue of deferred starts. A start (first claim) with spacing
 * `step = period / limit` passes when `next_at - step <= now`, and moves `next_at` to
 * `max(next_at, now) + step`: starts are spaced `step` apart with a tolerance of one, so any window
 * of one period holds at most `limit + 1` starts (and `limit` over a long run). A start that finds no
 * token is never failed and never busy-polled: it gets its own turn, `available_at = max(hint_at,
 * next_at - step)`, and the tail moves one step. A deferred start that comes back on its turn and
 * still finds no token (claim jitter) is given the token's time again, not sent to the back.
 * The claimer learns when the next queued start of a key it touched may go (`onTurn`), so a runner
 * wakes for it instead of waiting for its next poll.
 * Cost per claim batch: one locking read of the key row (plus the clock on MySQL), one write of it,
 * one write for the deferred, one for the started — O(1) per start, no scan of waiting rows.
 */
import type { SqlRunner, SqlStore } from './sql';
import type { ExecutionRecord } from './types';

/** wait_for of a start deferred by its rate limit. */
export const RATE_WAIT = JSON.stringify({ kind: 'rate' });

interface KeyState { nextAt: number; hintAt: number; nowMs: number }

async function lockKey(q: SqlRunner, store: SqlStore, workflow: string, key: string, nowMs: number): Promise<KeyState> {
  const select = `SELECT next_at, hint_at FROM workflow_rate_limits WHERE workflow_name = ? AND rate_key = ?${store.mysql ? ' FOR UPDATE' : ''}`;
  let rows = await q.all<{ next_at: unknown; hint_at: unknown }>(select, [workflow, key]);
  if (rows.length === 0) {
    await q.run(
      `INSERT ${store.mysql ? 'IGNORE ' : ''}INTO workflow_rate_limits (workflow_name, rate_key, next_at, hint_at, updated_at) ` +
        `VALUES (?, ?, ?, ?, ${store.now})${store.mysql ? '' : ' ON CONFLICT DO NOTHING'}`,
      // The claim's own clock reading: a later `now` here would look like a queue ahead of it.
      [workflow, key, store.dateParam(new Date(nowMs)), store.dateParam(new Date(nowMs))],
    );
    rows = await q.all(select, [workflow, key]);
  }
  const ms = (v: unknown) => (store.date(v) as Date | null)?.getTime() ?? nowMs;
  // The clock once the row is ours: a claim that waited for the lock behind another runner's
  // claim must not judge by the instant it began, or its start lands later than its token says.
  if (store.mysql) {
    const [t] = await q.all<{ now: unknown }>(`SELECT ${store.now} AS now`);
    nowMs = Math.max(nowMs, ms(t?.now));
  }
  return { nextAt: ms(rows[0]?.next_at), hintAt: ms(rows[0]?.hint_at), nowMs };
}

/**
 * Inside the claim transaction: let through the picked starts whose key has a token, defer the
 * others to their turn. Returns the executions that may be claimed. Only first claims of
 * rate-limited executions are paced (a resumed or re-claimed execution is not a start).
 */
export async function paceStarts(q: SqlRunner, store: SqlStore, picked: ExecutionRecord[], now: Date, onTurn?: (inMs: number) => void): Promise<ExecutionRecord[]> {
  const limited = picked.filter((e) => e.rateKey && e.rateStepUs && e.attempt === 0);
  if (limited.length === 0) return picked;
  const groups = new Map<string, ExecutionRecord[]>();
  for (const e of limited) {
    const g = JSON.stringify([e.workflowName, e.rateKey]);
    groups.set(g, [...(groups.get(g) ?? []), e]);
  }
  const deferred = new Map<string, number>();
  const passed = new Map<number, string[]>();
  let nextTurn = Infinity;
  for (const g of [...groups.keys()].sort()) {
    const members = groups.get(g) as ExecutionRecord[];
    const { workflowName, rateKey } = members[0];
    const s = await lockKey(q, store, workflowName, rateKey as string, now.getTime());
    const { nowMs } = s;
    for (const m of members) {
      const step = Number(m.rateStepUs) / 1000;
      const token = s.nextAt - step <= nowMs;
      const onTurn = m.waitFor?.kind === 'rate';
      if (token && (onTurn || s.hintAt <= nowMs)) {
        s.nextAt = Math.ceil(Math.max(s.nextAt, nowMs) + step);
        passed.set(nowMs, [...(passed.get(nowMs) ?? []), m.id]);
      } else if (onTurn) {
        deferred.set(m.id, Math.ceil(Math.max(s.nextAt - step, nowMs)));
      } else {
        const turn = Math.ceil(Math.max(s.hintAt, s.nextAt - step, nowMs));
        s.hintAt = turn + step;
        deferred.set(m.id, turn);
      }
    }
    // Starts still queued for this key: the next of them may go when the next token is there.
    if (s.hintAt > nowMs) nextTurn = Math.min(nextTurn, Math.max(s.nextAt - Number(members[0].rateStepUs) / 1000, nowMs + 1) - nowMs);
    await q.run(
      `UPDATE workflow_rate_limits SET next_at = ?, hint_at = ?, updated_at = ${store.now} WHERE workflow_name = ? AND rate_key = ?`,
      [store.dateParam(new Date(s.nextAt)), store.dateParam(new Date(Math.ceil(s.hintAt))), workflowName, rateKey],
    );
  }
  if (deferred.size) {
    const ids = [...deferred.keys()];
    await q.run(
      `UPDATE workflow_executions SET available_at = CASE id ${ids.map(() => 'WHEN ? THEN ?').join(' ')} END, wait_for = ?, updated_at = ${store.now} ` +
        "WHERE id IN (?) AND status = 'queued'",
      [...ids.flatMap((id) => [id, store.dateParam(new Date(deferred.get(id) as number))]), RATE_WAIT, ids],
    );
  }
  // A paced start is recorded as started at the instant its token was judged, so started_at obeys
  // the same bound as the tokens (the claim's own UPDATE keeps a started_at that is set).
  for (const [at, ids] of passed) {
    await q.run('UPDATE workflow_executions SET started_at = ? WHERE id IN (?) AND started_at IS NULL', [store.dateParam(new Date(at)), ids]);
  }
  if (nextTurn !== Infinity) onTurn?.(Math.ceil(nextTurn));
  return picked.filter((e) => !deferred.has(e.id));
}
