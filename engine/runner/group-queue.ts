/**
 * The queue behind group commit: a batch goes out at the end of the event-loop turn in which its
 * first item arrived (setImmediate: after every microtask of that turn, so the executions that
 * one finished batch resumed all ride the next batch together instead of the first alone), and
 * items that arrive while a batch is in flight ride the next batch. Under a millisecond added
 * when idle, fewer statements and commits under load.
 * A batch is capped by count and by bytes (one oversized item travels alone). `commit` settles
 * every item of its batch (resolve or reject); it knows the SQL, this does not. A failed batch
 * must not hold the queue: `commit` hands its items to their own retries and returns.
 */

/** One queued item with its settlement. */
export interface Queued<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A self-flushing batch queue. */
export class GroupQueue<T> {
  #queue: Queued<T>[] = [];
  #flushing = false;
  #scheduled = false;
  /** Batches sent and the items they carried. */
  readonly stats = { batches: 0, items: 0 };

  constructor(private readonly commit: (batch: Queued<T>[]) => Promise<void>, private readonly maxBatch: number,
    private readonly sizeOf: (item: T) => number = () => 0, private readonly maxBatchBytes = 4 * 1024 * 1024,
    /** false: an item that finds the queue idle goes out at once, with no timer (client starts: safe under fake timers). */
    private readonly atTurnEnd = true) {}

  /** Queue one item; settles when its batch did. */
  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#flushing && !this.atTurnEnd) void this.#flush();
      else if (!this.#flushing && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => { this.#scheduled = false; if (!this.#flushing) void this.#flush(); });
      }
    });
  }

  /** How many queued items the next batch takes: up to maxBatch and maxBatchBytes, at least one. */
  #batchLength(): number {
    let bytes = 0;
    let n = 0;
    for (const q of this.#queue) {
      if (n >= this.maxBatch) break;
      bytes += this.sizeOf(q.item);
      if (n > 0 && bytes > this.maxBatchBytes) break;
      n++;
    }
    return Math.max(1, n);
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, this.#batchLength());
        this.stats.batches++;
        this.stats.items += batch.length;
        await this.commit(batch).catch((err) => batch.forEach((b) => b.reject(err)));
      }
    } finally {
      this.#flushing = false;
    }
  }
}
