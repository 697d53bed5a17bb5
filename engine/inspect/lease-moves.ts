/**
 * Lease moves seen between snapshots: an execution whose lease is now held by another owner
 * under a higher fencing token than when last seen (a watchdog takeover after a crash, or a
 * hand-off). Pure bookkeeping over successive snapshots; remembers owners for `memoryMs`.
 */

/** One observed move of an execution's lease. */
export interface LeaseMove {
  executionId: string;
  from: string;
  to: string;
  fromToken: number;
  toToken: number;
  /** When it was observed (database clock of the snapshot). */
  at: Date;
}

/** Tracks lease owners across snapshots and reports moves. */
export class LeaseMoveTracker {
  #last = new Map<string, { owner: string; token: number; seenAt: number }>();
  #memoryMs: number;

  constructor(memoryMs = 10 * 60_000) {
    this.#memoryMs = memoryMs;
  }

  /** Feed one snapshot of leases; returns the moves since the previous one. */
  observe(leases: readonly { executionId: string; owner: string; token: number }[], at: Date): LeaseMove[] {
    const moves: LeaseMove[] = [];
    const now = at.getTime();
    for (const l of leases) {
      const prev = this.#last.get(l.executionId);
      if (prev && prev.owner !== l.owner && l.token > prev.token) {
        moves.push({ executionId: l.executionId, from: prev.owner, to: l.owner, fromToken: prev.token, toToken: l.token, at });
      }
      this.#last.set(l.executionId, { owner: l.owner, token: l.token, seenAt: now });
    }
    for (const [id, v] of this.#last) if (now - v.seenAt > this.#memoryMs) this.#last.delete(id);
    return moves;
  }
}
