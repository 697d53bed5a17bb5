/**
 * The one set of input rules shared by the client, the workflow context, the lock managers and
 * the runner options, run before any write. Every id and name must round-trip through both
 * stores exactly: non-empty, at most N code points, no U+0000 (SQLite stops reading a statement
 * at NUL; the id read back would lose its fence) and no lone UTF-16 surrogate (MariaDB stores
 * it as '?' and two ids collide). Times must fit the DATETIME range. Pure.
 */
import { ValidationError } from './errors';
import { MAX_EXECUTION_ID_LENGTH, MAX_NAME_LENGTH } from './store/entities';

/** Longest caller-chosen execution id (room left for the `#n` suffix of archived runs). */
export const MAX_START_ID_LENGTH = 180;
/** Longest cancellation reason (the `cancel_reason` column). */
export const MAX_REASON_LENGTH = 1024;
/** The latest due time anything may be scheduled at (well inside DATETIME's year 9999). */
export const MAX_DUE_AT_MS = Date.UTC(9000, 0, 1);
/** The longest delay, timer or timeout: 100 years. */
export const MAX_DELAY_MS = 100 * 365.25 * 86_400_000;

/**
 * Check that `value` is a non-empty string of at most `max` code points that the store keeps
 * exactly; returns it. `what` names it for people ("signal name"), `field` for code.
 */
export function checkStorableText(value: unknown, what: string, field: string, max: number): string {
  if (typeof value !== 'string') throw new ValidationError(`${what} must be a string (got ${value === null ? 'null' : typeof value})`, field);
  if (value.length === 0) throw new ValidationError(`${what} must not be empty`, field);
  if (value.includes('\0')) throw new ValidationError(`${what} must not contain U+0000 (NUL)`, field);
  if (value.includes('\u001f')) throw new ValidationError(`${what} must not contain U+001F (it separates a namespace from a key)`, field);
  if (/\p{Surrogate}/u.test(value)) throw new ValidationError(`${what} contains a lone UTF-16 surrogate (half a character)`, field);
  const length = [...value].length;
  if (length > max) throw new ValidationError(`${what} is ${length} characters long; the limit is ${max}`, field);
  return value;
}

/** A step, timer, signal, workflow or other name. */
export function validateName(name: unknown, what: string, field = 'name'): string {
  return checkStorableText(name, `${what} name`, field, MAX_NAME_LENGTH);
}

/** A caller-chosen execution id (client start). */
export function validateExecutionId(id: unknown, field = 'id'): string {
  return checkStorableText(id, 'execution id', field, MAX_START_ID_LENGTH);
}

/** An execution id given to read or address an execution (archived ids are longer). */
export function validateExecutionIdForRead(id: unknown, field = 'id'): string {
  return checkStorableText(id, 'execution id', field, MAX_EXECUTION_ID_LENGTH);
}

/** A child's id (the parent's id + `/seq` by default). */
export function validateChildId(id: unknown): string {
  return checkStorableText(id, 'child id', 'id', MAX_EXECUTION_ID_LENGTH);
}

/** The template key a workflow's `template.key(input)` returned (client start and startChild alike). */
export function validateTemplateKey(key: unknown, workflowName: string): string {
  return checkStorableText(key, `template key of "${workflowName}"`, 'template.key', MAX_NAME_LENGTH);
}

/** A cancellation reason. */
export function validateReason(reason: unknown): string {
  if (typeof reason !== 'string') throw new ValidationError(`cancel reason must be a string (got ${typeof reason})`, 'reason');
  if (reason.length === 0) return reason;
  return checkStorableText(reason, 'cancel reason', 'reason', MAX_REASON_LENGTH);
}

/** A delay, timer duration or timeout in ms: finite, ≥ 0, and at most MAX_DELAY_MS. */
export function validateDelayMs(ms: number, field: string): number {
  if (!Number.isFinite(ms) || ms < 0) throw new ValidationError(`${field} must be a finite, non-negative number of milliseconds (got ${ms})`, field);
  if (ms > MAX_DELAY_MS) throw new ValidationError(`${field} is ${ms} ms; the longest is 100 years`, field);
  return ms;
}

/** An absolute due time (epoch ms): between the epoch and MAX_DUE_AT_MS. */
export function validateDueAtMs(ms: number, field: string): number {
  if (!Number.isFinite(ms)) throw new ValidationError(`${field} must be a valid time (got ${ms})`, field);
  if (ms < 0 || ms > MAX_DUE_AT_MS) throw new ValidationError(`${field} must be between 1970 and the year 9000 (got ${ms} ms since the epoch)`, field);
  return ms;
}
