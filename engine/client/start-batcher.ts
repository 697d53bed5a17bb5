/**
 * Group commit for plain starts (no template key, dedup or debounce): starts made while another
 * batch is in flight share ONE multi-row INSERT (one statement, one commit) instead of one
 * autocommit INSERT each. A batch leaves when the caller's current run of microtasks is over (no
 * timer: a caller's test under fake timers still starts), so a lone start waits for nothing.
 *
 * Failure: the statement is atomic (a duplicate id, a bad row or a lost connection writes all of
 * the batch or none of it), so each start of a failed batch is then written on its own, with the
 * single-start retries; a start whose batch did land before the connection dropped then meets its
 * own row as a duplicate, which the client resolves as it resolves any retried start (same
 * workflow and input: the same execution).
 */
import { GroupQueue } from '../runner/group-queue';
import { insertExecution, insertPlainExecutions } from '../store/executions';
import { retryStatement, type SqlStore } from '../store/sql';
import type { NewExecution } from '../store/types';

/** Rows per statement: 20 parameters each stays far below every driver's placeholder limit. */
const MAX_ROWS = 100;
/** Bytes of input per statement (MariaDB's default max_allowed_packet is 16 MiB). */
const MAX_BYTES = 4 * 1024 * 1024;

/** Batches plain-start INSERTs of one client. */
export class StartBatcher {
  #queue: GroupQueue<NewExecution>;

  constructor(private readonly sql: SqlStore) {
    this.#queue = new GroupQueue(async (batch) => {
      const rows = batch.map((b) => b.item);
      try {
        await retryStatement(() => rows.length === 1 ? insertExecution(sql, sql, rows[0]) : insertPlainExecutions(sql, sql, rows));
        for (const b of batch) b.resolve();
      } catch (err) {
        if (rows.length === 1) return batch[0].reject(err);
        // Off the queue: one start's own retries never hold the next batch.
        for (const b of batch) void retryStatement(() => insertExecution(sql, sql, b.item)).then(b.resolve, b.reject);
      }
    }, MAX_ROWS, (row) => row.input?.length ?? 0, MAX_BYTES);
  }

  /** Statements sent and starts they carried. */
  get stats(): { statements: number; starts: number } {
    return { statements: this.#queue.stats.batches, starts: this.#queue.stats.items };
  }

  /** Insert one plain start; rejects as insertExecution would (a duplicate id throws). */
  insert(row: NewExecution): Promise<void> {
    return this.#queue.submit(row);
  }
}
