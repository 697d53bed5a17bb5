/**
 * `ctx.step`: run a function at most once to a committed result. Attempts are retried with the
 * policy (short backoffs in memory, long ones as a durable wait); the body's AbortSignal fires
 * on its timeout, on cancellation of the command and when the run ends. A zombie — a runner
 * whose local lease deadline has passed — never starts a body.
 */
import { recordError, reviveError, TimeoutError, type RecordedError } from '../errors';
import { decodeValue, encodeValue } from '../serialization';
import { EventKind } from '../store/types';
import type { Command } from './command';
import type { StepContext, StepOptions } from './context-types';
import { nextRetryDelay, resolveRetryPolicy } from './retry';
import type { ExecutionSession } from './session';
import { checkDelayMs, checkName, eventAt } from './names';
import { waitEntry } from './suspension';
import { compensationsOf, compensationStepName } from './saga';
import { LazyAbortController } from './lazy-abort';

/**
 * Between two attempts of a step (plain or transactional): a short delay is held in memory after
 * recording the attempt number; a long one becomes a durable retry wait on the DB clock.
 */
export async function waitToRetry(s: ExecutionSession, c: Command, name: string, attempt: number, delay: number, error: RecordedError): Promise<void> {
  const seq = c.seq;
  s.emit('step:retrying', { step: name, seq, attempt, delayMs: delay, error });
  if (delay <= s.holdWaitsUpToMs) {
    await s.commit({ events: [], stepAttempt: attempt, keepSeq: seq });
    await s.scheduler.hold(delay);
    return;
  }
  const dueAt = s.dbNowMs() + delay;
  while (s.dbNowMs() < dueAt && !c.settled) await s.scheduler.block(c, { waitFor: { kind: 'retry', seq, name, dueAt, attempt }, dueAt });
}

type AttemptOutcome = { ok: true; payload: string | null; json: string | null } | { ok: false; error: RecordedError };

/** Issue a step. */
export function stepCommand<T>(s: ExecutionSession, shielded: boolean, name: string, fn: (step: StepContext) => Promise<T> | T, options: StepOptions<T> = {}): Promise<T> {
  checkName(name, 'step');
  if (options.compensate !== undefined) compensationStepName(name, options.compensate);
  const policy = resolveRetryPolicy(options.retry, s.definition.retry, `step "${name}" retry`);
  const timeoutMs = options.timeout === undefined ? undefined : checkDelayMs(options.timeout, `step "${name}" timeout`);
  const cmd = s.scheduler.issue(EventKind.step, name, {
    shielded,
    fromRecord: (ev) => (ev.status === 'failed' ? { ok: false, error: reviveError(decodeValue<RecordedError>(ev.payload)) } : { ok: true, value: decodeValue(ev.payload) }),
    start: async (c) => {
      const seq = c.seq;
      const resumed = waitEntry(s.record.waitFor, seq);
      let attempt = resumed?.kind === 'retry' && resumed.attempt ? resumed.attempt + 1 : s.record.nextSeq === seq && s.record.stepAttempt > 0 ? s.record.stepAttempt + 1 : 1;
      if (resumed?.kind === 'retry' && resumed.attempt) {
        // Resumed from a durable retry wait: its due time still holds.
        while (s.dbNowMs() < resumed.dueAt && !c.settled) await s.scheduler.block(c, { waitFor: resumed, dueAt: resumed.dueAt });
      }
      for (;;) {
        if (c.settled) return;
        if (!s.leaseValid()) {
          s.die({ kind: 'aborted', reason: 'lease lost: local lease deadline passed before a step body' });
          return;
        }
        s.emit('step:started', { step: name, seq, attempt });
        const outcome = await runAttempt(s, c, name, attempt, fn, timeoutMs);
        if (c.settled || s.dead) return;
        if (outcome.ok) {
          await s.scheduler.complete(c, { events: [eventAt(seq, EventKind.step, name, 'completed', outcome.payload, attempt)] },
            { ok: true, value: decodeValue(outcome.json) }, () => s.emit('step:completed', { step: name, seq, attempt }));
          return;
        }
        const delay = nextRetryDelay(policy, attempt, outcome.error, Math.random());
        if (delay === null) {
          await s.scheduler.complete(c, { events: [eventAt(seq, EventKind.step, name, 'failed', await s.payloads.encodeError(outcome.error, s.payloadLimitBytes), attempt)] },
            { ok: false, error: reviveError(outcome.error) }, () => s.emit('step:failed', { step: name, seq, attempt, error: outcome.error }));
          return;
        }
        await waitToRetry(s, c, name, attempt, delay, outcome.error);
        attempt++;
      }
    },
  });
  // Saga: a committed result registers its compensation when delivered (live and on replay alike).
  if (options.compensate) cmd.promise.then((v) => compensationsOf(s).add(cmd.seq, name, options, v as T), () => undefined);
  return cmd.promise as Promise<T>;
}

async function runAttempt<T>(s: ExecutionSession, c: Command, name: string, attempt: number, fn: (step: StepContext) => Promise<T> | T, timeoutMs?: number): Promise<AttemptOutcome> {
  // The attempt's signal follows the command's (cancel, supersede, run end) and its own timeout.
  // Both are lazy (lazy-abort.ts): nothing is created or listened to unless the body reads it.
  const own = new LazyAbortController();
  const outer = c.abort;
  let listening = false;
  let ended = false; // after the attempt, the command's abort no longer reaches its signal
  const onOuter = () => own.abort(outer.reason);
  const signal = () => {
    if (ended) return own.signal;
    if (!own.aborted && outer.aborted) own.abort(outer.reason);
    if (!own.aborted && !listening) { outer.signal.addEventListener('abort', onOuter, { once: true }); listening = true; }
    return own.signal;
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const step: StepContext = { idempotencyKey: `${s.record.id}:${c.seq}:${name}`, attempt, get signal() { return signal(); }, leaseToken: s.lease.token };
    const body = Promise.resolve().then(() => fn(step));
    const raced = timeoutMs === undefined ? body : Promise.race([body, new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new TimeoutError(`step "${name}" timed out after ${timeoutMs} ms (attempt ${attempt})`);
        if (outer.aborted) own.abort(outer.reason); // the command's abort came first
        own.abort(err);
        reject(err);
      }, timeoutMs);
    })]);
    const value = await raced;
    try {
      const what = `result of step "${name}"`;
      const json = encodeValue(value, what, s.payloads.active ? Number.POSITIVE_INFINITY : s.payloadLimitBytes);
      return { ok: true, payload: await s.payloads.encodeJson(json, what, s.payloadLimitBytes), json };
    } catch (err) {
      return { ok: false, error: { ...recordError(err), nonRetryable: true } };
    }
  } catch (err) {
    return { ok: false, error: recordError(err) };
  } finally {
    ended = true;
    if (timer) clearTimeout(timer);
    if (listening) outer.signal.removeEventListener('abort', onOuter);
  }
}
