/**
 * Lease moves seen between snapshots: an execution whose lease is now held by another owner
 * under a higher fencing token than when last seen (a watchdog takeover after a crash, or a
 * hand-off). A lease that vanished while its execution was still running or queued stays
 * "pending" and is checked against the execution row on later snapshots, so a takeover whose
 * new lease lived shorter than one tick is still reported. Pure bookkeeping; bounded memory.
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

interface Seen { owner: string; token: number; seenAt: number }

/** The lease-relevant state of an execution row. */
export interface ExecutionLeaseState { executionId: string; status: string; runnerId: string | null; leaseToken: number }

/** At most this many vanished leases are followed. */
const MAX_PENDING = 500;

/** Tracks lease owners across snapshots and reports moves. */
export class LeaseMoveTracker {
  #last = new Map<string, Seen>();
  #pending = new Map<string, Seen>();
  #memoryMs: number;

  constructor(memoryMs = 10 * 60_000) {
    this.#memoryMs = memoryMs;
  }

  /** Executions whose lease vanished and whose fate is not known yet (look their rows up). */
  get pending(): string[] {
    return [...this.#pending.keys()];
  }

  /** Feed one snapshot of live leases plus the rows of the pending ones; returns the moves. */
  observe(leases: readonly { executionId: string; owner: string; token: number }[], states: readonly ExecutionLeaseState[], at: Date): LeaseMove[] {
    const moves: LeaseMove[] = [];
    const now = at.getTime();
    const live = new Set<string>();
    for (const l of leases) {
      live.add(l.executionId);
      const prev = this.#last.get(l.executionId) ?? this.#pending.get(l.executionId);
      if (prev && prev.owner !== l.owner && l.token > prev.token) {
        moves.push({ executionId: l.executionId, from: prev.owner, to: l.owner, fromToken: prev.token, toToken: l.token, at });
      }
      this.#pending.delete(l.executionId);
      this.#last.set(l.executionId, { owner: l.owner, token: l.token, seenAt: now });
    }
    for (const s of states) {
      const prev = this.#pending.get(s.executionId);
      if (!prev || live.has(s.executionId)) continue;
      if (s.leaseToken > prev.token && s.runnerId !== null && s.runnerId !== prev.owner) {
        moves.push({ executionId: s.executionId, from: prev.owner, to: s.runnerId, fromToken: prev.token, toToken: s.leaseToken, at });
        this.#pending.delete(s.executionId);
      } else if (s.leaseToken > prev.token || (s.status !== 'running' && s.status !== 'queued')) {
        this.#pending.delete(s.executionId); // resumed by the same owner, finished or suspended: no takeover
      }
    }
    for (const [id, v] of this.#last) {
      if (live.has(id)) continue;
      this.#last.delete(id);
      if (this.#pending.size < MAX_PENDING) this.#pending.set(id, v);
    }
    for (const [id, v] of this.#pending) if (now - v.seenAt > this.#memoryMs) this.#pending.delete(id);
    return moves;
  }
}
