/**
 * Group commit: plain step checkpoints of a runner's concurrent executions share one fenced
 * multi-row `INSERT … SELECT` (each row still joins its own execution's lease token, so a stale
 * holder's rows are dropped while the others commit). Batching itself is group-queue.ts.
 */
import { isConnectionError, type SqlStore } from '../store/sql';
import { GroupQueue, type Queued } from './group-queue';
import { commitFenced, eventsLanded, explainFenceFailure, insertEventsFenced, type FencedEvents } from '../store/transitions';

/** Batches fenced event inserts for one runner. */
export class CommitBatcher {
  #store: SqlStore;
  #queue: GroupQueue<FencedEvents>;

  constructor(store: SqlStore, maxBatch = 200) {
    this.#store = store;
    this.#queue = new GroupQueue((batch) => this.#commit(batch), maxBatch,
      (item) => item.events.reduce((n, e) => n + (e.payload?.length ?? 0) + e.name.length, 0));
  }

  /** Statements sent and checkpoints they carried (for metrics and tests). */
  get stats(): { statements: number; checkpoints: number } {
    return { statements: this.#queue.stats.batches, checkpoints: this.#queue.stats.items };
  }

  /** Commit one execution's events; rejects with LeaseLostError / CancelRequested like commitFenced. */
  submit(item: FencedEvents): Promise<void> {
    return this.#queue.submit(item);
  }

  async #commit(batch: Queued<FencedEvents>[]): Promise<void> {
    try {
      const failed = await insertEventsFenced(this.#store, this.#store, batch.map((b) => b.item));
      const lost = new Set(failed.map((l) => `${l.executionId}\u0000${l.token}`));
      for (const b of batch) {
        if (!lost.has(`${b.item.lease.executionId}\u0000${b.item.lease.token}`)) b.resolve();
        else explainFenceFailure(this.#store, this.#store, b.item.lease).catch(b.reject);
      }
    } catch (err) {
      // Unknown outcome or a bad row: settle each checkpoint on its own, off the queue, so one
      // failing item (and its bounded unknown-outcome retries) never stalls the next batches.
      for (const b of batch) void this.#settleAlone(b, err);
    }
  }

  async #settleAlone(b: Queued<FencedEvents>, cause: unknown): Promise<void> {
    try {
      // The batch statement is atomic: after a lost connection it either landed whole or not at all.
      if (isConnectionError(cause) && (await eventsLanded(this.#store, b.item.lease, b.item.events).catch(() => false))) return b.resolve();
      // Otherwise (not landed, or one bad row failed the statement) each commits on its own.
      await commitFenced(this.#store, b.item.lease, { events: b.item.events, nextSeq: 0, ignoreCancel: b.item.ignoreCancel });
      b.resolve();
    } catch (err) {
      b.reject(err);
    }
  }
}
