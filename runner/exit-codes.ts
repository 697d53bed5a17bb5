/**
 * Exit codes of the `leaseflow` command line, one per class of error (documented in the README
 * and `leaseflow --help`). Pure: an error in, a number out; classified by the stable `code`.
 */

/** The exit codes. Anything not listed is 1. */
export const EXIT = {
  ok: 0,
  error: 1,
  /** Bad command, option, argument, JSON, duration or URL. */
  usage: 2,
  /** No such execution or workflow. */
  notFound: 3,
  /** The execution's state forbids it (finished, not failed, id taken with another input…). */
  conflict: 4,
  /** The store cannot be used: unreachable, credentials refused, database missing or not migrated. */
  storeUnavailable: 5,
  /** `start --wait` / `result`: the workflow ended failed or cancelled. */
  workflowFailed: 6,
  /** `replay --check`: the new code cannot continue a stored history (the deploy gate). */
  incompatible: 7,
} as const;

const BY_CODE: Record<string, number> = {
  USAGE: EXIT.usage,
  VALIDATION: EXIT.usage,
  SERIALIZATION: EXIT.usage,
  EXECUTION_NOT_FOUND: EXIT.notFound,
  UNKNOWN_WORKFLOW: EXIT.notFound,
  SCHEDULE_NOT_FOUND: EXIT.notFound,
  FORK_POINT_NOT_FOUND: EXIT.notFound,
  EXECUTION_FINISHED: EXIT.conflict,
  NOT_RESUMABLE: EXIT.conflict,
  WORKFLOW_ID_CONFLICT: EXIT.conflict,
  WORKFLOW_ALREADY_RUNNING: EXIT.conflict,
  LOCK_TIMEOUT: EXIT.conflict,
  SCHEDULE_ALREADY_EXISTS: EXIT.conflict,
  STORE_UNAVAILABLE: EXIT.storeUnavailable,
  STORE_AUTH: EXIT.storeUnavailable,
  DATABASE_NOT_FOUND: EXIT.storeUnavailable,
  NOT_MIGRATED: EXIT.storeUnavailable,
  GALERA_CONFIG: EXIT.storeUnavailable,
  WORKFLOW_FAILED: EXIT.workflowFailed,
};

/** The exit code for `err`. */
export function exitCodeOf(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code in BY_CODE ? BY_CODE[code] : EXIT.error;
}
