/**
 * The queue behind group commit: a batch goes out once the current run of microtasks is over
 * (process.nextTick, scheduled by its first item: no timer, so it also runs under a test's fake
 * timers), so the executions one finished batch resumed, and the starts one caller fired at once,
 * all ride one batch instead of the first going alone; items that arrive while a batch is in
 * flight ride the next batch. No added latency when idle, fewer statements and commits under
 * load. A batch is capped by count and by bytes (one oversized item travels alone). `commit`
 * settles every item of its batch (resolve or reject); it knows the SQL, this does not. A failed
 * batch must not hold the queue: `commit` hands its items to their own retries and returns.
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
    private readonly sizeOf: (item: T) => number = () => 0, private readonly maxBatchBytes = 4 * 1024 * 1024) {}

  /** Queue one item; settles when its batch did. */
  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#flushing && !this.#scheduled) {
        this.#scheduled = true;
        process.nextTick(() => { this.#scheduled = false; if (!this.#flushing) void this.#flush(); });
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
