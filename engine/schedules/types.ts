/**
 * Public types of `client.schedules`: what a schedule is made of, and what describe/list/trigger/
 * backfill return.
 */
import type { Duration } from '../duration';
import type { ExecutionStatus } from '../store/types';
import type { WorkflowDefinition } from '../workflow/define-workflow';
import type { OverlapPolicy } from './plan';

/** Options of `schedules.create`: exactly one of `cron` and `every`. */
export interface ScheduleOptions<I = unknown> {
  /** Schedule id: 1–150 characters, no ':' (executions are named `{id}:{fire time ISO}`). */
  id: string;
  /** The workflow each fire starts (a definition, or a name served by some runner). */
  workflow: WorkflowDefinition<I, unknown> | string;
  /** The input of every execution. */
  input?: I;
  /** Cron expression (5 fields, or 6 with seconds first), evaluated in `timezone` by croner. */
  cron?: string;
  /** Fixed interval ('1s' … '366d'), fires on multiples of it since the Unix epoch (UTC). */
  every?: Duration;
  /** IANA zone of `cron`. @default 'UTC' */
  timezone?: string;
  /** What a fire does while the schedule's last execution still runs. @default 'skip' */
  overlap?: OverlapPolicy;
  /** After downtime, fires at most this old are still started; older ones are missed. @default '1h' */
  catchupWindow?: Duration;
  /** Each fire's start is delayed by a deterministic amount in [0, jitter]. @default 0 */
  jitter?: Duration;
  /** Create it paused. @default false */
  paused?: boolean;
}

/** Fields `schedules.update` may change (anything left out stays). */
export type ScheduleUpdate<I = unknown> = Partial<Omit<ScheduleOptions<I>, 'id'>>;

/** One execution a schedule started. */
export interface ScheduleRun {
  executionId: string;
  /** The nominal fire time (the id's suffix). */
  fireTime: Date;
  status: ExecutionStatus;
  createdAt: Date;
  finishedAt: Date | null;
}

/** What `describe` returns. */
export interface ScheduleDescription {
  id: string;
  workflowName: string;
  input: unknown;
  cron: string | null;
  everyMs: number | null;
  timezone: string | null;
  overlap: OverlapPolicy;
  catchupWindowMs: number;
  jitterMs: number;
  paused: boolean;
  /** The next fire times (up to 5; none while paused). */
  nextFireTimes: Date[];
  /** Fires waiting for the running execution (buffer policies). */
  bufferedFireTimes: Date[];
  lastFireAt: Date | null;
  /** Executions started by fires, fires dropped by the overlap policy, fires older than the catch-up window. */
  counts: { fired: number; skipped: number; missed: number };
  /** The newest executions the schedule started, newest first (up to 10). */
  recentRuns: ScheduleRun[];
  createdAt: Date;
  updatedAt: Date;
}

/** A row of `schedules.list`. */
export interface ScheduleSummary {
  id: string;
  workflowName: string;
  cron: string | null;
  everyMs: number | null;
  timezone: string | null;
  overlap: OverlapPolicy;
  paused: boolean;
  nextFireAt: Date | null;
  lastFireAt: Date | null;
}

/** What a trigger or backfill did. */
export interface FireResult {
  /** Executions started now. */
  started: string[];
  /** Fires whose execution already existed (fired before). */
  alreadyFired: string[];
  /** Fires now waiting in the buffer. */
  buffered: number;
  /** Fires dropped by the overlap policy. */
  skipped: number;
}

/** Options of `trigger` and `backfill`. */
export interface FireOptions {
  /** Overlap policy for these fires. @default the schedule's */
  overlap?: OverlapPolicy;
}

/** The schedules API (`client.schedules`). */
export interface ScheduleClient {
  create<I>(options: ScheduleOptions<I>): Promise<ScheduleDescription>;
  update<I>(id: string, patch: ScheduleUpdate<I>): Promise<ScheduleDescription>;
  pause(id: string): Promise<void>;
  /** Resume firing from now on (fires that fell in the pause are not caught up). */
  unpause(id: string): Promise<void>;
  /** Fire now (fire time = the database clock). */
  trigger(id: string, options?: FireOptions): Promise<FireResult>;
  /** Fire every fire time of the spec in [from, to) (at most 1000). */
  backfill(id: string, from: Date, to: Date, options?: FireOptions): Promise<FireResult>;
  /** Delete the schedule; executions it started are left alone. */
  delete(id: string): Promise<void>;
  /** Schedules by id (`after`: the last id of the previous page). */
  list(options?: { limit?: number; after?: string }): Promise<ScheduleSummary[]>;
  describe(id: string): Promise<ScheduleDescription>;
}
