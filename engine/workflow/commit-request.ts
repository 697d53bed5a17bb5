/**
 * What a command asks the session to commit; the session adds the buffered events (recorded
 * values, scheduled timers), the custom status and next_seq. Types only.
 */
import type { NewEvent, NewExecution } from '../store/types';

/** A command's commit request. */
export interface CommitRequest {
  events: NewEvent[];
  stepAttempt?: number;
  /** Keep next_seq at this position (a step's retry bookkeeping). */
  keepSeq?: number;
  consumeSignal?: { id: number; seq: number };
  children?: NewExecution[];
  /** A timer recorded as scheduled fires (the scheduler fills in its delivery order). */
  fireTimer?: { seq: number; order: number };
  /** Let a duplicate-key error through to the caller (a child id already taken). */
  passDuplicate?: boolean;
}
