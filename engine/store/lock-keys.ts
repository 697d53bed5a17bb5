/**
 * Lock keys of the seed: `workflow_execution:{id}` (execution leases) and
 * `workflow_template:{id}` (template locks). Pure.
 */

/** Prefix of execution lease keys. */
export const EXECUTION_LOCK_PREFIX = 'workflow_execution:';
/** Prefix of template lock keys. */
export const TEMPLATE_LOCK_PREFIX = 'workflow_template:';

/** `workflow_execution:{id}` */
export function executionLockKey(executionId: string): string {
  return EXECUTION_LOCK_PREFIX + executionId;
}

/** `workflow_template:{id}` */
export function templateLockKey(templateId: string): string {
  return TEMPLATE_LOCK_PREFIX + templateId;
}

/** The smallest string greater than every string starting with `prefix` (a key-range bound). */
export function nextPrefix(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}
