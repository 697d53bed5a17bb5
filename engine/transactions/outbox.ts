/**
 * The transactional outbox: starting an execution and signalling one, written in the caller's
 * open transaction so they happen exactly once with its business writes — `ctx.enqueue` and
 * `ctx.signalExternal` inside `ctx.transaction`, and `client.start(…, { em })` in application
 * code. A runner sees the new work at its next poll after the caller commits (the in-process
 * notifier is nudged after a transactional step commits).
 */
import { isDeepStrictEqual } from 'node:util';
import type { EntityManager } from '@mikro-orm/core';
import type { AbstractSqlConnection } from '@mikro-orm/knex';
import { toMs, type Duration } from '../duration';
import { ExecutionFinishedError, ExecutionNotFoundError, ValidationError, WorkflowIdConflictError } from '../errors';
import type { PayloadDoor } from '../codec/door';
import { nsKey, storedKey } from '../namespace/keys';
import { validatePriority } from '../flow/options';
import { MAX_NAME_LENGTH } from '../store/entities';
import { findExecution, insertExecution, isDuplicateKeyError, wakeExecution } from '../store/executions';
import { insertSignal } from '../store/signals';
import { createTxRunner, type SqlRunner, type SqlStore } from '../store/sql';
import { FINISHED_STATUSES, type NewExecution } from '../store/types';
import { uuidv7 } from '../uuid7';
import { MAX_START_ID_LENGTH, validateDelayMs, validateExecutionId, validateName } from '../validation';
import { rateLimitOf, templateKeyOf, validateWorkflowName, type WorkflowDefinition } from '../workflow/define-workflow';
import { verifySameDatabase } from './orm';
import type { TxScope } from './scope';

/** Options of `ctx.enqueue`. */
export interface EnqueueOptions {
  /** Execution id. @default a new UUIDv7 */
  id?: string;
  /** Do not run before this delay has passed (database clock). */
  delay?: Duration;
  /** Start priority 0…1000 (engine/flow). @default 0 */
  priority?: number;
}

/** Where an outbox write lands: the caller's payload door (codecs) and namespace. */
export interface OutboxTarget {
  readonly payloads: PayloadDoor;
  readonly namespace: string;
}

/**
 * A start as one row (validated; nothing written): the id and template key stored in the
 * target's namespace, the input through its payload door, priority and rate limit as a plain
 * start has them. Keyed starts (dedup/debounce) are refused.
 */
export async function outboxRow(t: OutboxTarget, workflow: WorkflowDefinition<unknown, unknown> | string, input: unknown, o: EnqueueOptions, limit: number,
  traceContext: string | null): Promise<NewExecution> {
  const def = typeof workflow === 'string' ? undefined : workflow;
  const name = validateWorkflowName(typeof workflow === 'string' ? workflow : workflow?.name, 'workflow');
  refuseKeyedStart(def, name);
  const id = storedKey(t.namespace, o.id === undefined ? uuidv7() : validateExecutionId(o.id), MAX_START_ID_LENGTH, 'execution id');
  const delayMs = o.delay === undefined ? 0 : validateDelayMs(toMs(o.delay, 'delay'), 'delay');
  const key = templateKeyOf(def, input);
  return {
    id, workflowName: name, workflowVersion: def?.version ?? 1, templateKey: key === null ? null : storedKey(t.namespace, key, MAX_NAME_LENGTH, 'template key'),
    templateLimit: def?.template?.limit ?? null, input: await t.payloads.encodeValue(input, `input of workflow "${name}"`, limit), parentId: null, parentSeq: null,
    delayMs, traceContext, priority: validatePriority(o.priority), priorityStepMs: def?.priorityStepMs, rateLimit: rateLimitOf(def, input),
  };
}

/** Dedup/debounce starts read and move other rows: they cannot join a caller's transaction. */
export function refuseKeyedStart(def: WorkflowDefinition<unknown, unknown> | undefined, name: string): void {
  if (def?.dedup || def?.debounce) throw new ValidationError(`workflow "${name}" has a dedup/debounce key: it cannot be started inside a caller's transaction`, 'workflow');
}

/**
 * Insert `row` on `q`. An id that exists with the same workflow and input is that execution
 * (idempotent); otherwise WorkflowIdConflictError. A failed INSERT leaves the transaction usable
 * (MySQL rolls back only the statement). Returns the run that stands for the start.
 */
export async function insertStart(q: SqlRunner, store: SqlStore, payloads: PayloadDoor, row: NewExecution): Promise<{ runId: string; firstRunId: string }> {
  const runId = row.runId ?? uuidv7();
  try {
    await insertExecution(q, store, { ...row, runId });
    return { runId, firstRunId: row.firstRunId ?? runId };
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    const existing = await findExecution(q, store, row.id);
    if (existing && !existing.continuedFrom && existing.workflowName === row.workflowName && isDeepStrictEqual(await payloads.decodeForDisplay(existing.input), await payloads.decodeValue(row.input))) {
      return { runId: existing.runId, firstRunId: existing.firstRunId };
    }
    throw new WorkflowIdConflictError(row.id, existing ? 'an execution with this id already exists' : 'it kept changing while starting');
  }
}

/** `ctx.enqueue` inside a transactional step. */
export async function enqueueInScope(scope: TxScope, t: OutboxTarget, row: NewExecution): Promise<string> {
  await insertStart(scope.q, scope.store, t.payloads, row);
  scope.touched++;
  return row.id;
}

/** `ctx.signalExternal` inside a transactional step: `executionId` names an execution of the target's namespace. */
export async function signalInScope(scope: TxScope, t: OutboxTarget, executionId: string, name: string, payload: unknown, limit: number): Promise<void> {
  validateName(name, 'signal');
  const local = validateExecutionId(executionId, 'executionId');
  const id = nsKey(t.namespace, local);
  const encoded = await t.payloads.encodeValue(payload, `payload of signal "${name}"`, limit);
  const rec = await findExecution(scope.q, scope.store, id, true);
  if (!rec) throw new ExecutionNotFoundError(local);
  if (FINISHED_STATUSES.includes(rec.status)) throw new ExecutionFinishedError(local, rec.status);
  await insertSignal(scope.q, scope.store.now, id, name, encoded);
  await wakeExecution(scope.q, scope.store, id);
  scope.touched++;
}

/** `client.start(…, { em })`: write the start in the caller's open MikroORM transaction. */
export async function startInCallerTransaction(store: SqlStore, payloads: PayloadDoor, em: EntityManager, row: NewExecution): Promise<{ runId: string; firstRunId: string }> {
  if (!em || typeof em !== 'object' || typeof em.isInTransaction !== 'function') throw new ValidationError('em must be a MikroORM EntityManager', 'em');
  if (!em.isInTransaction()) throw new ValidationError('em must be inside a transaction (em.transactional(…) or em.begin()) for the start to join it', 'em');
  const conn = em.getConnection() as unknown as AbstractSqlConnection;
  await verifySameDatabase(store, conn);
  return insertStart(createTxRunner(conn, em.getTransactionContext()), store, payloads, row);
}
