/**
 * Group finish: the terminal commits of a runner's executions that need nothing but their own
 * row and lease (no parent to wake, no template slot to pass on, nothing buffered) share one
 * transaction: one fenced multi-row UPDATE (`lease_token = CASE id …`) and one DELETE of their
 * lease rows; template slots they held are handed to the next waiters in it (admission.ts). Batching itself is group-queue.ts.
 */
import { LeaseLostError } from '../errors';
import { executionLockKey } from '../store/lock-keys';
import { deleteLocksByKeySql, isConnectionError, type SqlRunner, type SqlStore } from '../store/sql';
import { boundErrorJson } from '../error-size';
import { markUndelivered } from '../store/signals';
import { handOffSlots } from '../store/admission';
import { commitFenced } from '../store/transitions';
import { GroupQueue, type Queued } from './group-queue';
import type { FinishItem } from '../store/types';

export type { FinishItem };

/** Batches terminal commits for one runner. */
export class FinishBatcher {
  #store: SqlStore;
  #queue: GroupQueue<FinishItem>;

  constructor(store: SqlStore, maxBatch = 100) {
    this.#store = store;
    this.#queue = new GroupQueue((batch) => this.#commit(batch), maxBatch,
      (item) => (item.output?.length ?? 0) + (item.error?.length ?? 0));
  }

  /** Transactions sent and the finishes they carried. */
  get stats(): { transactions: number; finishes: number } {
    return { transactions: this.#queue.stats.batches, finishes: this.#queue.stats.items };
  }

  /** Commit one finish; rejects with LeaseLostError when its lease is gone. */
  submit(item: FinishItem): Promise<void> {
    return this.#queue.submit(item);
  }

  async #commit(batch: Queued<FinishItem>[]): Promise<void> {
    try {
      const done = await this.#store.tx((q) => finishMany(q, this.#store, batch.map((b) => b.item)));
      for (const b of batch) {
        if (done.has(b.item.lease.executionId)) b.resolve();
        else b.reject(new LeaseLostError(b.item.lease.executionId, b.item.lease.token, 'lease lost before the final commit'));
      }
    } catch (err) {
      // Off the queue: a failing finish (and its bounded retries) never stalls the next batches.
      for (const b of batch) void this.#settleAlone(b, err);
    }
  }

  async #settleAlone(b: Queued<FinishItem>, cause: unknown): Promise<void> {
    const { lease, status, output, error, nextSeq } = b.item;
    try {
      if (isConnectionError(cause)) {
        const rows = await this.#store.all<{ status: string; lease_token: unknown }>('SELECT status, lease_token FROM workflow_executions WHERE id = ?', [lease.executionId]).catch(() => null);
        if (rows?.[0] && rows[0].status === status && Number(rows[0].lease_token) === lease.token) return b.resolve();
      }
      await commitFenced(this.#store, lease, { events: [], nextSeq, ignoreCancel: true, finish: { status, output, error }, freesSlotOf: b.item.templateKey });
      b.resolve();
    } catch (err) {
      b.reject(err);
    }
  }
}

/** The transaction body: returns the ids whose finish landed. */
async function finishMany(q: SqlRunner, store: SqlStore, items: readonly FinishItem[]): Promise<Set<string>> {
  const ids = items.map((i) => i.lease.executionId);
  const when = (pick: (i: FinishItem) => unknown) => {
    const params: unknown[] = [];
    const sql = `CASE id ${items.map((i) => { params.push(i.lease.executionId, pick(i)); return 'WHEN ? THEN ?'; }).join(' ')} END`;
    return { sql, params };
  };
  const st = when((i) => i.status);
  const out = when((i) => i.output);
  const err = when((i) => boundErrorJson(i.error));
  const seq = when((i) => i.nextSeq);
  const tok = when((i) => i.lease.token);
  const res = await q.run(
    `UPDATE workflow_executions SET status = ${st.sql}, output = ${out.sql}, error = ${err.sql}, next_seq = ${seq.sql}, step_attempt = 0, ` +
      `finished_at = ${store.now}, available_at = NULL, wait_for = NULL, runner_id = NULL, updated_at = ${store.now} ` +
      `WHERE id IN (?) AND status = 'running' AND lease_token = ${tok.sql}`,
    [...st.params, ...out.params, ...err.params, ...seq.params, ids, ...tok.params],
  );
  let done: Set<string>;
  if (res.affectedRows === items.length) {
    done = new Set(ids);
  } else {
    const rows = await q.all<{ id: unknown; status: unknown; lease_token: unknown }>('SELECT id, status, lease_token FROM workflow_executions WHERE id IN (?)', [ids]);
    const byId = new Map(rows.map((r) => [String(r.id), r]));
    done = new Set(items.filter((i) => {
      const r = byId.get(i.lease.executionId);
      return r && String(r.status) === i.status && Number(r.lease_token) === i.lease.token;
    }).map((i) => i.lease.executionId));
  }
  const keys = items.filter((i) => done.has(i.lease.executionId));
  await markUndelivered(q, keys.map((i) => i.lease.executionId));
  if (keys.length) {
    await q.run(
      `${deleteLocksByKeySql(store)} WHERE lock_key IN (?) AND token = CASE lock_key ${keys.map(() => 'WHEN ? THEN ?').join(' ')} END`,
      [keys.map((i) => executionLockKey(i.lease.executionId)), ...keys.flatMap((i) => [executionLockKey(i.lease.executionId), i.lease.token])],
    );
  }
  const freed = new Map<string, number>();
  for (const i of keys) if (i.templateKey) freed.set(i.templateKey, (freed.get(i.templateKey) ?? 0) + 1);
  await handOffSlots(q, store, freed);
  return done;
}
