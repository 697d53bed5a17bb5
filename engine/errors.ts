/**
 * Typed errors of leaseflow. Every error has a stable string `code` callers can branch on
 * and keeps the original failure in `cause`; messages are never rewritten after the fact.
 */

/** Base class of every error leaseflow throws on purpose. */
export class LeaseflowError extends Error {
  /** Stable machine-readable code. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A lock could not be acquired within its retries (seed: ErrLockTimeout). */
export class LockTimeoutError extends LeaseflowError {
  constructor(readonly lockKey: string, readonly holder: string | null, attempts: number) {
    super('LOCK_TIMEOUT', `lock "${lockKey}" is held by ${holder ?? 'another owner'}; gave up after ${attempts} attempt(s)`);
  }
}

/** The execution lock is held by another replica (seed: ErrWorkflowAlreadyRunning). */
export class WorkflowAlreadyRunningError extends LeaseflowError {
  constructor(readonly executionId: string, readonly holder: string | null) {
    super('WORKFLOW_ALREADY_RUNNING', `workflow execution "${executionId}" is already running on ${holder ?? 'another replica'}`);
  }
}

/** A refresh or unlock by someone who does not hold the lock (or whose grant expired). */
export class LockNotHeldError extends LeaseflowError {
  constructor(readonly lockKey: string, readonly owner: string) {
    super('LOCK_NOT_HELD', `lock "${lockKey}" is not held by "${owner}"`);
  }
}

/** The lease (fencing token) of an execution no longer matches: nothing was written. */
export class LeaseLostError extends LeaseflowError {
  constructor(readonly executionId: string, readonly token: number, detail = 'lease token no longer matches') {
    super('LEASE_LOST', `lease of execution "${executionId}" (token ${token}) was lost: ${detail}`);
  }
}

/**
 * The store cannot be reached: connection refused, host unknown or unreachable, or no answer
 * within the connect timeout. `endpoint` is `host:port` (or the SQLite file); never a password.
 */
export class StoreUnavailableError extends LeaseflowError {
  constructor(readonly endpoint: string, reason: string, options?: { cause?: unknown }) {
    super('STORE_UNAVAILABLE', `store at ${endpoint} is unavailable: ${reason}`, options);
  }
}

/** The store refused the credentials (wrong user or password, or no access to the database). */
export class StoreAuthError extends LeaseflowError {
  constructor(readonly endpoint: string, readonly user: string, options?: { cause?: unknown }) {
    super('STORE_AUTH', `store at ${endpoint} refused the credentials of user "${user}" (wrong user or password, or no access)`, options);
  }
}

/**
 * The database (MySQL family) or SQLite file named by the URL does not exist. Only
 * `openDatabase(url, { createDatabase: true })` (`leaseflow migrate --create`) creates one.
 */
export class DatabaseNotFoundError extends LeaseflowError {
  constructor(readonly database: string, readonly where: string) {
    super('DATABASE_NOT_FOUND', `database ${database} does not exist ${where} (create it with \`leaseflow migrate --create\`)`);
  }
}

/**
 * The store is a Galera cluster node whose settings leaseflow cannot run on safely (for
 * example `binlog_format` not ROW, the node outside the Primary component, a table without a
 * primary key). `problems` lists each one with the setting to change.
 */
export class GaleraConfigError extends LeaseflowError {
  constructor(readonly endpoint: string, readonly problems: readonly string[]) {
    super('GALERA_CONFIG', `Galera node at ${endpoint} is not usable by leaseflow: ${problems.join('; ')}`);
  }
}

/** A value passed to leaseflow is malformed (bad duration, over-long key, bad option…). */
export class ValidationError extends LeaseflowError {
  constructor(message: string, readonly field?: string) {
    super('VALIDATION', message);
  }
}

/** A workflow input/output/step result cannot be stored as JSON, or is over the size limit. */
export class SerializationError extends LeaseflowError {
  constructor(message: string, readonly path?: string) {
    super('SERIALIZATION', message);
  }
}

/** The workflow body issued a different command than its history recorded at a position. */
export class NonDeterminismError extends LeaseflowError {
  constructor(message: string, readonly divergence?: Divergence) {
    super('NON_DETERMINISM', message);
  }
}

/** Where replayed code left its history: the recorded command at `seq`, and what the code did there (null: nothing). */
export interface Divergence {
  seq: number;
  expected: { kind: string; name: string };
  actual: { kind: string; name: string } | null;
}

/** Starting an id that exists with a different input (or a finished id under the reject policy). */
export class WorkflowIdConflictError extends LeaseflowError {
  constructor(readonly executionId: string, reason: string) {
    super('WORKFLOW_ID_CONFLICT', `workflow id "${executionId}" conflicts: ${reason}`);
  }
}

/** No workflow of that name is known where it was needed. */
export class UnknownWorkflowError extends LeaseflowError {
  constructor(readonly workflowName: string) {
    super('UNKNOWN_WORKFLOW', `unknown workflow "${workflowName}"`);
  }
}

/** No execution with that id. */
export class ExecutionNotFoundError extends LeaseflowError {
  constructor(readonly executionId: string) {
    super('EXECUTION_NOT_FOUND', `workflow execution "${executionId}" not found`);
  }
}

/** A signal or cancel was sent to an execution that already finished. */
export class ExecutionFinishedError extends LeaseflowError {
  constructor(readonly executionId: string, readonly status: string) {
    super('EXECUTION_FINISHED', `workflow execution "${executionId}" already finished (${status})`);
  }
}

/** `resume` of an execution that is not failed. */
export class ExecutionNotResumableError extends LeaseflowError {
  constructor(readonly executionId: string, readonly status: string) {
    super('NOT_RESUMABLE', `workflow execution "${executionId}" cannot be resumed: it is ${status} (only a failed execution resumes)`);
  }
}

/** `resume --from-step`: the execution's history has no such step name or position. */
export class ForkPointNotFoundError extends LeaseflowError {
  constructor(readonly executionId: string, readonly fromStep: string | number) {
    super('FORK_POINT_NOT_FOUND', `workflow execution "${executionId}" has no ${typeof fromStep === 'number' ? `history position ${fromStep}` : `step "${fromStep}"`} to resume from`);
  }
}

/** Recorded as the error of an execution stopped by `terminate` (it ends cancelled, without compensation). */
export class TerminatedError extends LeaseflowError {
  constructor(readonly reason = 'terminated') {
    super('TERMINATED', `workflow terminated: ${reason}`);
  }
}

/** Thrown inside a workflow (and by `result()`) when the execution was cancelled. */
export class CancelledError extends LeaseflowError {
  constructor(readonly reason = 'cancelled') {
    super('CANCELLED', `workflow cancelled: ${reason}`);
  }
}

/**
 * A timer or signal wait that was still pending when the workflow issued a newer one of the same
 * name in a later activation (the losing branch of an earlier race): it is dropped — no longer
 * due, consuming nothing — and its promise rejects with this error.
 */
export class WaitSupersededError extends LeaseflowError {
  constructor(readonly kind: string, readonly waitName: string, readonly position: number, readonly by: number) {
    super('WAIT_SUPERSEDED', `${kind} "${waitName}" at position ${position} was superseded by a newer wait of the same name at position ${by}`);
  }
}

/** `result({ timeout })` or a step's start-to-close timeout elapsed. */
export class TimeoutError extends LeaseflowError {
  constructor(message: string) {
    super('TIMEOUT', message);
  }
}

/**
 * What `handle.result()` rejects with when the workflow failed. `cause` is the workflow's own
 * error rebuilt as an Error (its name, message, code and stack kept); `failure` is its record.
 */
export class WorkflowFailedError extends LeaseflowError {
  constructor(readonly executionId: string, readonly failure: RecordedError, readonly runId?: string) {
    super('WORKFLOW_FAILED', `workflow execution "${executionId}" failed: ${failure.name}: ${failure.message}`, { cause: reviveError(failure) });
  }
}

/**
 * `result()` of a handle bound strictly to one run (`followContinuations: false`) whose run
 * ended with `ctx.continueAsNew`: the chain goes on in run `nextRunId`.
 */
export class WorkflowContinuedAsNewError extends LeaseflowError {
  constructor(readonly executionId: string, readonly runId: string, readonly nextRunId: string | null) {
    super('WORKFLOW_CONTINUED_AS_NEW', `run ${runId} of workflow execution "${executionId}" continued as new run ${nextRunId ?? '(unknown)'}`);
  }
}

/** Compensations (`ctx.compensate()`) that still failed after their retries; the others all ran. */
export class CompensationError extends LeaseflowError {
  constructor(readonly failures: { step: string; error: RecordedError }[]) {
    super('COMPENSATION_FAILED', `${failures.length} compensation(s) failed: ${failures.map((f) => `${f.step} (${f.error.name}: ${f.error.message})`).join('; ')}`,
      { cause: failures[0] ? reviveError(failures[0].error) : undefined });
  }
}

/** The JSON form of an error as stored in history. */
export interface RecordedError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
  nonRetryable?: boolean;
  details?: unknown;
}

/** Throw from a step to stop retries at once (Temporal's ApplicationFailure.nonRetryable). */
export class NonRetryableError extends LeaseflowError {
  constructor(message: string, readonly details?: unknown) {
    super('NON_RETRYABLE', message);
  }
}

/** Longest message/name kept from a hostile thrown value while recording it. */
const MAX_RECORDED_TEXT = 64 * 1024;

/** Read one property of a hostile value: getters may throw, Proxies may trap, anything goes. */
function safeGet(obj: unknown, key: string): unknown {
  try { return (obj as Record<string, unknown>)[key]; } catch { return undefined; }
}

/** A short printable form of any value; never throws (circular, null-prototype, BigInt, symbols, Proxies). */
function safeText(v: unknown): string {
  try {
    if (typeof v === 'string') return JSON.stringify(v.slice(0, MAX_RECORDED_TEXT));
    if (typeof v === 'bigint' || typeof v === 'symbol' || typeof v === 'number' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
    try {
      const json = JSON.stringify(v);
      if (json !== undefined) return json.slice(0, MAX_RECORDED_TEXT);
    } catch { /* circular or BigInt inside: fall through */ }
    return String(v).slice(0, MAX_RECORDED_TEXT);
  } catch {
    return '[unprintable value]';
  }
}

/**
 * Turn anything thrown into the recorded JSON form; non-Errors become a clear record. Never
 * throws, whatever was thrown (a throwing `name` getter, a revoked Proxy, a circular
 * null-prototype object): a run must always be recordable.
 */
export function recordError(err: unknown): RecordedError {
  try {
    let isError = false;
    try { isError = err instanceof Error; } catch { isError = false; }
    if (isError) {
      const name = safeGet(err, 'name');
      const message = safeGet(err, 'message');
      const stack = safeGet(err, 'stack');
      const rec: RecordedError = {
        name: typeof name === 'string' ? name.slice(0, 255) : 'Error',
        message: typeof message === 'string' ? message.slice(0, MAX_RECORDED_TEXT) : safeText(message),
      };
      if (typeof stack === 'string') rec.stack = stack.slice(0, MAX_RECORDED_TEXT);
      const code = safeGet(err, 'code');
      if (typeof code === 'string') rec.code = code.slice(0, 255);
      try { if (err instanceof NonRetryableError) rec.nonRetryable = true; } catch { /* a Proxy's trap */ }
      return rec;
    }
    return { name: 'NonErrorThrown', message: `workflow code threw a non-Error value: ${safeText(err)}`, code: 'NON_ERROR_THROWN' };
  } catch {
    return { name: 'UnrecordableError', message: 'workflow code threw a value that cannot be recorded', code: 'UNRECORDABLE_ERROR' };
  }
}

/** Rebuild an Error object from its record, keeping name, message, code and stack. */
export function reviveError(rec: RecordedError): Error {
  let err: Error;
  if (rec.name === 'CancelledError') err = new CancelledError(rec.message.replace(/^workflow cancelled: /, ''));
  else err = new Error(rec.message);
  err.name = rec.name;
  if (rec.code) (err as { code?: string }).code = rec.code;
  if (rec.details !== undefined) (err as { details?: unknown }).details = rec.details;
  if (rec.stack) err.stack = rec.stack;
  return err;
}

/** No schedule with that id. */
export class ScheduleNotFoundError extends LeaseflowError {
  constructor(readonly scheduleId: string) {
    super('SCHEDULE_NOT_FOUND', `schedule "${scheduleId}" not found`);
  }
}

/** `schedules.create` with an id that is taken. */
export class ScheduleAlreadyExistsError extends LeaseflowError {
  constructor(readonly scheduleId: string) {
    super('SCHEDULE_ALREADY_EXISTS', `schedule "${scheduleId}" already exists (use update to change it)`);
  }
}

/** `ctx.transaction` / `client.start({ em })` cannot run here: SQLite, or no application ORM was given. */
export class TransactionUnsupportedError extends LeaseflowError {
  constructor(reason: string) {
    super('TRANSACTION_UNSUPPORTED', `transactional steps are not available: ${reason}`);
  }
}

/** The application's MikroORM is connected to another database than the leaseflow store. */
export class TransactionDatabaseMismatchError extends LeaseflowError {
  constructor(detail: string) {
    super('TRANSACTION_DATABASE_MISMATCH', `the application's ORM must use the leaseflow store's database: ${detail}`);
  }
}

/**
 * A workflow command inside `ctx.transaction` (only `ctx.enqueue` and `ctx.signalExternal` belong
 * there), or one of those two outside it. Never retried.
 */
export class TransactionScopeError extends LeaseflowError {
  constructor(message: string) {
    super('TRANSACTION_SCOPE', message);
  }
}

/** A stored payload could not be encoded or decoded by the codec chain (missing key, unknown codec, tampered data). */
export class PayloadCodecError extends LeaseflowError {
  constructor(message: string, readonly codecId: string | null, readonly keyId: string | null = null, options?: { cause?: unknown }) {
    super('PAYLOAD_CODEC', message, options);
  }
}
