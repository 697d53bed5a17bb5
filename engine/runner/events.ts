/**
 * The runner's typed event map (eventemitter3), `noun:verb` names. Emitted through `safeEmit`
 * so a throwing listener can never break the poll loop, heartbeat or an execution.
 */
import type { RecordedError } from '../errors';
import type { WaitFor } from '../store/types';

interface ExecutionRef { executionId: string; workflow: string }

/** Every event a runner emits, with its payload. */
export interface RunnerEvents {
  'runner:started': [{ runnerId: string }];
  'runner:stopping': [{ runnerId: string; running: number }];
  'runner:stopped': [{ runnerId: string; released: number }];
  'runner:presumed-dead': [{ runnerId: string; leasesReleased: number }];
  'execution:claimed': [ExecutionRef & { attempt: number; leaseToken: number }];
  'execution:completed': [ExecutionRef & { output: unknown }];
  'execution:failed': [ExecutionRef & { error: RecordedError }];
  'execution:cancelled': [ExecutionRef & { reason: string }];
  'execution:suspended': [ExecutionRef & { waitFor: WaitFor }];
  /** The run ended with ctx.continueAsNew; `runId` is the next run (queued). */
  'execution:continued': [ExecutionRef & { runId: string }];
  'execution:released': [ExecutionRef & { reason: string }];
  'step:completed': [ExecutionRef & { step: string; seq: number; attempt: number }];
  'step:failed': [ExecutionRef & { step: string; seq: number; attempt: number; error: RecordedError }];
  'step:retrying': [ExecutionRef & { step: string; seq: number; attempt: number; delayMs: number; error: RecordedError }];
  'lease:lost': [ExecutionRef & { leaseToken: number; detail: string }];
  'poll:error': [{ error: unknown }];
  'heartbeat:error': [{ error: unknown }];
}

/** Names of the runner's events. */
export type RunnerEventName = keyof RunnerEvents;
