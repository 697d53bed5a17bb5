/**
 * The seed's `WorkflowLockManager`: execution locks (`workflow_execution:{id}`, TTL 5 min, no
 * retry) keep one execution on one replica; template locks (`workflow_template:{id}`, TTL 10 min,
 * 2 retries 1 s apart) serialize the instances of a template. Both are non-reentrant: the same
 * replica asking twice is refused like any other, so it can never run one execution twice.
 */
import type { Logger } from 'pino';
import { DistributedLockManager, type LockGrant } from './distributed-lock-manager';
import { ValidationError, WorkflowAlreadyRunningError } from '../errors';
import { toMs, type Duration } from '../duration';
import { silentLogger } from '../logger';
import { createInstanceId } from '../instance-id';

/** Lock key of one execution. */
export function executionLockKey(executionId: string): string {
  return `workflow_execution:${executionId}`;
}

/** Lock key of one template. */
export function templateLockKey(templateId: string): string {
  return `workflow_template:${templateId}`;
}

/** Options of the `WorkflowLockManager` constructor. */
export interface WorkflowLockManagerOptions {
  /** Owner of every lock this manager takes. @default createInstanceId() */
  instanceId?: string;
  /** Logger; lines carry `component: 'workflow_lock'`. @default silent */
  logger?: Logger;
  /** TTL of execution locks. @default '5m' */
  executionTtl?: Duration;
  /** TTL of template locks. @default '10m' */
  templateTtl?: Duration;
  /** Further attempts on a held template lock. @default 2 */
  templateRetryCount?: number;
  /** Pause between template lock attempts. @default '1s' */
  templateRetryDelay?: Duration;
}

/** A held workflow lock: refresh it while working, unlock it when done. */
export class WorkflowLock {
  readonly lockKey: string;
  readonly owner: string;
  /** Fencing token of this grant. */
  readonly token: number;
  readonly #locks: DistributedLockManager;
  readonly #ttlMs: number;
  #expiresAt: Date;

  /** @internal built by WorkflowLockManager from a fresh grant. */
  constructor(locks: DistributedLockManager, grant: LockGrant, ttlMs: number) {
    this.#locks = locks;
    this.#ttlMs = ttlMs;
    this.lockKey = grant.lockKey;
    this.owner = grant.owner;
    this.token = grant.token;
    this.#expiresAt = grant.expiresAt;
  }

  /** When the grant lapses unless refreshed (DB clock). */
  get expiresAt(): Date {
    return this.#expiresAt;
  }

  /**
   * Extend this grant by the lock's TTL.
   * @throws LockNotHeldError when the grant expired or was taken over.
   */
  async refresh(): Promise<void> {
    const grant = await this.#locks.refresh(this.lockKey, this.owner, this.#ttlMs, { token: this.token });
    this.#expiresAt = grant.expiresAt;
  }

  /**
   * Release this grant (and only this one: a later grant of the same key is not touched).
   * @throws LockNotHeldError when it was already released or taken over.
   */
  async unlock(): Promise<void> {
    await this.#locks.unlock(this.lockKey, this.owner, { token: this.token });
  }
}

/** Execution and template locks of one replica. */
export class WorkflowLockManager {
  /** The owner of every lock taken here. */
  readonly instanceId: string;
  readonly #locks: DistributedLockManager;
  readonly #log: Logger;
  readonly #executionTtlMs: number;
  readonly #templateTtlMs: number;
  readonly #templateRetryCount: number;
  readonly #templateRetryDelayMs: number;

  constructor(locks: DistributedLockManager, options: WorkflowLockManagerOptions = {}) {
    this.#locks = locks;
    this.instanceId = options.instanceId ?? createInstanceId();
    this.#log = (options.logger ?? silentLogger()).child({ component: 'workflow_lock' });
    this.#executionTtlMs = toMs(options.executionTtl ?? '5m', 'executionTtl');
    this.#templateTtlMs = toMs(options.templateTtl ?? '10m', 'templateTtl');
    this.#templateRetryCount = options.templateRetryCount ?? 2;
    if (!Number.isSafeInteger(this.#templateRetryCount) || this.#templateRetryCount < 0) {
      throw new ValidationError('templateRetryCount must be a non-negative integer', 'templateRetryCount');
    }
    this.#templateRetryDelayMs = toMs(options.templateRetryDelay ?? '1s', 'templateRetryDelay');
  }

  /**
   * Take the execution lock, without retrying.
   * @throws WorkflowAlreadyRunningError when any replica (this one included) holds it.
   */
  async lockWorkflowExecution(executionId: string): Promise<WorkflowLock> {
    checkId(executionId, 'executionId');
    const grant = await this.#locks.tryLock({
      lockKey: executionLockKey(executionId), owner: this.instanceId, ttl: this.#executionTtlMs, reentrant: false,
    });
    if (!grant) {
      const holder = (await this.#locks.inspect(executionLockKey(executionId)))?.owner ?? null;
      this.#log.info({ execution_id: executionId, holder }, 'workflow already running on another replica, skipping');
      throw new WorkflowAlreadyRunningError(executionId, holder);
    }
    return new WorkflowLock(this.#locks, grant, this.#executionTtlMs);
  }

  /**
   * Take the template lock, retrying while another instance of the template runs.
   * @throws LockTimeoutError when still held after the retries.
   */
  async lockWorkflowTemplate(templateId: string): Promise<WorkflowLock> {
    checkId(templateId, 'templateId');
    const grant = await this.#locks.lock({
      lockKey: templateLockKey(templateId), owner: this.instanceId, ttl: this.#templateTtlMs,
      retryCount: this.#templateRetryCount, retryDelay: this.#templateRetryDelayMs, reentrant: false,
    });
    return new WorkflowLock(this.#locks, grant, this.#templateTtlMs);
  }
}

/** Ids must be non-empty strings; their length is checked as part of the lock key. */
function checkId(id: unknown, field: string): void {
  if (typeof id !== 'string' || id.length === 0) throw new ValidationError(`${field} must be a non-empty string`, field);
}
