/**
 * The lock subsystem of the seed, in TS: fenced, reentrant, expiring database locks and the
 * workflow execution/template locks built on them. Re-exports only; no logic here.
 */
export {
  DistributedLockManager,
  type DistributedLockManagerOptions,
  type GrantFenceOptions,
  type LockGrant,
  type LockOptions,
} from './distributed-lock-manager';
export {
  WorkflowLock,
  WorkflowLockManager,
  executionLockKey,
  templateLockKey,
  type WorkflowLockManagerOptions,
} from './workflow-lock-manager';
export { createInstanceId } from '../instance-id';
