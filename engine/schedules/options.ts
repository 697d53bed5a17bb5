/**
 * Schedule options, validated once: `resolveScheduleDefinition` turns the public options into the
 * stored definition (durations in ms, input encoded, template key computed) or throws a
 * ValidationError naming the option. Pure: nothing is written before this has passed.
 */
import { toMs } from '../duration';
import { ValidationError } from '../errors';
import { decodeValue, encodeValue } from '../serialization';
import { MAX_SCHEDULE_ID_LENGTH } from '../store/entities';
import type { ScheduleDefinitionFields, ScheduleRecord } from '../store/schedules';
import { templateKeyOf, validateWorkflowName, type WorkflowDefinition } from '../workflow/define-workflow';
import { OVERLAP_POLICIES, OverlapPolicy } from './plan';
import { parseSpec, type ScheduleSpec } from './spec';
import type { ScheduleOptions, ScheduleUpdate } from './types';

/** @default catch-up window */
export const DEFAULT_CATCHUP_WINDOW_MS = 3_600_000;
/** Longest catch-up window and jitter. */
const MAX_WINDOW_MS = 366 * 86_400_000;

/** Validate a schedule id. */
export function validateScheduleId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) throw new ValidationError('schedule id must be a non-empty string', 'id');
  if ([...id].length > MAX_SCHEDULE_ID_LENGTH) throw new ValidationError(`schedule id is longer than ${MAX_SCHEDULE_ID_LENGTH} characters`, 'id');
  if (id.includes(':') || id.includes('#')) throw new ValidationError("schedule id may not contain ':' or '#' (executions are named {id}:{fire time})", 'id');
  return id;
}

/** Validate an overlap policy. */
export function validateOverlap(value: unknown, field = 'overlap'): OverlapPolicy {
  if (!OVERLAP_POLICIES.includes(value as OverlapPolicy)) throw new ValidationError(`${field} must be one of ${OVERLAP_POLICIES.join(', ')} (got ${String(value)})`, field);
  return value as OverlapPolicy;
}

function windowMs(value: ScheduleOptions['catchupWindow'], field: string, fallback: number): number {
  const ms = value === undefined ? fallback : toMs(value, field);
  if (ms > MAX_WINDOW_MS) throw new ValidationError(`${field} must be at most 366d`, field);
  return Math.round(ms);
}

/** The stored spec of a schedule row. */
export function specOf(s: Pick<ScheduleRecord, 'cron' | 'everyMs' | 'timezone'>): ScheduleSpec {
  return s.cron !== null ? { kind: 'cron', cron: s.cron, timezone: s.timezone ?? 'UTC' } : { kind: 'every', everyMs: s.everyMs as number };
}

/** A validated definition plus its spec. */
export interface ResolvedSchedule {
  fields: ScheduleDefinitionFields;
  spec: ScheduleSpec;
}

/**
 * Validate create options (or, with `base`, an update merged over the stored definition).
 * `payloadLimitBytes` bounds the encoded input.
 */
export function resolveScheduleDefinition(o: ScheduleUpdate, payloadLimitBytes: number, base?: ScheduleRecord, baseInput?: unknown): ResolvedSchedule {
  if (!o || typeof o !== 'object') throw new ValidationError('schedule options must be an object', 'options');
  const def = typeof o.workflow === 'object' && o.workflow !== null ? (o.workflow as WorkflowDefinition<unknown, unknown>) : undefined;
  const workflowGiven = o.workflow !== undefined;
  if (!base && !workflowGiven) throw new ValidationError('workflow is required', 'workflow');
  const workflowName = workflowGiven ? validateWorkflowName(def ? def.name : o.workflow, 'workflow') : (base as ScheduleRecord).workflowName;
  const specGiven = o.cron !== undefined || o.every !== undefined || o.timezone !== undefined;
  const spec = !specGiven && base ? specOf(base)
    : parseSpec(base && o.cron === undefined && o.every === undefined
      ? { ...(base.cron !== null ? { cron: base.cron } : { every: base.everyMs }), timezone: o.timezone }
      : { cron: o.cron, every: o.every, timezone: o.timezone });
  const overlap = o.overlap !== undefined ? validateOverlap(o.overlap) : (base?.overlap as OverlapPolicy | undefined) ?? OverlapPolicy.skip;
  const catchupWindowMs = windowMs(o.catchupWindow, 'catchupWindow', base?.catchupWindowMs ?? DEFAULT_CATCHUP_WINDOW_MS);
  const jitterMs = windowMs(o.jitter, 'jitter', base?.jitterMs ?? 0);
  if (o.paused !== undefined && typeof o.paused !== 'boolean') throw new ValidationError('paused must be a boolean', 'paused');
  const paused = o.paused ?? base?.paused ?? false;
  const inputGiven = 'input' in o;
  // A new input is JSON here; the caller runs the codec chain over it (`encodeScheduleInput`).
  const input = inputGiven || !base ? encodeValue(o.input, `input of schedule for "${workflowName}"`, payloadLimitBytes) : base.input;
  const keepTemplate = base && !workflowGiven && !inputGiven;
  // The template key is a function of the input: a new workflow keeps the stored input.
  // `baseInput`: the stored input decoded by the caller (the codec chain is async); plain JSON is read here.
  const inputValue = () => (inputGiven || !base ? o.input : baseInput !== undefined ? baseInput : decodeValue(base.input));
  return {
    spec,
    fields: {
      workflowName,
      workflowVersion: def?.version ?? (keepTemplate ? base.workflowVersion : 1),
      templateKey: keepTemplate ? base.templateKey : templateKeyOf(def, inputValue()),
      templateLimit: keepTemplate ? base.templateLimit : def?.template?.limit ?? null,
      input,
      cron: spec.kind === 'cron' ? spec.cron : null,
      everyMs: spec.kind === 'every' ? spec.everyMs : null,
      timezone: spec.kind === 'cron' ? spec.timezone : null,
      overlap, catchupWindowMs, jitterMs, paused,
    },
  };
}
