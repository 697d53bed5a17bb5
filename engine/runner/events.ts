/**
 * The runner's typed event map (eventemitter3), `noun:verb` names. Emitted through `safeEmit`
 * so a throwing listener can never break the poll loop, heartbeat or an execution.
 */
import type { RecordedError } from '../errors';
import type { ClaimedExecution, WaitFor } from '../store/types';

interface ExecutionRef { executionId: string; workflow: string }

/** Payload of `execution:claimed`. */
export type ClaimedEvent = ExecutionRef & {
  attempt: number;
  leaseToken: number;
  runnerId: string;
  createdAt: Date;
  /** When it became due (null if it was never delayed). */
  availableAt: Date | null;
  /** The database clock at claim time (schedule-to-start = dbNow − availableAt). */
  dbNow: Date;
  /** W3C trace context stored by the starter, or null. */
  traceContext: string | null;
};

/** Build the `execution:claimed` payload from a claimed record. */
export function claimedEvent(e: ClaimedExecution, runnerId: string): ClaimedEvent {
  return {
    executionId: e.id, workflow: e.workflowName, attempt: e.attempt, leaseToken: e.leaseToken, runnerId,
    createdAt: e.createdAt, availableAt: e.availableAt, dbNow: e.dbNow, traceContext: e.traceContext,
  };
}

/** Every event a runner emits, with its payload. */
export interface RunnerEvents {
  'runner:started': [{ runnerId: string }];
  'runner:stopping': [{ runnerId: string; running: number }];
  'runner:stopped': [{ runnerId: string; released: number }];
  'runner:presumed-dead': [{ runnerId: string; leasesReleased: number }];
  'execution:claimed': [ClaimedEvent];
  'execution:completed': [ExecutionRef & { output: unknown }];
  'execution:failed': [ExecutionRef & { error: RecordedError }];
  'execution:cancelled': [ExecutionRef & { reason: string }];
  'execution:suspended': [ExecutionRef & { waitFor: WaitFor }];
  /** The run ended with ctx.continueAsNew; `runId` is the next run (queued). */
  'execution:continued': [ExecutionRef & { runId: string }];
  'execution:released': [ExecutionRef & { reason: string }];
  'step:started': [ExecutionRef & { step: string; seq: number; attempt: number }];
  'step:completed': [ExecutionRef & { step: string; seq: number; attempt: number }];
  'step:failed': [ExecutionRef & { step: string; seq: number; attempt: number; error: RecordedError }];
  'step:retrying': [ExecutionRef & { step: string; seq: number; attempt: number; delayMs: number; error: RecordedError }];
  /** Expired leases the watchdog skipped because another transaction holds their rows (reported once per TTL). */
  'lease:stuck': [{ leases: { executionId: string; owner: string; token: number; locked: 'lease' | 'execution' }[] }];
  /** `cause`: 'fence' = a fenced write matched no row; 'expired' = the heartbeat or a watchdog found it gone. */
  'lease:lost': [ExecutionRef & { leaseToken: number; detail: string; cause: 'fence' | 'expired' }];
  /** This runner became (`elected`) or stopped being the sweeper; `token` is the grant's fencing token. */
  'sweeper:changed': [{ runnerId: string; token: number; elected: boolean }];
  'heartbeat:sent': [{ runnerId: string; leases: number; durationMs: number }];
  'poll:error': [{ error: unknown }];
  'heartbeat:error': [{ error: unknown }];
}

/** Names of the runner's events. */
export type RunnerEventName = keyof RunnerEvents;
