/**
 * `createClient`: submit and inspect executions. `start` is idempotent on the id: the same
 * id with the same workflow and input returns the existing execution, a different one throws
 * WorkflowIdConflictError, and a finished id may be reused according to the reuse policy.
 * Bad input is rejected before anything is written.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { toMs } from '../duration';
import { uuidv7 } from '../uuid7';
import { ValidationError, WorkflowIdConflictError } from '../errors';
import { silentLogger } from '../logger';
import { DEFAULT_PAYLOAD_LIMIT_BYTES } from '../serialization';
import type { PayloadCodec } from '../codec/types';
import { inNamespace, localKey, localKeyOrNull, nsKey, storedKey, validateNamespace } from '../namespace/keys';
import { resolveDatabase, type Database, type DbInput } from '../store/database';
import { findExecution, isDuplicateKeyError, listExecutions } from '../store/executions';
import { archiveRun, findRun } from '../store/runs';
import { insertExecution } from '../store/executions';
import { notifier } from '../store/notifier';
import { FINISHED_STATUSES, type ExecutionRecord, type ExecutionStatus, type NewExecution } from '../store/types';
import { captureTraceContext } from '../tracing/trace-context';
import { rateLimitOf, templateKeyOf, validateWorkflowName, type WorkflowDefinition } from '../workflow/define-workflow';
import { validatePriority } from '../flow/options';
import { prepareStart, writeStart } from './keyed-start';
import { StartBatcher } from './start-batcher';
import { startRinging } from '../wake/doorbell';
import { refuseKeyedStart, startInCallerTransaction } from '../transactions/outbox';
import { createScheduleClient } from '../schedules/client';
import type { ScheduleClient } from '../schedules/types';
import { WorkflowHandle } from './handle';
import { MAX_NAME_LENGTH } from '../store/entities';
import { MAX_START_ID_LENGTH, validateDelayMs, validateDueAtMs, validateExecutionId, validateExecutionIdForRead } from '../validation';
import type { GetHandleOptions, ListOptions, ListPage, StartOptions } from './types';

/** Longest id a caller may choose (room is kept for `#n` archive suffixes and child ids). */
export { MAX_START_ID_LENGTH, validateExecutionId } from '../validation';

/** Options of `createClient`. */
export interface ClientOptions {
  /** A store URL or an opened handle. @default the embedded SQLite file */
  db?: DbInput;
  /** The namespace every id, key and schedule of this client lives in (engine/namespace). @default 'default' */
  namespace?: string;
  /** Payload codecs when `db` is a URL (with an opened Database, give them to `openDatabase`). */
  codecs?: readonly PayloadCodec[];
  logger?: Logger;
  /** Size limit of inputs and signal payloads. @default 2 MiB */
  payloadLimitBytes?: number;
}

/** The client. */
export interface Client {
  readonly db: Database;
  /** The namespace this client is bound to ('default' unless given). */
  readonly namespace: string;
  start<I, O>(workflow: WorkflowDefinition<I, O>, input: I, options?: StartOptions): Promise<WorkflowHandle<O>>;
  start(workflow: string, input: unknown, options?: StartOptions): Promise<WorkflowHandle<unknown>>;
  /**
   * A handle on an existing execution. Without options it follows the id: whichever run holds
   * the id when a method is called (the latest). With `runId` it is bound to that run (and,
   * unless `followContinuations: false`, to the runs it continued as).
   */
  getHandle<O = unknown>(executionId: string, options?: GetHandleOptions): WorkflowHandle<O>;
  list(options?: ListOptions): Promise<ListPage>;
  /** Cron and interval schedules (engine/schedules). */
  readonly schedules: ScheduleClient;
  close(): Promise<void>;
}

/** Create a client. */
export async function createClient(options: ClientOptions = {}): Promise<Client> {
  const { db, owned } = await resolveDatabase(options.db, { logger: options.logger, codecs: options.codecs });
  const logger = (options.logger ?? silentLogger()).child({ component: 'client' });
  const limit = options.payloadLimitBytes ?? DEFAULT_PAYLOAD_LIMIT_BYTES;
  const ns = validateNamespace(options.namespace);
  const { sql } = db;
  const plainStarts = new StartBatcher(sql);
  // Starts, signals and cancels made here ring idle runners elsewhere (engine/wake).
  const ringing = startRinging(db.url, sql);
  const insertPlain = (row: NewExecution) => plainStarts.insert(row);

  async function start(workflow: WorkflowDefinition<unknown, unknown> | string, input: unknown, opts: StartOptions = {}): Promise<WorkflowHandle<unknown>> {
    const def = typeof workflow === 'string' ? undefined : workflow;
    const name = validateWorkflowName(typeof workflow === 'string' ? workflow : workflow?.name, 'workflow');
    const id = storedKey(ns, opts.id === undefined ? uuidv7() : validateExecutionId(opts.id), MAX_START_ID_LENGTH, 'execution id');
    const policy = opts.idReusePolicy ?? 'reject-duplicate';
    if (!['reject-duplicate', 'allow-duplicate', 'allow-duplicate-failed-only'].includes(policy)) {
      throw new ValidationError(`idReusePolicy must be reject-duplicate, allow-duplicate or allow-duplicate-failed-only (got ${String(policy)})`, 'idReusePolicy');
    }
    const encoded = await db.payloads.encodeValue(input, `input of workflow "${name}"`, limit);
    let delayMs = opts.delay === undefined ? 0 : validateDelayMs(toMs(opts.delay, 'delay'), 'delay');
    if (opts.startAt !== undefined) {
      if (!(opts.startAt instanceof Date) || Number.isNaN(opts.startAt.getTime())) throw new ValidationError('startAt must be a valid Date', 'startAt');
      delayMs = Math.max(delayMs, validateDueAtMs(opts.startAt.getTime(), 'startAt') - Date.now());
    }
    const key = templateKeyOf(def, input);
    const templateKey = key === null ? null : storedKey(ns, key, MAX_NAME_LENGTH, 'template key');
    const runId = uuidv7();
    const row: NewExecution = {
      id, runId, workflowName: name, workflowVersion: def?.version ?? 1, templateKey, templateLimit: def?.template?.limit ?? null,
      input: encoded, parentId: null, parentSeq: null, delayMs, traceContext: captureTraceContext(),
      priority: validatePriority(opts.priority), priorityStepMs: def?.priorityStepMs, rateLimit: rateLimitOf(def, input),
    };
    // Rows written without a run id (raw SQL) get a handle that follows the id.
    const handle = (rec: Pick<ExecutionRecord, 'runId' | 'firstRunId'>) => new WorkflowHandle(db, id, limit, rec.runId ? { runId: rec.runId, firstRunId: rec.firstRunId } : undefined);
    if (opts.em !== undefined) {
      if (opts.idReusePolicy !== undefined && policy !== 'reject-duplicate') throw new ValidationError('idReusePolicy cannot be combined with em', 'idReusePolicy');
      refuseKeyedStart(def, name);
      // The row of a plain start (namespaced id and keys, encoded input, priority, rate limit), written in the caller's transaction.
      return handle(await startInCallerTransaction(sql, db.payloads, opts.em, row));
    }
    const prepared = inNamespace(ns, prepareStart(def, input, row));
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const holder = await writeStart(sql, prepared, insertPlain);
        if (holder !== id) return new WorkflowHandle(db, holder, limit); // dedup/debounce: another execution holds the key
        logger.debug({ execution_id: id, run_id: runId, workflow: name }, 'execution started');
        notifier(db.url).emit('work');
        return handle({ runId, firstRunId: runId });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      let existing = await findExecution(sql, sql, id);
      if (!existing) continue; // archived meanwhile: try again
      // A chain that continued as new was started with its first run's input: compare with that.
      if (existing.continuedFrom) existing = { ...existing, input: (await findRun(sql, sql, existing.firstRunId))?.input ?? existing.input, runId: existing.firstRunId };
      const same = existing.workflowName === name && isDeepStrictEqual(await db.payloads.decodeForDisplay(existing.input), await db.payloads.decodeValue(encoded));
      const reusable = isFinished(existing.status) && (policy === 'allow-duplicate' || (policy === 'allow-duplicate-failed-only' && existing.status !== 'completed'));
      if (reusable) {
        if (await startNextRun(row)) {
          notifier(db.url).emit('work');
          return handle({ runId, firstRunId: runId });
        }
        continue;
      }
      if (same) return handle(existing);
      throw new WorkflowIdConflictError(id, existing.workflowName !== name
        ? `it belongs to workflow "${existing.workflowName}", not "${name}"`
        : 'it was started with a different input');
    }
    throw new WorkflowIdConflictError(id, 'it kept changing while starting (concurrent reuse)');
  }

  /**
   * Reuse policy: in ONE transaction, archive the finished run holding the id and insert the new
   * run after it (next run number; lease tokens of the id keep growing). False if it changed.
   */
  async function startNextRun(row: NewExecution): Promise<boolean> {
    return sql.tx(async (q) => {
      const rec = await findExecution(q, sql, row.id, true);
      if (!rec || !isFinished(rec.status)) return false;
      const n = await archiveRun(q, sql, rec, false);
      await insertExecution(q, sql, { ...row, runNumber: n + 1, leaseToken: rec.leaseToken });
      return true;
    });
  }

  async function list(opts: ListOptions = {}): Promise<ListPage> {
    const limitN = opts.limit ?? 50;
    if (!Number.isInteger(limitN) || limitN < 1 || limitN > 1000) throw new ValidationError('limit must be an integer between 1 and 1000', 'limit');
    let after: { createdAt: Date; id: string } | undefined;
    if (opts.cursor !== undefined) {
      try {
        const c = JSON.parse(Buffer.from(opts.cursor, 'base64url').toString('utf8')) as { t: number; id: string };
        if (typeof c.t !== 'number' || typeof c.id !== 'string') throw new Error('shape');
        after = { createdAt: new Date(c.t), id: c.id };
      } catch {
        throw new ValidationError('cursor is not one this client produced', 'cursor');
      }
    }
    const rows = await listExecutions(sql, sql, {
      namespace: ns, status: opts.status, workflow: opts.workflow, parentId: opts.parentId === undefined ? undefined : nsKey(ns, opts.parentId),
      createdAfter: opts.from, createdBefore: opts.to, idPrefix: opts.idPrefix === undefined ? undefined : nsKey(ns, opts.idPrefix),
      templateKey: opts.templateKey === undefined ? undefined : nsKey(ns, opts.templateKey), build: opts.build,
      limit: limitN + 1, after,
    });
    const page = rows.slice(0, limitN);
    const last = page[page.length - 1];
    return {
      executions: page.map((r) => ({
        id: localKey(r.id), workflowName: r.workflowName, status: r.status, attempts: r.attempt, createdAt: r.createdAt,
        finishedAt: r.finishedAt, parentId: localKeyOrNull(r.parentId), templateKey: localKeyOrNull(r.templateKey),
        workflowVersion: r.workflowVersion, startBuild: r.startBuild, lastBuild: r.lastBuild,
      })),
      nextCursor: rows.length > limitN && last ? Buffer.from(JSON.stringify({ t: last.createdAt.getTime(), id: last.id })).toString('base64url') : undefined,
    };
  }

  return {
    db,
    start: start as Client['start'],
    getHandle: <O>(executionId: string, o: GetHandleOptions = {}) => {
      const eid = nsKey(ns, validateExecutionIdForRead(executionId));
      if (o.runId === undefined) return new WorkflowHandle<O>(db, eid, limit);
      if (typeof o.runId !== 'string' || o.runId.length === 0) throw new ValidationError('runId must be a non-empty string', 'runId');
      return new WorkflowHandle<O>(db, eid, limit, { runId: o.runId, strict: o.followContinuations === false });
    },
    list,
    namespace: ns,
    schedules: createScheduleClient(db, { payloadLimitBytes: limit, logger, namespace: ns }),
    async close() {
      ringing.stop();
      if (owned) await db.close();
    },
  };
}

const isFinished = (status: ExecutionStatus) => FINISHED_STATUSES.includes(status);
