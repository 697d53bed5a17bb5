/**
 * Runner options: typed once, defaulted once. `resolveRunnerOptions` turns the public, human
 * options ('15s') into readonly resolved options (…Ms numbers) and rejects bad values with a
 * ValidationError that names the option. Pure.
 */
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { MikroORM } from '@mikro-orm/core';
import { toMs, type Duration } from '../duration';
import { ValidationError } from '../errors';
import { checkStorableText } from '../validation';
import { DEFAULT_PAYLOAD_LIMIT_BYTES } from '../serialization';
import { MAX_OWNER_LENGTH } from '../store/entities';
import type { DbInput } from '../store/database';
import { validateNamespace } from '../namespace/keys';
import type { PayloadCodec } from '../codec/types';
import { resolveSession, type SessionTuning } from '../store/config';
import type { WorkflowDefinition } from '../workflow/define-workflow';
import type { BuildRouting } from '../store/builds';
import { resolveRouting } from './builds';

/** Options of `createRunner`. */
export interface RunnerOptions {
  /** Store URL or opened handle. @default the embedded SQLite file */
  db?: DbInput;
  /** Payload codecs when `db` is a URL (with an opened Database, give them to `openDatabase`). */
  codecs?: readonly PayloadCodec[];
  /** Workflows this runner serves (it never claims others). */
  workflows: readonly WorkflowDefinition<any, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Executions run at once (the p-queue's concurrency). @default 10 */
  concurrency?: number;
  /** Lease TTL on the database clock. @default '15s' */
  leaseTtl?: Duration;
  /** Heartbeat period. @default leaseTtl / 3 */
  heartbeatInterval?: Duration;
  /** Poll period while there is room for work. @default '500ms' */
  pollInterval?: Duration;
  /** Watchdog period (expired leases of dead runners). @default min(pollInterval, 1s) */
  watchdogInterval?: Duration;
  /** Graceful shutdown waits this long for running steps before releasing the rest. @default '10s' */
  drainTimeout?: Duration;
  /** Waits up to this long are held in memory rather than suspending. @default '1s' */
  holdWaitsUpTo?: Duration;
  /** Instance id, the owner of every lease. @default `{hostname}-{uuid8}` */
  instanceId?: string;
  /** @default a pino logger at info */
  logger?: Logger;
  /** Apply pending migrations on start. @default true */
  migrate?: boolean;
  /** Size limit of results and outputs. @default 2 MiB */
  payloadLimitBytes?: number;
  /**
   * The application's MikroORM (its own entities), for `ctx.transaction`: it must be connected to
   * the same MySQL/MariaDB database as `db` (checked at creation; TransactionDatabaseMismatchError).
   */
  orm?: MikroORM;
  /**
   * Connections of the pool the runner opens when `db` is a URL (MySQL family): enough for the
   * claims, heartbeat and the commits of concurrent executions to overlap. @default min(concurrency, 50), at least 10
   */
  poolMax?: number;
  /** Host a schedule ticker (fires due schedules; any number of runners may). @default true */
  schedules?: boolean;
  /**
   * Longest idle wait of the schedule ticker: how soon a schedule created, changed or unpaused in
   * another process is seen (its first fire is then caught up, not lost). Each idle look is one
   * indexed statement. @default '5s'
   */
  scheduleCheckInterval?: Duration;

  /**
   * Build id of the served code (a git sha): recorded on every execution this runner runs. A
   * record gives one per workflow name (the CLI passes a hash of each workflow module's source).
   * @default per definition: its `buildId`, else a hash of its body's source
   */
  buildId?: string | Readonly<Record<string, string>>;
  /**
   * Claim only executions never run yet or last run by one of these builds (this runner's own
   * builds are always included): blue/green deploys. @default undefined (claim any build)
   */
  compatibleBuilds?: readonly string[];

  /** MySQL-family session timeouts of the pool the runner opens when `db` is a URL. @default see SessionTuning */
  session?: SessionTuning;
  /** Run only executions of this namespace (engine/namespace). @default 'default' */
  namespace?: string;
  /**
   * The doorbell (engine/wake): where this runner listens for UDP wake-ups from processes that
   * made work due, so an idle runner starts new work in milliseconds instead of at its next poll.
   * 'auto': the first non-internal IPv4 address of the host (else 127.0.0.1); an IP address to
   * listen on that one; 'off': poll only. @default 'auto'
   */
  wake?: 'auto' | 'off' | string;
}

/** Resolved options. */
export interface ResolvedRunnerOptions {
  readonly workflows: ReadonlyMap<string, WorkflowDefinition<any, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly concurrency: number;
  readonly leaseTtlMs: number;
  readonly heartbeatIntervalMs: number;
  readonly pollIntervalMs: number;
  readonly watchdogIntervalMs: number;
  readonly drainTimeoutMs: number;
  readonly holdWaitsUpToMs: number;
  readonly instanceId?: string;
  readonly migrate: boolean;
  readonly payloadLimitBytes: number;
  readonly orm?: MikroORM;
  readonly poolMax: number;
  readonly schedules: boolean;
  readonly scheduleCheckIntervalMs: number;
  /** Builds this runner stamps and claims (see builds.ts). */
  readonly routing: BuildRouting;
  readonly namespace: string;
  /** Doorbell address to listen on ('auto': engine/wake picks at start), or null (off). */
  readonly wakeHost: string | null;

  readonly session: Readonly<Required<SessionTuning>>;
}

/** Validate and default runner options. */
export function resolveRunnerOptions(o: RunnerOptions): ResolvedRunnerOptions {
  if (!o || typeof o !== 'object') throw new ValidationError('createRunner needs an options object', 'options');
  if (!Array.isArray(o.workflows) || o.workflows.length === 0) throw new ValidationError('workflows must be a non-empty array of workflow definitions', 'workflows');
  const workflows = new Map<string, WorkflowDefinition<any, any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const w of o.workflows) {
    if (!w || typeof w.name !== 'string' || typeof w.fn !== 'function') throw new ValidationError('workflows must contain definitions made by defineWorkflow', 'workflows');
    if (workflows.has(w.name) && workflows.get(w.name) !== w) throw new ValidationError(`workflows lists two different definitions named "${w.name}"`, 'workflows');
    workflows.set(w.name, w);
  }
  const concurrency = o.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000) throw new ValidationError(`concurrency must be an integer between 1 and 10000 (got ${concurrency})`, 'concurrency');
  const leaseTtlMs = toMs(o.leaseTtl ?? '15s', 'leaseTtl');
  if (leaseTtlMs < 500) throw new ValidationError(`leaseTtl must be at least 500ms (got ${leaseTtlMs} ms)`, 'leaseTtl');
  const heartbeatIntervalMs = o.heartbeatInterval === undefined ? Math.floor(leaseTtlMs / 3) : toMs(o.heartbeatInterval, 'heartbeatInterval');
  if (heartbeatIntervalMs <= 0 || heartbeatIntervalMs >= leaseTtlMs) throw new ValidationError(`heartbeatInterval must be above 0 and below leaseTtl (${leaseTtlMs} ms)`, 'heartbeatInterval');
  const pollIntervalMs = toMs(o.pollInterval ?? '500ms', 'pollInterval');
  if (pollIntervalMs < 10) throw new ValidationError('pollInterval must be at least 10ms', 'pollInterval');
  // A dead peer's executions must resume within leaseTtl + pollInterval (SPEC §4.3): its expired
  // leases are found by a watchdog tick, so the watchdog may not tick less often than we poll.
  const watchdogIntervalMs = o.watchdogInterval === undefined ? Math.min(pollIntervalMs, 1000) : toMs(o.watchdogInterval, 'watchdogInterval');
  if (watchdogIntervalMs < 10) throw new ValidationError('watchdogInterval must be at least 10ms', 'watchdogInterval');
  const drainTimeoutMs = toMs(o.drainTimeout ?? '10s', 'drainTimeout');
  const holdWaitsUpToMs = toMs(o.holdWaitsUpTo ?? '1s', 'holdWaitsUpTo');
  if (o.instanceId !== undefined) checkStorableText(o.instanceId, 'instanceId', 'instanceId', MAX_OWNER_LENGTH);
  const payloadLimitBytes = o.payloadLimitBytes ?? DEFAULT_PAYLOAD_LIMIT_BYTES;
  if (!Number.isInteger(payloadLimitBytes) || payloadLimitBytes < 1) throw new ValidationError('payloadLimitBytes must be a positive integer', 'payloadLimitBytes');
  const poolMax = o.poolMax ?? Math.max(10, Math.min(concurrency, 50));
  if (!Number.isInteger(poolMax) || poolMax < 1 || poolMax > 1000) throw new ValidationError('poolMax must be an integer between 1 and 1000', 'poolMax');
  if (o.schedules !== undefined && typeof o.schedules !== 'boolean') throw new ValidationError('schedules must be a boolean', 'schedules');
  const scheduleCheckIntervalMs = toMs(o.scheduleCheckInterval ?? '5s', 'scheduleCheckInterval');
  if (scheduleCheckIntervalMs < 10) throw new ValidationError('scheduleCheckInterval must be at least 10ms', 'scheduleCheckInterval');
  const namespace = validateNamespace(o.namespace);
  const wake = o.wake ?? 'auto';
  if (typeof wake !== 'string' || (wake !== 'auto' && wake !== 'off' && isIP(wake) === 0)) {
    throw new ValidationError(`wake must be 'auto', 'off' or an IP address (got ${JSON.stringify(wake)})`, 'wake');
  }
  return Object.freeze({
    namespace, wakeHost: wake === 'off' ? null : wake, workflows, concurrency, leaseTtlMs, heartbeatIntervalMs, pollIntervalMs, watchdogIntervalMs, drainTimeoutMs, holdWaitsUpToMs,
    instanceId: o.instanceId, migrate: o.migrate ?? true, payloadLimitBytes, orm: o.orm, poolMax, schedules: o.schedules ?? true, scheduleCheckIntervalMs,
    session: resolveSession(o.session), routing: resolveRouting(workflows, o.buildId, o.compatibleBuilds),
  });
}
