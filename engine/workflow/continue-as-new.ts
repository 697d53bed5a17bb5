/**
 * `ctx.continueAsNew(input)`: end this run and hand over to a fresh run of the same id with an
 * empty history. The input is validated like a start's before anything is written; the switch
 * itself is ONE fenced transaction (store/continue-as-new.ts), so a holder that lost its lease
 * commits nothing and the run it could not end is resumed elsewhere as usual.
 */
import { namespaceOf, nsKeyOrNull } from '../namespace/keys';
import { LeaseLostError, NonDeterminismError, ValidationError } from '../errors';
import { MAX_EXECUTION_ID_LENGTH } from '../store/entities';
import { encodeValue } from '../serialization';
import { uuidv7 } from '../uuid7';
import { templateKeyFor } from './define-workflow';
import { checkNothingLeft } from './replay';
import type { ExecutionSession } from './session';
import { never } from './command';

/** Room an archived run's `#n` suffix needs. */
const ARCHIVE_SUFFIX_ROOM = 12;

/** Everything checked before the run may continue (throws ValidationError/SerializationError). */
export function prepareContinuation(session: ExecutionSession, input: unknown) {
  const def = session.definition;
  // The ended run is kept as `{id}#{n}`: that must fit an execution id.
  if ([...session.record.id].length + ARCHIVE_SUFFIX_ROOM > MAX_EXECUTION_ID_LENGTH) {
    throw new ValidationError(`execution id "${session.record.id}" is too long to continue as new (at most ${MAX_EXECUTION_ID_LENGTH - ARCHIVE_SUFFIX_ROOM} characters)`, 'id');
  }
  return {
    runId: uuidv7(),
    // JSON now (a bad input throws at the call); the codec chain and the size limit in continueAsNew.
    input: encodeValue(input, `input of continueAsNew of "${def.name}"`, session.payloads.active ? Number.POSITIVE_INFINITY : session.payloadLimitBytes),
    workflowVersion: def.version,
    templateKey: nsKeyOrNull(namespaceOf(session.record.id), templateKeyFor(def, input)),
    templateLimit: def.template?.limit ?? null,
  };
}

/**
 * Commit the continuation (the body's next position is `position`) and end the run. Branches
 * still pending are abandoned, as when the body returns; a pending cancellation is carried to the
 * next run. Never resolves: the run ends `continued`, or lease-lost / aborted (store error).
 */
export async function continueAsNew(session: ExecutionSession, position: number, next: ReturnType<typeof prepareContinuation>): Promise<never> {
  try {
    // Recorded positions past this one mean the code changed: park, as replay would.
    checkNothingLeft(session.history, position);
  } catch (err) {
    if (err instanceof NonDeterminismError) session.die({ kind: 'fatal', error: err });
    return never();
  }
  if (session.dead) return never();
  // Over the limit once encoded: rejects the continueAsNew call (nothing written).
  next = { ...next, input: await session.payloads.encodeJson(next.input, `input of continueAsNew of "${session.definition.name}"`, session.payloadLimitBytes) };
  if (session.dead) return never();
  session.scheduler.halt(); // no suspension races the switch
  let ok: boolean;
  try {
    ok = await session.finish('continued', JSON.stringify({ nextRunId: next.runId }), null, session.record, next);
  } catch (err) {
    session.die({ kind: 'aborted', reason: `store error: ${String((err as Error)?.message ?? err).slice(0, 200)}` });
    return never();
  }
  session.die(ok
    ? { kind: 'continued', runId: next.runId }
    : { kind: 'lease-lost', error: new LeaseLostError(session.record.id, session.lease.token, 'lease lost before continue-as-new') });
  return never();
}
