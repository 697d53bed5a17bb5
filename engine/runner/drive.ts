/**
 * Drive executions in-process without a runner: claim what is due for the given workflows and
 * run each claimed execution to its outcome. Tests and embedded uses call this; the runner has
 * its own loop (poller, heartbeat, watchdog) around the same claim and executor.
 */
import type { Logger } from 'pino';
import type { MikroORM } from '@mikro-orm/core';
import { UnknownWorkflowError } from '../errors';
import { randomUUID } from 'node:crypto';
import { claimExecutions } from '../store/claims';
import type { Database } from '../store/database';
import { notifier } from '../store/notifier';
import type { WorkflowDefinition } from '../workflow/define-workflow';
import { executeClaimed, type ExecutionOutcome } from './executor';
import { resolveRouting } from './builds';

/** Options of `runDueExecutions`. */
export interface DriveOptions {
  db: Database;
  workflows: readonly WorkflowDefinition<any, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Lease owner. @default a fresh instance id */
  owner?: string;
  /** @default 15000 */
  leaseTtlMs?: number;
  /** Max executions claimed at once. @default 50 */
  limit?: number;
  /** @default 1000 */
  holdWaitsUpToMs?: number;
  logger?: Logger;
  /** Build id of the served code (see RunnerOptions.buildId). @default per definition */
  buildId?: string | Readonly<Record<string, string>>;
  /** Claim only these builds (see RunnerOptions.compatibleBuilds). @default any */
  compatibleBuilds?: readonly string[];
  /** The application's MikroORM, for transactional steps. */
  orm?: MikroORM;
  /** Only executions of this namespace. @default 'default' */
  namespace?: string;
}

/** Claim one batch of due executions and run them all; returns each id with its outcome. */
export async function runDueExecutions(opts: DriveOptions): Promise<{ id: string; outcome: ExecutionOutcome }[]> {
  const byName = new Map(opts.workflows.map((w) => [w.name, w]));
  const owner = opts.owner ?? `drive-${randomUUID().slice(0, 8)}`;
  const routing = resolveRouting(byName, opts.buildId, opts.compatibleBuilds);
  const claimed = await claimExecutions(opts.db.sql, { owner, workflows: [...byName.keys()], limit: opts.limit ?? 50, leaseTtlMs: opts.leaseTtlMs ?? 15_000, routing, namespace: opts.namespace });
  const ch = notifier(opts.db.url);
  return Promise.all(claimed.map(async (execution) => {
    const definition = byName.get(execution.workflowName);
    if (!definition) throw new UnknownWorkflowError(execution.workflowName);
    const outcome = await executeClaimed({
      store: opts.db.sql, payloads: opts.db.payloads, execution, definition, owner, holdWaitsUpToMs: opts.holdWaitsUpToMs, logger: opts.logger, orm: opts.orm,
      nudge: () => ch.emit('work'),
    });
    if (outcome.kind === 'completed' || outcome.kind === 'failed' || outcome.kind === 'cancelled') ch.emit('finished', execution.id);
    if (outcome.kind === 'continued') ch.emit('work');
    return { id: execution.id, outcome };
  }));
}

/** Run due executions repeatedly until a pass claims nothing; returns all outcomes in order. */
export async function runUntilIdle(opts: DriveOptions & { maxPasses?: number }): Promise<{ id: string; outcome: ExecutionOutcome }[]> {
  const all: { id: string; outcome: ExecutionOutcome }[] = [];
  for (let pass = 0; pass < (opts.maxPasses ?? 1000); pass++) {
    const batch = await runDueExecutions(opts);
    if (batch.length === 0) return all;
    all.push(...batch);
  }
  return all;
}
