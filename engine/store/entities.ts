/**
 * MikroORM entity schemas of every leaseflow table. They define the schema (migrations are
 * generated from them and a test proves they agree); the store modules talk SQL directly,
 * so rows never leave engine/store. Built per dialect: SQLite wants INTEGER keys where
 * MySQL wants BIGINT (TOOLCHAIN pitfall 4), and big text columns differ in name.
 */
import { EntitySchema } from '@mikro-orm/core';
import type { Dialect } from './dialect';

/** Longest execution id; `workflow_execution:{id}` must still fit a lock key. */
export const MAX_EXECUTION_ID_LENGTH = 200;
/** Longest run id (a UUIDv7 is 36 characters). */
export const MAX_RUN_ID_LENGTH = 40;
/** Longest lock key (the seed's VARCHAR(255)); longer keys are rejected, never truncated. */
export const MAX_LOCK_KEY_LENGTH = 255;
/** Longest lock owner / runner id. */
export const MAX_OWNER_LENGTH = 255;
/** Longest workflow, step, signal or timer name. */
export const MAX_NAME_LENGTH = 255;
/** Longest schedule id: `{schedule}:{fire time ISO}` (25 more) must still be a valid execution id. */
export const MAX_SCHEDULE_ID_LENGTH = 150;

/**
 * `wait_for` holds the JSON of what an execution waits for, names included: a 255-character name
 * may JSON-escape to 6 characters each (`\u001f`), so the column leaves room for that.
 */
export const MAX_WAIT_FOR_LENGTH = 2048;

type Row = Record<string, unknown>;

/** The entity schemas for one dialect, in a stable order. */
export function buildEntities(dialect: Dialect): EntitySchema[] {
  const sqlite = dialect === 'sqlite';
  const bigId = sqlite
    ? { type: 'integer', primary: true, autoincrement: true }
    : { type: 'bigint', columnType: 'bigint', primary: true, autoincrement: true };
  const big = { type: 'bigint', columnType: sqlite ? 'integer' : 'bigint' };
  const longText = { type: 'text', columnType: sqlite ? 'text' : 'mediumtext' };
  const dt = { type: 'datetime', length: 6 };

  const locks = new EntitySchema<Row>({
    name: 'DistributedLock', tableName: 'distributed_locks',
    properties: {
      id: { ...bigId, fieldName: 'id' } as never,
      lockKey: { type: 'string', length: MAX_LOCK_KEY_LENGTH, unique: 'distributed_locks_lock_key_unique' } as never,
      owner: { type: 'string', length: MAX_OWNER_LENGTH },
      token: { ...big, default: 0 } as never,
      holdCount: { type: 'integer', default: 1 },
      expiresAt: { ...dt } as never,
      createdAt: { ...dt } as never,
      updatedAt: { ...dt } as never,
    },
    indexes: [
      { name: 'distributed_locks_owner_idx', properties: ['owner'] },
      { name: 'distributed_locks_expires_at_idx', properties: ['expiresAt'] },
    ],
  });

  const executions = new EntitySchema<Row>({
    name: 'WorkflowExecution', tableName: 'workflow_executions',
    properties: {
      id: { type: 'string', length: MAX_EXECUTION_ID_LENGTH, primary: true },
      runId: { type: 'string', length: MAX_RUN_ID_LENGTH, nullable: true, unique: 'workflow_executions_run_id_unique' },
      firstRunId: { type: 'string', length: MAX_RUN_ID_LENGTH, nullable: true },
      continuedFrom: { type: 'string', length: MAX_RUN_ID_LENGTH, nullable: true },
      runNumber: { type: 'integer', default: 1 },
      workflowName: { type: 'string', length: MAX_NAME_LENGTH },
      workflowVersion: { type: 'integer', default: 1 },
      templateKey: { type: 'string', length: MAX_NAME_LENGTH, nullable: true },
      templateLimit: { type: 'integer', nullable: true },
      templateSeq: { ...big, nullable: true } as never,
      admitted: { type: 'boolean', default: false },
      /** Start priority (higher is claimed first; see engine/flow/priority.ts). */
      priority: { type: 'integer', default: 0 },
      /** Rate-limit key of its start (engine/store/rate-limits.ts), and the spacing period/limit in µs. */
      rateKey: { type: 'string', length: MAX_NAME_LENGTH, nullable: true },
      rateStepUs: { ...big, nullable: true } as never,
      status: { type: 'string', length: 16 },
      input: { ...longText, nullable: true } as never,
      output: { ...longText, nullable: true } as never,
      error: { ...longText, nullable: true } as never,
      customStatus: { ...longText, nullable: true } as never,
      waitFor: { type: 'string', length: MAX_WAIT_FOR_LENGTH, nullable: true },
      availableAt: { ...dt, nullable: true } as never,
      leaseToken: { ...big, default: 0 } as never,
      /** Bumped by every fenced checkpoint, so the fence is a row change Galera certifies (store/fence.ts). */
      fenceSeq: { ...big, default: 0 } as never,
      runnerId: { type: 'string', length: MAX_OWNER_LENGTH, nullable: true },
      nextSeq: { type: 'integer', default: 0 },
      stepAttempt: { type: 'integer', default: 0 },
      attempt: { type: 'integer', default: 0 },
      parentId: { type: 'string', length: MAX_EXECUTION_ID_LENGTH, nullable: true },
      parentSeq: { type: 'integer', nullable: true },
      cancelReason: { type: 'string', length: 1024, nullable: true },
      createdAt: { ...dt } as never,
      updatedAt: { ...dt } as never,
      startedAt: { ...dt, nullable: true } as never,
      finishedAt: { ...dt, nullable: true } as never,
      /** W3C trace context (traceparent[;tracestate]) of the caller that started it. */
      traceContext: { type: 'string', length: 600, nullable: true },
      /** Build id of the code that first ran it / last ran it, and the definition version that last ran it (issue 12). */
      startBuild: { type: 'string', length: 128, nullable: true },
      lastBuild: { type: 'string', length: 128, nullable: true },
      lastVersion: { type: 'integer', nullable: true },
      /** Namespace (engine/namespace): the prefix of `id` before U+001F, else 'default'. Runners claim by it. */
      namespace: { type: 'string', length: 64, default: 'default' },
    },
    indexes: [
      { name: 'workflow_executions_claim_idx', properties: ['status', 'availableAt'] },
      { name: 'workflow_executions_ns_claim_idx', properties: ['namespace', 'status', 'availableAt'] },
      { name: 'workflow_executions_parent_idx', properties: ['parentId'] },
      { name: 'workflow_executions_template_idx', properties: ['templateKey', 'status'] },
      { name: 'workflow_executions_list_idx', properties: ['workflowName', 'status', 'createdAt'] },
      { name: 'workflow_executions_created_idx', properties: ['createdAt'] },
      // The dashboard's status filter pages newest first without scanning other statuses.
      { name: 'workflow_executions_status_created_idx', properties: ['status', 'createdAt'] },
      // Live template view: active members of any template without visiting other active rows.
      { name: 'workflow_executions_status_template_idx', properties: ['status', 'templateKey'] },
      { name: 'workflow_executions_first_run_idx', properties: ['firstRunId'] },
      { name: 'workflow_executions_build_idx', properties: ['lastBuild', 'status'] },
      // O(1) admission: a key's slot holders (admitted = 1) and its FIFO head (admitted = 0, by template_seq) by seek.
      { name: 'workflow_executions_admission_idx', properties: ['templateKey', 'admitted', 'status', 'templateSeq'] },
    ],
  });

  const events = new EntitySchema<Row>({
    name: 'WorkflowEvent', tableName: 'workflow_events',
    properties: {
      executionId: { type: 'string', length: MAX_EXECUTION_ID_LENGTH, primary: true },
      seq: { type: 'integer', primary: true },
      kind: { type: 'string', length: 16 },
      name: { type: 'string', length: MAX_NAME_LENGTH },
      status: { type: 'string', length: 16 },
      payload: { ...longText, nullable: true } as never,
      attempt: { type: 'integer', default: 1 },
      leaseToken: { ...big, default: 0 } as never,
      doneOrder: { type: 'integer', nullable: true },
      createdAt: { ...dt } as never,
    },
  });

  const signals = new EntitySchema<Row>({
    name: 'WorkflowSignal', tableName: 'workflow_signals',
    properties: {
      id: { ...bigId } as never,
      executionId: { type: 'string', length: MAX_EXECUTION_ID_LENGTH },
      name: { type: 'string', length: MAX_NAME_LENGTH },
      payload: { ...longText, nullable: true } as never,
      consumedSeq: { type: 'integer', nullable: true },
      createdAt: { ...dt } as never,
    },
    indexes: [{ name: 'workflow_signals_inbox_idx', properties: ['executionId', 'name', 'consumedSeq'] }],
  });

  const runners = new EntitySchema<Row>({
    name: 'WorkflowRunner', tableName: 'workflow_runners',
    properties: {
      id: { type: 'string', length: MAX_OWNER_LENGTH, primary: true },
      hostname: { type: 'string', length: 255 },
      pid: { type: 'integer' },
      workflows: { type: 'text' },
      concurrency: { type: 'integer' },
      status: { type: 'string', length: 16 },
      startedAt: { ...dt } as never,
      heartbeatAt: { ...dt } as never,
      stoppedAt: { ...dt, nullable: true } as never,
      /** JSON array of the build ids it claims (compatibleBuilds), or null: any build. */
      builds: { type: 'text', nullable: true },
      /** host:port of its doorbell (engine/wake), or null: none. */
      wakeAddr: { type: 'string', length: 100, nullable: true },
    },
    indexes: [{ name: 'workflow_runners_heartbeat_idx', properties: ['status', 'heartbeatAt'] }],
  });

  const templates = new EntitySchema<Row>({
    name: 'WorkflowTemplate', tableName: 'workflow_templates',
    properties: {
      templateKey: { type: 'string', length: MAX_NAME_LENGTH, primary: true },
      nextSeq: { ...big, default: 0 } as never,
      createdAt: { ...dt } as never,
    },
  });

  const schedules = new EntitySchema<Row>({
    name: 'WorkflowSchedule', tableName: 'workflow_schedules',
    properties: {
      id: { type: 'string', length: MAX_SCHEDULE_ID_LENGTH, primary: true },
      workflowName: { type: 'string', length: MAX_NAME_LENGTH },
      workflowVersion: { type: 'integer', default: 1 },
      templateKey: { type: 'string', length: MAX_NAME_LENGTH, nullable: true },
      templateLimit: { type: 'integer', nullable: true },
      input: { ...longText, nullable: true } as never,
      cron: { type: 'string', length: 255, nullable: true },
      everyMs: { ...big, nullable: true } as never,
      timezone: { type: 'string', length: 64, nullable: true },
      overlap: { type: 'string', length: 16 },
      catchupWindowMs: { ...big } as never,
      jitterMs: { ...big, default: 0 } as never,
      paused: { type: 'boolean', default: false },
      nextFireAt: { ...dt, nullable: true } as never,
      dueAt: { ...dt, nullable: true } as never,
      buffered: { type: 'text', nullable: true },
      lastExecutionId: { type: 'string', length: MAX_EXECUTION_ID_LENGTH, nullable: true },
      lastFireAt: { ...dt, nullable: true } as never,
      firedCount: { ...big, default: 0 } as never,
      skippedCount: { ...big, default: 0 } as never,
      missedCount: { ...big, default: 0 } as never,
      createdAt: { ...dt } as never,
      updatedAt: { ...dt } as never,
    },
    indexes: [{ name: 'workflow_schedules_due_idx', properties: ['dueAt'] }],
  });

  const dedup = new EntitySchema<Row>({
    name: 'WorkflowDedupKey', tableName: 'workflow_dedup_keys',
    properties: {
      workflowName: { type: 'string', length: MAX_NAME_LENGTH, primary: true },
      dedupKey: { type: 'string', length: MAX_NAME_LENGTH, primary: true },
      executionId: { type: 'string', length: MAX_EXECUTION_ID_LENGTH },
      expiresAt: { ...dt } as never,
      createdAt: { ...dt } as never,
    },
    indexes: [{ name: 'workflow_dedup_keys_expires_idx', properties: ['expiresAt'] }],
  });

  const debounce = new EntitySchema<Row>({
    name: 'WorkflowDebounceKey', tableName: 'workflow_debounce_keys',
    properties: {
      workflowName: { type: 'string', length: MAX_NAME_LENGTH, primary: true },
      debounceKey: { type: 'string', length: MAX_NAME_LENGTH, primary: true },
      executionId: { type: 'string', length: MAX_EXECUTION_ID_LENGTH },
      updatedAt: { ...dt } as never,
    },
  });

  /** Rate limits: the next free start slot per (workflow, key); see engine/store/rate-limits.ts. */
  const rateLimits = new EntitySchema<Row>({
    name: 'WorkflowRateLimit', tableName: 'workflow_rate_limits',
    properties: {
      workflowName: { type: 'string', length: MAX_NAME_LENGTH, primary: true },
      rateKey: { type: 'string', length: MAX_NAME_LENGTH, primary: true },
      nextAt: { ...dt } as never,
      hintAt: { ...dt } as never,
      updatedAt: { ...dt } as never,
    },
  });

  return [locks, executions, events, signals, runners, templates, schedules, dedup, debounce, rateLimits];
}
