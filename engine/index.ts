/**
 * leaseflow's public API. Explicit named exports only; everything else is internal.
 */
export { openDatabase, type Database, type DbInput, type OpenDatabaseOptions } from './store/database';
export type { SessionTuning } from './store/config';
export { DEFAULT_DB_URL, parseDbUrl, type Dialect } from './store/dialect';
export { ExecutionStatus, type WaitFor } from './store/types';

export { defineWorkflow, type WorkflowDefinition, type WorkflowOptions, type WorkflowFunction, type WorkflowInput, type WorkflowOutput } from './workflow/define-workflow';
export { MAX_PRIORITY, type RateLimitOptions } from './flow';
export type { WorkflowContext, StepContext, StepOptions, ChildOptions, ChildHandle } from './workflow/context-types';
export type { RetryPolicy } from './workflow/retry';
export { saga } from './workflow/saga';

export { createClient, type Client, type ClientOptions } from './client/client';
export { WorkflowHandle } from './client/handle';
export type { StartOptions, IdReusePolicy, GetHandleOptions, ExecutionDescription, PreviousRun, HistoryEntry, ListOptions, ListPage, ExecutionSummary } from './client/types';

export { OverlapPolicy, OVERLAP_POLICIES } from './schedules/plan';
export type { ScheduleClient, ScheduleOptions, ScheduleUpdate, ScheduleDescription, ScheduleSummary, ScheduleRun, FireResult, FireOptions } from './schedules/types';
export { nextFireTimes, type ScheduleSpec } from './schedules/spec';

export { Runner, RunnerState } from './runner/runner';
export { createRunner } from './runner/create-runner';
export type { RunnerOptions, ResolvedRunnerOptions } from './runner/options';
export { resolveRunnerOptions } from './runner/options';
export type { RunnerEvents, RunnerEventName } from './runner/events';
export { executeClaimed, type ExecutionOutcome, type ExecuteOptions } from './runner/executor';
export { runDueExecutions, runUntilIdle } from './runner/drive';
export { replayHistory, type ReplayResult, type ReplaySource } from './replay/replay-history';
export type { ResumeOptions } from './client/resume-options';
export { checkDeploy, type CheckDeployOptions, type DeployCheckReport, type DeployIncompatibility, type DeployUndecodable } from './deploy/check-deploy';

export {
  DistributedLockManager, WorkflowLockManager, WorkflowLock, executionLockKey, templateLockKey, createInstanceId,
  type LockGrant, type LockOptions, type DistributedLockManagerOptions, type WorkflowLockManagerOptions,
} from './locks';

export {
  LeaseflowError, StoreUnavailableError, StoreAuthError, DatabaseNotFoundError, GaleraConfigError, LockTimeoutError, WorkflowAlreadyRunningError, LockNotHeldError, LeaseLostError, ValidationError,
  SerializationError, NonDeterminismError, WorkflowIdConflictError, UnknownWorkflowError, ExecutionNotFoundError,
  ExecutionFinishedError, ExecutionNotResumableError, TerminatedError, CancelledError, TimeoutError, WorkflowFailedError, WorkflowContinuedAsNewError, CompensationError, NonRetryableError,
  ScheduleNotFoundError, ScheduleAlreadyExistsError, ForkPointNotFoundError, PayloadCodecError, type RecordedError, type Divergence,
  TransactionUnsupportedError, TransactionDatabaseMismatchError, TransactionScopeError,
} from './errors';
export type { TransactionOptions, TransactionContext } from './transactions/transaction-command';
export type { TransactionIsolation } from './transactions/orm';
export type { EnqueueOptions } from './transactions/outbox';
export { toMs, formatMs, type Duration } from './duration';
export { createLogger, silentLogger, type Logger } from './logger';
export { DEFAULT_PAYLOAD_LIMIT_BYTES } from './serialization';
export { UndecodablePayload, type PayloadCodec } from './codec/types';
export { aesGcmCodec, type AesGcmCodecOptions } from './codec/aes-gcm';
export { compressionCodec, type CompressionCodecOptions } from './codec/compression';

export { createInspector, type Inspector, type InspectorOptions, type ClusterSnapshot, type RunnerView, type LeaseView, type TemplateView } from './inspect/inspector';
export type { LeaseMove } from './inspect/lease-moves';
export { createRunnerMetrics, type RunnerMetrics, type RunnerMetricsOptions, type MeteredRunner } from './metrics/runner-metrics';
export { createClusterMetrics, type ClusterMetrics } from './metrics/cluster-metrics';
export { serveMetrics, type MetricsServer } from './metrics/metrics-server';
export { attachTracing, SpanAttr, type TracedRunner } from './tracing/runner-spans';
export { captureTraceContext, restoreTraceContext } from './tracing/trace-context';
