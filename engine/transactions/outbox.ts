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
import { decodeValue, encodeValue } from '../serialization';
import { findExecution, insertExecution, isDuplicateKeyError, wakeExecution } from '../store/executions';
import { insertSignal } from '../store/signals';
import { createTxRunner, type SqlRunner, type SqlStore } from '../store/sql';
import { FINISHED_STATUSES, type NewExecution } from '../store/types';
import { uuidv7 } from '../uuid7';
import { validateDelayMs, validateExecutionId, validateName } from '../validation';
import { templateKeyOf, validateWorkflowName, type WorkflowDefinition } from '../workflow/define-workflow';
import { verifySameDatabase } from './orm';
import type { TxScope } from './scope';

/** Options of `ctx.enqueue`. */
export interface EnqueueOptions {
  /** Execution id. @default a new UUIDv7 */
  id?: string;
  /** Do not run before this delay has passed (database clock). */
  delay?: Duration;
}

/** A start as one row (validated; nothing written). Keyed starts (dedup/debounce) are refused. */
export function outboxRow(workflow: WorkflowDefinition<unknown, unknown> | string, input: unknown, o: EnqueueOptions, limit: number,
  traceContext: string | null): NewExecution {
  const def = typeof workflow === 'string' ? undefined : workflow;
  const name = validateWorkflowName(typeof workflow === 'string' ? workflow : workflow?.name, 'workflow');
  if (def?.dedup || def?.debounce) throw new ValidationError(`workflow "${name}" has a dedup/debounce key: it cannot be started inside a caller's transaction`, 'workflow');
  const id = o.id === undefined ? uuidv7() : validateExecutionId(o.id);
  const delayMs = o.delay === undefined ? 0 : validateDelayMs(toMs(o.delay, 'delay'), 'delay');
  return {
    id, workflowName: name, workflowVersion: def?.version ?? 1, templateKey: templateKeyOf(def, input), templateLimit: def?.template?.limit ?? null,
    input: encodeValue(input, `input of workflow "${name}"`, limit), parentId: null, parentSeq: null, delayMs, traceContext,
  };
}

/**
 * Insert `row` on `q`. An id that exists with the same workflow and input is that execution
 * (idempotent); otherwise WorkflowIdConflictError. A failed INSERT leaves the transaction usable
 * (MySQL rolls back only the statement). Returns the run that stands for the start.
 */
export async function insertStart(q: SqlRunner, store: SqlStore, row: NewExecution): Promise<{ runId: string; firstRunId: string }> {
  const runId = row.runId ?? uuidv7();
  try {
    await insertExecution(q, store, { ...row, runId });
    return { runId, firstRunId: row.firstRunId ?? runId };
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    const existing = await findExecution(q, store, row.id);
    if (existing && !existing.continuedFrom && existing.workflowName === row.workflowName && isDeepStrictEqual(decodeValue(existing.input), decodeValue(row.input))) {
      return { runId: existing.runId, firstRunId: existing.firstRunId };
    }
    throw new WorkflowIdConflictError(row.id, existing ? 'an execution with this id already exists' : 'it kept changing while starting');
  }
}

/** `ctx.enqueue` inside a transactional step. */
export async function enqueueInScope(scope: TxScope, row: NewExecution): Promise<string> {
  await insertStart(scope.q, scope.store, row);
  scope.touched++;
  return row.id;
}

/** `ctx.signalExternal` inside a transactional step. */
export async function signalInScope(scope: TxScope, executionId: string, name: string, payload: unknown, limit: number): Promise<void> {
  validateName(name, 'signal');
  const id = validateExecutionId(executionId, 'executionId');
  const encoded = encodeValue(payload, `payload of signal "${name}"`, limit);
  const rec = await findExecution(scope.q, scope.store, id, true);
  if (!rec) throw new ExecutionNotFoundError(id);
  if (FINISHED_STATUSES.includes(rec.status)) throw new ExecutionFinishedError(id, rec.status);
  await insertSignal(scope.q, scope.store.now, id, name, encoded);
  await wakeExecution(scope.q, scope.store, id);
  scope.touched++;
}

/** `client.start(…, { em })`: write the start in the caller's open MikroORM transaction. */
export async function startInCallerTransaction(store: SqlStore, em: EntityManager, row: NewExecution): Promise<{ runId: string; firstRunId: string }> {
  if (!em || typeof em !== 'object' || typeof em.isInTransaction !== 'function') throw new ValidationError('em must be a MikroORM EntityManager', 'em');
  if (!em.isInTransaction()) throw new ValidationError('em must be inside a transaction (em.transactional(…) or em.begin()) for the start to join it', 'em');
  const conn = em.getConnection() as unknown as AbstractSqlConnection;
  await verifySameDatabase(store, conn);
  return insertStart(createTxRunner(conn, em.getTransactionContext()), store, row);
}
