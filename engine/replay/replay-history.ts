/**
 * Replay testing for users: run the CURRENT workflow code against a stored history, in-process,
 * and report the first divergence. Nothing runs and nothing is written: the session's store
 * refuses every call, its commits refuse too, and the run ends (`replayOnly`) at the first
 * command past the recorded history, before any step body starts.
 */
import { NonDeterminismError, ValidationError, type Divergence } from '../errors';
import { silentLogger } from '../logger';
import { DEFAULT_PAYLOAD_LIMIT_BYTES } from '../serialization';
import { loadHistory } from '../store/events';
import { findExecution } from '../store/executions';
import type { SqlStore } from '../store/sql';
import { FINISHED_STATUSES, type ClaimedExecution, ExecutionRecord, HistoryEvent } from '../store/types';
import { LiveContext } from '../workflow/context';
import type { WorkflowDefinition } from '../workflow/define-workflow';
import { checkNothingLeft } from '../workflow/replay';
import { REPLAY_END } from '../workflow/scheduler';
import { ExecutionSession } from '../workflow/session';
import type { Database } from '../store/database';
import { parseShowJson } from './show-json';
import { nsKey, validateNamespace } from '../namespace/keys';

/** Where a replay reads its history: `leaseflow show <id> --json` output (text or parsed), or a store (the id in `namespace`, default 'default'). */
export type ReplaySource = string | { execution: unknown; history: unknown } | { db: Database; executionId: string; namespace?: string };

/** Result of `replayHistory`. */
export type ReplayResult =
  | {
    ok: true;
    /** Recorded events the replay went through. */
    replayedEvents: number;
    /** `completed`: the code reached its end (`outcome` says how); `incomplete`: it would continue live past the history. */
    status: 'completed' | 'incomplete';
    /** When incomplete: the first command past the history (the code would run it live), if one was issued. */
    next?: { seq: number; kind: string; name: string };
    outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
  }
  | { ok: false; divergence: Divergence & { message: string } };

/** Thrown by the refusing store: a replay must never reach the database. */
class ReplayWriteRefused extends Error {
  constructor(what: string) {
    super(`replay refused a store call (${what})`);
  }
}

/** A store stand-in that throws on every use. */
function refusingStore(): SqlStore {
  return new Proxy({}, {
    get(_t, prop) {
      if (prop === 'then') return undefined;
      throw new ReplayWriteRefused(String(prop));
    },
  }) as SqlStore;
}

async function loadSource(source: ReplaySource): Promise<{ record: ExecutionRecord; history: HistoryEvent[] }> {
  if (source !== null && typeof source === 'object' && 'db' in source) {
    const { db, executionId } = source;
    if (typeof executionId !== 'string' || executionId === '') throw new ValidationError('replayHistory source.executionId must be a non-empty string', 'executionId');
    const record = await findExecution(db.sql, db.sql, nsKey(validateNamespace(source.namespace), executionId));
    if (!record) throw new ValidationError(`replayHistory: no execution "${executionId}" in the store`, 'executionId');
    // Decoded with the store's codec chain (a key it lacks: PayloadCodecError).
    const history = await Promise.all((await loadHistory(db.sql, record.id, db.sql.date)).map(async (e) => ({ ...e, payload: await db.payloads.decodeJson(e.payload) })));
    return { record: { ...record, input: await db.payloads.decodeJson(record.input) }, history };
  }
  return parseShowJson(source);
}

/** Replay `source`'s history against `definition`; never throws for a divergence (ValidationError for bad input). */
export async function replayHistory(definition: WorkflowDefinition<any, any>, source: ReplaySource): Promise<ReplayResult> { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!definition || typeof definition.fn !== 'function') throw new ValidationError('replayHistory needs a workflow definition (defineWorkflow)', 'definition');
  const { record, history } = await loadSource(source);
  if (record.workflowName !== definition.name) {
    throw new ValidationError(`replayHistory: the history is of workflow "${record.workflowName}", not "${definition.name}"`, 'definition');
  }
  return replayRecorded(definition, record, history);
}

/** Replay one loaded history (the deploy gate streams them); the caller checked the workflow name. */
export async function replayRecorded(definition: WorkflowDefinition<any, any>, record: ExecutionRecord, history: HistoryEvent[]): Promise<ReplayResult> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const claimed: ClaimedExecution = { ...record, cancelReason: null, waitFor: null, nextSeq: 0, stepAttempt: 0, dbNow: new Date() };
  let next: { seq: number; kind: string; name: string } | undefined;
  const refuse = async (): Promise<never> => { throw new ReplayWriteRefused('commit'); };
  const logger = silentLogger();
  const session = new ExecutionSession({
    store: refusingStore(), record: claimed, history, definition, owner: 'replay-history', holdWaitsUpToMs: 0,
    payloadLimitBytes: DEFAULT_PAYLOAD_LIMIT_BYTES, leaseValid: () => true, emit: () => undefined, nudge: () => undefined, logger,
    commitEvents: refuse, commitFinish: refuse, replayOnly: (cmd) => { next = { seq: cmd.seq, kind: cmd.kind, name: cmd.name }; },
  });
  const ctx = new LiveContext(session, logger);
  const body = Promise.resolve()
    .then(() => definition.fn(ctx, record.input === null ? undefined : JSON.parse(record.input)))
    .then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));
  session.scheduler.start();
  const first = await Promise.race([body, session.ended]);
  session.scheduler.halt();
  const replayedEvents = session.scheduler.deliveries;
  if ('kind' in first || session.dead) {
    const end = 'kind' in first ? first : await session.ended;
    session.die({ kind: 'aborted', reason: 'replay over' });
    if (end.kind === 'fatal') return divergence(end.error);
    if (next && FINISHED_STATUSES.includes(record.status)) {
      // The execution ended with this history, but the code now goes on: that is a divergence too.
      return {
        ok: false,
        divergence: {
          seq: next.seq, expected: { kind: 'end', name: record.status }, actual: { kind: next.kind, name: next.name },
          message: `history ends (${record.status}) at position ${next.seq}, but the workflow now issued ${next.kind} "${next.name}" there`,
        },
      };
    }
    return { ok: true, replayedEvents, status: 'incomplete', next };
  }
  session.die({ kind: 'aborted', reason: 'replay over' });
  try {
    checkNothingLeft(session.history, ctx.position);
  } catch (err) {
    if (err instanceof NonDeterminismError) return divergence(err);
    throw err;
  }
  return { ok: true, replayedEvents, status: 'completed', outcome: first };
}

function divergence(err: NonDeterminismError): ReplayResult {
  const d = err.divergence ?? { seq: -1, expected: { kind: '?', name: '?' }, actual: null };
  return { ok: false, divergence: { ...d, message: err.message } };
}

export { REPLAY_END };
