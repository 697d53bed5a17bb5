/**
 * Executing one claimed execution: load its history, run the workflow body against a live
 * context (replaying what is recorded, running the rest), and end with exactly one outcome —
 * completed, failed, cancelled, suspended (a long wait released the lease), lease-lost, or
 * aborted. The runner calls this; tests may drive it directly.
 */
import type { Logger } from 'pino';
import { CancelledError, NonDeterminismError, PayloadCodecError, recordError, type RecordedError } from '../errors';
import { silentLogger } from '../logger';
import { decodeValue, DEFAULT_PAYLOAD_LIMIT_BYTES } from '../serialization';
import { PLAIN_DOOR, type PayloadDoor } from '../codec/door';
import { loadHistory } from '../store/events';
import type { SqlStore } from '../store/sql';
import type { ClaimedExecution, WaitFor } from '../store/types';
import { LiveContext } from '../workflow/context';
import { checkNothingLeft } from '../workflow/replay';
import { ExecutionSession, type SessionEmit, type SessionOptions } from '../workflow/session';
import type { WorkflowDefinition } from '../workflow/define-workflow';

/** How one run of an execution ended. */
export type ExecutionOutcome =
  | { kind: 'completed'; output: unknown }
  | { kind: 'failed'; error: RecordedError }
  | { kind: 'cancelled'; reason: string }
  | { kind: 'suspended'; waitFor: WaitFor }
  /** Ended with ctx.continueAsNew: run `runId` of the same id is queued. */
  | { kind: 'continued'; runId: string }
  | { kind: 'lease-lost'; detail: string }
  | { kind: 'aborted'; reason: string };

/** Inputs of `executeClaimed`. */
export interface ExecuteOptions {
  store: SqlStore;
  execution: ClaimedExecution;
  definition: WorkflowDefinition<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  owner: string;
  /** Waits up to this long stay in memory (slot held) instead of suspending. @default 1000 */
  holdWaitsUpToMs?: number;
  /** @default 2 MiB */
  payloadLimitBytes?: number;
  /** The runner's local lease deadline check. @default always valid */
  leaseValid?: () => boolean;
  /** Aborts the run from outside (shutdown, heartbeat found the lease gone). */
  signal?: AbortSignal;
  emit?: SessionEmit;
  nudge?: () => void;
  logger?: Logger;
  /** Group commit of plain checkpoints (see commit-batcher.ts). */
  commitEvents?: SessionOptions['commitEvents'];
  /** Group commit of terminal commits (see finish-batcher.ts). */
  commitFinish?: SessionOptions['commitFinish'];
  /** The application's MikroORM for transactional steps. */
  orm?: SessionOptions['orm'];
  /** The store's payload door (codec chain). @default plain JSON */
  payloads?: PayloadDoor;
  /** Receives the session once created (the runner uses it to forward cancellations). */
  onSession?: (session: ExecutionSession) => void;
}

/** Run one claimed execution until it completes, fails, waits, or loses its lease. */
export async function executeClaimed(opts: ExecuteOptions): Promise<ExecutionOutcome> {
  const { store, execution } = opts;
  const logger = (opts.logger ?? silentLogger()).child({ execution_id: execution.id, workflow: execution.workflowName });
  // A first claim has no history: events are only ever written under a lease.
  const door = opts.payloads ?? PLAIN_DOOR;
  const stored = execution.attempt === 1 ? [] : await loadHistory(store, execution.id, store.date);
  // Decoded once, here: replay reads plain JSON. A payload this runner cannot decode (a key it
  // lacks) fails the execution with a PayloadCodecError (resumable once the key is configured).
  let undecodable: PayloadCodecError | null = null;
  const decodeOrNote = async (text: string | null): Promise<string | null> => {
    try { return await door.decodeJson(text); } catch (err) {
      if (!(err instanceof PayloadCodecError)) throw err;
      undecodable ??= err;
      return null;
    }
  };
  const history = await Promise.all(stored.map(async (e) => ({ ...e, payload: await decodeOrNote(e.payload) })));
  const inputJson = await decodeOrNote(execution.input);
  const session = new ExecutionSession({
    payloads: door,
    store, record: execution, history, definition: opts.definition, owner: opts.owner,
    holdWaitsUpToMs: opts.holdWaitsUpToMs ?? 1000,
    payloadLimitBytes: opts.payloadLimitBytes ?? DEFAULT_PAYLOAD_LIMIT_BYTES,
    leaseValid: opts.leaseValid ?? (() => true),
    emit: opts.emit ?? (() => undefined),
    nudge: opts.nudge ?? (() => undefined),
    logger,
    commitEvents: opts.commitEvents,
    commitFinish: opts.commitFinish,
    orm: opts.orm,
  });
  opts.onSession?.(session);
  const onAbort = () => session.die({ kind: 'aborted', reason: String(opts.signal?.reason ?? 'aborted') });
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (undecodable) {
      const error = recordError(undecodable);
      return (await session.finish('failed', null, error, execution)) ? { kind: 'failed', error } : { kind: 'lease-lost', detail: 'lease lost before the final commit' };
    }
    const ctx = new LiveContext(session, logger);
    const body = Promise.resolve()
      .then(() => opts.definition.fn(ctx, decodeValue(inputJson)))
      .then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
    session.scheduler.start();
    const first = await Promise.race([body, session.ended]);
    session.scheduler.halt();
    if ('kind' in first) return await interrupted(session, first);
    if (session.dead) return await interrupted(session, await session.ended);

    let status: 'completed' | 'failed' | 'cancelled';
    let output: string | null = null;
    let error: RecordedError | null = null;
    if (first.ok) {
      try {
        checkNothingLeft(session.history, ctx.position);
        output = await door.encodeValue(first.value, `output of workflow "${execution.workflowName}"`, session.payloadLimitBytes);
        status = 'completed';
      } catch (err) {
        status = 'failed';
        error = recordError(err);
      }
    } else if (first.error instanceof CancelledError && session.cancelReason !== null) {
      status = 'cancelled';
      error = recordError(first.error);
    } else {
      status = 'failed';
      error = recordError(first.error);
    }
    if (!(await session.finish(status, output, error, execution))) {
      return { kind: 'lease-lost', detail: 'lease lost before the final commit' };
    }
    session.die({ kind: 'aborted', reason: 'finished' });
    if (status === 'completed') return { kind: 'completed', output: first.ok ? first.value : undefined };
    if (status === 'cancelled') return { kind: 'cancelled', reason: session.cancelReason ?? 'cancelled' };
    return { kind: 'failed', error: error as RecordedError };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

async function interrupted(session: ExecutionSession, r: Awaited<ExecutionSession['ended']>): Promise<ExecutionOutcome> {
  switch (r.kind) {
    case 'suspended':
      return { kind: 'suspended', waitFor: r.waitFor };
    case 'lease-lost':
      return { kind: 'lease-lost', detail: r.error.message };
    case 'aborted':
      return { kind: 'aborted', reason: r.reason };
    case 'continued':
      return { kind: 'continued', runId: r.runId };
    case 'fatal': {
      // Park: the execution fails with the NonDeterminismError and is left for a person.
      const error = recordError(r.error as NonDeterminismError);
      const ok = await session.finish('failed', null, error, session.record);
      return ok ? { kind: 'failed', error } : { kind: 'lease-lost', detail: 'lease lost while parking a non-deterministic execution' };
    }
  }
}
