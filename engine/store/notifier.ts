/**
 * In-process notifications between the parts of leaseflow that share a store URL: a start
 * nudges local pollers, a finish wakes local `result()` waiters. Across processes everyone
 * polls; this only cuts latency inside one process.
 */
import EventEmitter from 'eventemitter3';

interface NotifierEvents {
  work: () => void;
  finished: (executionId: string) => void;
  /** A schedule was created or changed here: local tickers look again. */
  schedules: () => void;
}

const channels = new Map<string, EventEmitter<NotifierEvents>>();

/** The channel of one store (keyed by its masked URL). */
export function notifier(url: string): EventEmitter<NotifierEvents> {
  let ch = channels.get(url);
  if (!ch) {
    ch = new EventEmitter<NotifierEvents>();
    channels.set(url, ch);
  }
  return ch;
}
