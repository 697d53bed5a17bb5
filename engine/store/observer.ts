/**
 * Observers of store statements (for metrics): every statement sent through a SqlStore is
 * reported with its duration and, when it failed, the kind of error. Process-wide, like the
 * connection pools it watches. Invariant: an observer that throws never affects the statement.
 */

/** Kinds of store errors. */
export type StoreErrorKind = 'deadlock' | 'lock_timeout' | 'busy' | 'connection' | 'other';

/** One finished statement. */
export interface StoreOperation {
  /** 'read' (all) or 'write' (run). */
  op: 'read' | 'write';
  durationMs: number;
  error?: StoreErrorKind;
}

const observers = new Set<(o: StoreOperation) => void>();

/** Observe every statement of this process; returns the function that stops observing. */
export function observeStore(fn: (o: StoreOperation) => void): () => void {
  observers.add(fn);
  return () => observers.delete(fn);
}

/** True when somebody observes (so the timing can be skipped otherwise). */
export function storeObserved(): boolean {
  return observers.size > 0;
}

/** Report one statement to every observer. */
export function reportStoreOperation(o: StoreOperation): void {
  for (const fn of observers) {
    try { fn(o); } catch { /* an observer never breaks a statement */ }
  }
}
