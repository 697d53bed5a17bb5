/**
 * The queue behind group commit: the first item goes out at once; items that arrive while a
 * batch is in flight ride the next batch. No added latency when idle, fewer commits under load.
 * `commit` settles every item of its batch (resolve or reject); it knows the SQL, this does not.
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
  /** Batches sent and the items they carried. */
  readonly stats = { batches: 0, items: 0 };

  constructor(private readonly commit: (batch: Queued<T>[]) => Promise<void>, private readonly maxBatch: number) {}

  /** Queue one item; settles when its batch did. */
  submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length) {
        const batch = this.#queue.splice(0, this.maxBatch);
        this.stats.batches++;
        this.stats.items += batch.length;
        await this.commit(batch).catch((err) => batch.forEach((b) => b.reject(err)));
      }
    } finally {
      this.#flushing = false;
    }
  }
}
