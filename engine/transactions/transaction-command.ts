/**
 * `ctx.transaction(name, fn, options)`: a step whose business writes and checkpoint commit in ONE
 * database transaction of the application's MikroORM (same database as the store). The attempt:
 * fork the EntityManager, open a transaction (READ COMMITTED unless asked), run `fn(em)`, flush,
 * fence the lease by a write (store/transactional.ts), insert the checkpoint with the delivery
 * order, commit. A stale holder's fence fails and everything rolls back; a replayed step returns
 * its stored result without running. Deadlocks, lock-wait timeouts and errors of `fn` fail the
 * attempt, retried with the step's policy (the whole transaction again).
 */
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { LeaseflowError, LeaseLostError, recordError, reviveError, TransactionScopeError, TransactionUnsupportedError, type RecordedError } from '../errors';
import { decodeValue, encodeValue } from '../serialization';
import { isConnectionError } from '../store/sql';
import { createTxRunner } from '../store/sql';
import { fenceByWrite, insertCheckpoint } from '../store/transactional';
import { EventKind } from '../store/types';
import type { Command } from '../workflow/command';
import type { RetryPolicy } from '../workflow/retry';
import { nextRetryDelay, resolveRetryPolicy } from '../workflow/retry';
import type { ExecutionSession } from '../workflow/session';
import { checkName, eventAt } from '../workflow/names';
import { waitEntry } from '../workflow/suspension';
import { waitToRetry } from '../workflow/step-command';
import { checkIsolation, verifyTransactionOrm, type TransactionIsolation } from './orm';
import { runInScope, type TxScope } from './scope';

/** Options of `ctx.transaction`. */
export interface TransactionOptions {
  /** Retry policy of the whole transaction (deadlocks and lock-wait timeouts included); layered over the workflow's. */
  retry?: RetryPolicy;
  /** @default 'read committed' */
  isolationLevel?: TransactionIsolation;
}

/** What the function of a transactional step receives besides the EntityManager. */
export interface TransactionContext {
  /** `{executionId}:{seq}:{name}`, stable across attempts. */
  readonly idempotencyKey: string;
  /** 1-based attempt. */
  readonly attempt: number;
}

type TxOutcome = { kind: 'committed'; json: string | null; touched: number } | { kind: 'failed'; error: RecordedError } | { kind: 'ended' };

class Ended extends Error {}
class NotStorable extends Error {}

/** Issue a transactional step. */
export function transactionCommand<T, EM extends EntityManager = EntityManager>(s: ExecutionSession, shielded: boolean, name: string,
  fn: (em: EM, tx: TransactionContext) => Promise<T> | T, options: TransactionOptions = {}): Promise<T> {
  checkName(name, 'transaction');
  if (typeof fn !== 'function') throw new TypeError(`ctx.transaction("${name}") needs a function`);
  const policy = resolveRetryPolicy(options.retry, s.definition.retry, `transaction "${name}" retry`);
  const isolationLevel = checkIsolation(options.isolationLevel);
  const orm = s.orm;
  const cmd = s.scheduler.issue(EventKind.step, name, {
    shielded,
    fromRecord: (ev) => (ev.status === 'failed' ? { ok: false, error: reviveError(decodeValue<RecordedError>(ev.payload)) } : { ok: true, value: decodeValue(ev.payload) }),
    start: async (c) => {
      if (!orm) throw new TransactionUnsupportedError('the runner has no application ORM (createRunner({ orm }))');
      try {
        await verifyTransactionOrm(s.store, orm);
      } catch (err) {
        // A setup error is the workflow's to see; a store error is not (the run ends, as for commits).
        if (err instanceof LeaseflowError) throw err;
        return s.die({ kind: 'aborted', reason: `store error while checking the application ORM: ${String((err as Error)?.message).slice(0, 200)}` });
      }
      const seq = c.seq;
      const resumed = waitEntry(s.record.waitFor, seq);
      let attempt = resumed?.kind === 'retry' && resumed.attempt ? resumed.attempt + 1 : s.record.nextSeq === seq && s.record.stepAttempt > 0 ? s.record.stepAttempt + 1 : 1;
      if (resumed?.kind === 'retry' && resumed.attempt) {
        while (s.dbNowMs() < resumed.dueAt && !c.settled) await s.scheduler.block(c, { waitFor: resumed, dueAt: resumed.dueAt });
      }
      let reserved: number | null = null;
      const reserve = () => (reserved ??= s.scheduler.reserveOrder(c));
      for (;;) {
        if (c.settled) return;
        if (!s.leaseValid()) return s.die({ kind: 'aborted', reason: 'lease lost: local lease deadline passed before a transaction' });
        s.emit('step:started', { step: name, seq, attempt, transactional: true });
        const out = await attemptTx(s, c, orm, name, attempt, fn as (em: EntityManager, tx: TransactionContext) => Promise<T> | T, isolationLevel, reserve);
        if (out.kind === 'ended') return;
        if (out.kind === 'committed') {
          s.scheduler.deliverAt(c, reserve(), { ok: true, value: decodeValue(out.json) });
          s.emit('step:completed', { step: name, seq, attempt, transactional: true });
          if (out.touched > 0) s.nudge();
          return;
        }
        const delay = nextRetryDelay(policy, attempt, out.error, Math.random());
        if (delay === null) {
          const ev = eventAt(seq, EventKind.step, name, 'failed', await s.payloads.encodeError(out.error, s.payloadLimitBytes), attempt);
          const emitFailed = () => s.emit('step:failed', { step: name, seq, attempt, error: out.error });
          if (reserved === null) return s.scheduler.complete(c, { events: [ev] }, { ok: false, error: reviveError(out.error) }, emitFailed);
          ev.order = reserved; // a failure after the order was taken keeps it (deliveries stay gapless)
          await s.commit({ events: [ev] });
          emitFailed();
          return s.scheduler.deliverAt(c, reserved, { ok: false, error: reviveError(out.error) });
        }
        await waitToRetry(s, c, name, attempt, delay, out.error);
        attempt++;
      }
    },
  });
  return cmd.promise as Promise<T>;
}

/** One attempt: the whole transaction. */
async function attemptTx<T>(s: ExecutionSession, c: Command, orm: MikroORM, name: string, attempt: number,
  fn: (em: EntityManager, tx: TransactionContext) => Promise<T> | T, isolationLevel: TransactionIsolation, reserve: () => number): Promise<TxOutcome> {
  let json: string | null = null;
  let touched = 0;
  const what = `result of transaction "${name}"`;
  try {
    const em = orm.em.fork({ clear: true });
    await em.transactional(async (tem) => {
      // An ORM configured with disableTransactions would make the writes below independent.
      if (!tem.isInTransaction()) throw new TransactionUnsupportedError('the ORM runs without transactions (disableTransactions)');
      const q = createTxRunner(tem.getConnection() as never, tem.getTransactionContext());
      const scope: TxScope = { owner: s, q, store: s.store, name, touched: 0 };
      const value = await runInScope(scope, () => fn(tem, { idempotencyKey: `${s.record.id}:${c.seq}:${name}`, attempt }));
      await tem.flush();
      let payload: string | null;
      try {
        // Stored through the payload door (codecs; the limit applies to the encoded form).
        json = encodeValue(value, what, s.payloads.active ? Number.POSITIVE_INFINITY : s.payloadLimitBytes);
        payload = await s.payloads.encodeJson(json, what, s.payloadLimitBytes);
      } catch (err) {
        throw new NotStorable('', { cause: err });
      }
      if (c.settled || s.dead) throw new Ended();
      if (!s.leaseValid()) throw new LeaseLostError(s.record.id, s.lease.token, 'local lease deadline passed before the transaction committed');
      await fenceByWrite(q, s.store, s.lease);
      const ev = eventAt(c.seq, EventKind.step, name, 'completed', payload, attempt);
      ev.order = reserve();
      await insertCheckpoint(q, s.store, s.lease, [ev]);
      touched = scope.touched;
    }, { isolationLevel: isolationLevel as never });
  } catch (err) {
    if (err instanceof Ended || s.dead) return { kind: 'ended' };
    if (err instanceof LeaseLostError) {
      s.die({ kind: 'lease-lost', error: err });
      return { kind: 'ended' };
    }
    if (isConnectionError(err)) {
      // Unknown outcome: end the run; the next holder replays the checkpoint if it committed.
      s.logger.warn({ err_message: String((err as Error)?.message).slice(0, 300) }, 'connection lost in a transactional step; run ended, lease handed back');
      s.die({ kind: 'aborted', reason: 'store error in a transactional step (outcome unknown)' });
      return { kind: 'ended' };
    }
    if (err instanceof NotStorable) return { kind: 'failed', error: { ...recordError(err.cause), nonRetryable: true } };
    const rec = recordError(err);
    return { kind: 'failed', error: err instanceof TransactionScopeError || err instanceof TransactionUnsupportedError ? { ...rec, nonRetryable: true } : rec };
  }
  if (s.dead) return { kind: 'ended' };
  return { kind: 'committed', json, touched };
}
