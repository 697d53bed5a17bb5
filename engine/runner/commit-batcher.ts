/**
 * Group commit: plain step checkpoints of a runner's concurrent executions share one fenced
 * multi-row `INSERT … SELECT` (each row still joins its own execution's lease token, so a stale
 * holder's rows are dropped while the others commit). The first checkpoint goes out at once;
 * those that arrive while a statement is in flight ride the next one — no added latency when
 * idle, fewer commits under load.
 */
import { isConnectionError, type SqlStore } from '../store/sql';
import { commitFenced, eventsLanded, explainFenceFailure, insertEventsFenced, type FencedEvents } from '../store/transitions';

interface Pending {
  item: FencedEvents;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Batches fenced event inserts for one runner. */
export class CommitBatcher {
  #store: SqlStore;
  #maxBatch: number;
  #queue: Pending[] = [];
  #flushing = false;
  /** Statements sent and checkpoints they carried (for metrics and tests). */
  readonly stats = { statements: 0, checkpoints: 0 };

  constructor(store: SqlStore, maxBatch = 200) {
    this.#store = store;
    this.#maxBatch = maxBatch;
  }

  /** Commit one execution's events; rejects with LeaseLostError / CancelRequested like commitFenced. */
  submit(item: FencedEvents): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        this.stats.statements++;
        this.stats.checkpoints += batch.length;
        try {
          const failed = await insertEventsFenced(this.#store, this.#store, batch.map((b) => b.item));
          const lost = new Set(failed.map((l) => `${l.executionId}\u0000${l.token}`));
          for (const b of batch) {
            if (!lost.has(`${b.item.lease.executionId}\u0000${b.item.lease.token}`)) b.resolve();
            else explainFenceFailure(this.#store, this.#store, b.item.lease).catch(b.reject);
          }
        } catch (err) {
          // Unknown outcome or a bad row: settle each checkpoint on its own.
          await Promise.all(batch.map((b) => this.#settleAlone(b, err)));
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  async #settleAlone(b: Pending, cause: unknown): Promise<void> {
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
