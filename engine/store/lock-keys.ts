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
