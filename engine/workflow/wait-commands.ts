/**
 * Durable waits: timers (`sleep`, `sleepUntil`) and signal waits (`waitForSignal`). A timer is
 * recorded `scheduled` with its due time (buffered until the next commit) and `fired` when it
 * fires; a signal wait consumes the oldest unconsumed signal of its name, waits of one name being
 * served FIFO. Both supersede an older pending wait of the same name issued in an earlier
 * activation (a race's loser): see scheduler.ts and the README.
 */
import type { Duration } from '../duration';
import { ValidationError } from '../errors';
import { decodeValue } from '../serialization';
import { EventKind } from '../store/types';
import type { ExecutionSession } from './session';
import { checkDelayMs, checkName, eventAt } from './names';
import { validateDueAtMs } from '../validation';
import { dueWasFor, waitEntry } from './suspension';

/** The due time of the command at `seq`: the row's available_at is authoritative when it was set for it. */
function authoritativeDue(s: ExecutionSession, seq: number, dueAt: number): number {
  const r = s.record;
  if (r.claimedFromWaiting && r.availableAt && dueWasFor(r.waitFor, seq)) return Math.min(dueAt, r.availableAt.getTime());
  return dueAt;
}

/** Issue a timer. */
export function timerCommand(s: ExecutionSession, shielded: boolean, name: string, durationMs: number | undefined, untilMs: number | undefined): Promise<void> {
  const cmd = s.scheduler.issue(EventKind.timer, name, {
    shielded, supersedes: true,
    fromRecord: () => ({ ok: true, value: undefined }),
    start: async (c) => {
      let dueAt: number;
      if (c.recorded) {
        dueAt = authoritativeDue(s, c.seq, decodeValue<{ dueAt: number }>(c.recorded.payload).dueAt);
      } else {
        dueAt = untilMs ?? s.dbNowMs() + (durationMs as number);
        s.buffer(eventAt(c.seq, EventKind.timer, name, 'scheduled', JSON.stringify({ dueAt }), 1));
      }
      while (s.dbNowMs() < dueAt) {
        await s.scheduler.block(c, { waitFor: { kind: 'timer', seq: c.seq, name, dueAt }, dueAt });
        if (c.settled) return;
      }
      await s.scheduler.complete(c, { events: [], fireTimer: { seq: c.seq, order: -1 } }, { ok: true, value: undefined }, () => s.emit('timer:fired', { timer: name, seq: c.seq }));
    },
  });
  return cmd.promise as Promise<void>;
}

/** `sleep(name, duration)` / `sleep(duration)`. */
export function sleepCommand(s: ExecutionSession, shielded: boolean, nameOrDuration: string | Duration, duration?: Duration): Promise<void> {
  if (duration === undefined) return timerCommand(s, shielded, 'sleep', checkDelayMs(nameOrDuration, 'sleep duration'), undefined);
  return timerCommand(s, shielded, checkName(nameOrDuration, 'timer'), checkDelayMs(duration, `sleep "${String(nameOrDuration)}" duration`), undefined);
}

/** `sleepUntil(name, until)`. */
export function sleepUntilCommand(s: ExecutionSession, shielded: boolean, name: string, until: Date | number): Promise<void> {
  const at = until instanceof Date ? until.getTime() : until;
  if (typeof at !== 'number' || !Number.isFinite(at)) throw new ValidationError(`sleepUntil "${name}": until must be a Date or epoch milliseconds`, 'until');
  return timerCommand(s, shielded, checkName(name, 'timer'), undefined, validateDueAtMs(at, 'until'));
}

/** Issue a signal wait. */
export function signalCommand<T>(s: ExecutionSession, shielded: boolean, name: string, options: { timeout?: Duration } = {}): Promise<T | undefined> {
  checkName(name, 'signal');
  const timeoutMs = options.timeout === undefined ? undefined : checkDelayMs(options.timeout, `waitForSignal "${name}" timeout`);
  const cmd = s.scheduler.issue(EventKind.signal, name, {
    shielded, supersedes: true,
    fromRecord: (ev) => ({ ok: true, value: ev.status === 'timeout' ? undefined : decodeValue(ev.payload) }),
    start: async (c) => {
      const seq = c.seq;
      const prior = waitEntry(s.record.waitFor, seq);
      const deadline = timeoutMs === undefined ? undefined
        : prior?.kind === 'signal' && prior.deadline !== undefined ? authoritativeDue(s, seq, prior.deadline) : s.dbNowMs() + timeoutMs;
      s.scheduler.joinSignalQueue(c);
      for (;;) {
        if (s.scheduler.isSignalHead(c)) {
          const sig = await s.nextSignal(name);
          if (c.settled) return;
          if (sig) {
            const value = await s.decodeLive(sig.payload);
            await s.scheduler.complete(c, { events: [eventAt(seq, EventKind.signal, name, 'delivered', sig.payload, 1)], consumeSignal: { id: sig.id, seq } },
              { ok: true, value }, () => s.emit('signal:delivered', { signal: name, seq }));
            return;
          }
        }
        if (deadline !== undefined && s.dbNowMs() >= deadline) {
          await s.scheduler.complete(c, { events: [eventAt(seq, EventKind.signal, name, 'timeout', null, 1)] }, { ok: true, value: undefined });
          return;
        }
        await s.scheduler.block(c, { waitFor: { kind: 'signal', seq, name, deadline }, dueAt: deadline, signal: name });
        if (c.settled) return;
      }
    },
  });
  return cmd.promise as Promise<T | undefined>;
}
