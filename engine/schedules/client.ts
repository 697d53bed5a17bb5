/**
 * `client.schedules`: create, update, pause/unpause, trigger, backfill, delete, list, describe.
 * Every change is one transaction holding the schedule row, so it is ordered against the
 * runners' tickers; options are validated before anything is written. Times come from the
 * database clock.
 */
import type { Logger } from 'pino';
import { MAX_SCHEDULE_ID_LENGTH } from '../store/entities';
import { DEFAULT_NAMESPACE, localKey, namespaceOf, NS_SEP, nsKey, storedKey } from '../namespace/keys';
import { ScheduleAlreadyExistsError, ScheduleNotFoundError, ValidationError } from '../errors';
import type { Database } from '../store/database';
import { dbNow, isDuplicateKeyError } from '../store/executions';
import { notifier } from '../store/notifier';
import {
  deleteSchedule, findSchedule, insertSchedule, listSchedules, recentScheduleExecutions, updateScheduleDefinition, type ScheduleRecord,
} from '../store/schedules';
import type { SqlRunner } from '../store/sql';
import { applyFires, BUFFER_RECHECK_MS, type FireOutcome } from './fire';
import { resolveScheduleDefinition, specOf, validateOverlap, validateScheduleId } from './options';
import { nextDueAt, type OverlapPolicy } from './plan';
import { fireTimesBetween, nextFireAfter, nextFireTimes } from './spec';
import type { FireOptions, FireResult, ScheduleClient, ScheduleDescription, ScheduleOptions, ScheduleUpdate } from './types';

/** Most fires one backfill may name. */
export const MAX_BACKFILL_FIRES = 1000;

/** Build the schedules API over an opened store. */
export function createScheduleClient(db: Database, o: { payloadLimitBytes: number; logger: Logger; namespace?: string }): ScheduleClient {
  const { sql } = db;
  const log = o.logger.child({ component: 'schedules' });
  const changed = () => notifier(db.url).emit('schedules');
  // With a codec chain the limit applies to the encoded input (checked after encoding).
  const jsonLimit = db.payloads.active ? Number.POSITIVE_INFINITY : o.payloadLimitBytes;
  const ns = o.namespace ?? DEFAULT_NAMESPACE;
  /** A caller's schedule id → its stored id in this client's namespace. */
  const sid = (id: unknown) => storedKey(ns, validateScheduleId(id), MAX_SCHEDULE_ID_LENGTH, 'schedule id');
  /** A template key computed from the input moves into the namespace (a kept one already is). */
  const nsTemplate = (f: { templateKey: string | null }, kept: string | null) => {
    if (f.templateKey !== null && f.templateKey !== kept) f.templateKey = nsKey(ns, f.templateKey);
  };

  /** Run `fn` holding schedule `id`'s row; ScheduleNotFoundError when there is none. */
  const withSchedule = <T>(id: string, fn: (q: SqlRunner, s: ScheduleRecord, now: Date) => Promise<T>): Promise<T> => sql.tx(async (q) => {
    const s = await findSchedule(q, sql, sid(id), true);
    if (!s) throw new ScheduleNotFoundError(id);
    return fn(q, s, await dbNow(q, sql));
  });

  async function describe(id: string): Promise<ScheduleDescription> {
    const s = await findSchedule(sql, sql, sid(id));
    if (!s) throw new ScheduleNotFoundError(id);
    const runs = await recentScheduleExecutions(sql, s.id, 10);
    return {
      id: localKey(s.id), workflowName: s.workflowName, input: await db.payloads.decodeForDisplay(s.input), cron: s.cron, everyMs: s.everyMs, timezone: s.timezone,
      overlap: s.overlap as OverlapPolicy, catchupWindowMs: s.catchupWindowMs, jitterMs: s.jitterMs, paused: s.paused,
      nextFireTimes: s.paused || !s.nextFireAt ? [] : [s.nextFireAt, ...nextFireTimes(specOf(s), s.nextFireAt, 4)],
      bufferedFireTimes: s.buffered.map((b) => new Date(b)), lastFireAt: s.lastFireAt,
      counts: { fired: s.firedCount, skipped: s.skippedCount, missed: s.missedCount },
      recentRuns: runs.map((r) => ({
        executionId: localKey(r.id), fireTime: new Date(r.id.slice(s.id.length + 1)), status: r.status, createdAt: r.createdAt, finishedAt: r.finishedAt,
      })).filter((r) => !Number.isNaN(r.fireTime.getTime())),
      createdAt: s.createdAt, updatedAt: s.updatedAt,
    };
  }

  async function create<I>(options: ScheduleOptions<I>): Promise<ScheduleDescription> {
    const id = sid(options?.id);
    const { fields, spec } = resolveScheduleDefinition(options as ScheduleUpdate, jsonLimit);
    nsTemplate(fields, null);
    fields.input = await db.payloads.encodeJson(fields.input, `input of schedule for "${fields.workflowName}"`, o.payloadLimitBytes);
    try {
      await sql.tx(async (q) => {
        const nextFireAt = nextFireAfter(spec, await dbNow(q, sql));
        await insertSchedule(q, sql, id, fields, { nextFireAt, dueAt: fields.paused ? null : nextFireAt });
      });
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new ScheduleAlreadyExistsError(localKey(id));
      throw err;
    }
    log.info({ schedule: id, workflow: fields.workflowName }, 'schedule created');
    changed();
    return describe(localKey(id));
  }

  async function update<I>(id: string, patch: ScheduleUpdate<I>): Promise<ScheduleDescription> {
    validateScheduleId(id);
    if (!patch || typeof patch !== 'object') throw new ValidationError('update needs an object of fields to change', 'patch');
    if ('id' in patch) throw new ValidationError('a schedule id cannot be changed (create a new schedule)', 'id');
    await withSchedule(id, async (q, s, now) => {
      const newInput = 'input' in patch;
      // The template key is a function of the input: a new workflow on the stored input needs it decoded.
      const baseInput = !newInput && patch.workflow !== undefined ? await db.payloads.decodeValue(s.input) : undefined;
      const { fields, spec } = resolveScheduleDefinition(patch as ScheduleUpdate, jsonLimit, s, baseInput);
      nsTemplate(fields, s.templateKey);
      if (newInput) fields.input = await db.payloads.encodeJson(fields.input, `input of schedule for "${fields.workflowName}"`, o.payloadLimitBytes);
      const specChanged = fields.cron !== s.cron || fields.everyMs !== s.everyMs || fields.timezone !== s.timezone;
      const resumed = s.paused && !fields.paused;
      // A new rule, or a resume, fires from now on; otherwise the next fire stays as it was.
      const nextFireAt = specChanged || resumed ? nextFireAfter(spec, now) : s.nextFireAt;
      const dueAt = nextDueAt({ paused: fields.paused, nextFireAt, buffered: s.buffered, now, recheckMs: BUFFER_RECHECK_MS });
      await updateScheduleDefinition(q, sql, id, fields, { nextFireAt, dueAt });
    });
    changed();
    return describe(id);
  }

  async function setPaused(id: string, paused: boolean): Promise<void> {
    await update(id, { paused });
  }

  function toResult(outcome: FireOutcome): FireResult {
    return { started: outcome.started.map(localKey), alreadyFired: outcome.alreadyFired, buffered: outcome.buffered, skipped: outcome.skipped };
  }

  async function trigger(id: string, options: FireOptions = {}): Promise<FireResult> {
    validateScheduleId(id);
    const policy = options.overlap === undefined ? undefined : validateOverlap(options.overlap);
    const outcome = await withSchedule(id, (q, s, now) => applyFires(q, sql, s, now, [now], policy ?? (s.overlap as OverlapPolicy)));
    notifier(db.url).emit('work');
    changed();
    return toResult(outcome);
  }

  async function backfill(id: string, from: Date, to: Date, options: FireOptions = {}): Promise<FireResult> {
    validateScheduleId(id);
    if (!(from instanceof Date) || Number.isNaN(from.getTime())) throw new ValidationError('from must be a valid Date', 'from');
    if (!(to instanceof Date) || Number.isNaN(to.getTime())) throw new ValidationError('to must be a valid Date', 'to');
    if (to.getTime() <= from.getTime()) throw new ValidationError('to must be later than from', 'to');
    const policy = options.overlap === undefined ? undefined : validateOverlap(options.overlap);
    const outcome = await withSchedule(id, (q, s, now) => {
      if (to.getTime() > now.getTime()) throw new ValidationError('backfill covers the past only: to must not be later than now', 'to');
      const fires = fireTimesBetween(specOf(s), from, to, MAX_BACKFILL_FIRES);
      return applyFires(q, sql, s, now, fires, policy ?? (s.overlap as OverlapPolicy));
    });
    notifier(db.url).emit('work');
    changed();
    return toResult(outcome);
  }

  async function remove(id: string): Promise<void> {
    if (!(await deleteSchedule(sql, sid(id)))) throw new ScheduleNotFoundError(id);
    log.info({ schedule: id }, 'schedule deleted');
    changed();
  }

  async function list(options: { limit?: number; after?: string } = {}) {
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('limit must be an integer between 1 and 1000', 'limit');
    // A namespace's ids are `ns` + U+001F + id: one key range; the default namespace's are the rest.
    const rows: Awaited<ReturnType<typeof listSchedules>> = [];
    let after = options.after === undefined ? (ns === DEFAULT_NAMESPACE ? undefined : `${ns}${NS_SEP}`) : nsKey(ns, options.after);
    for (let i = 0; i < 100 && rows.length < limit; i++) {
      const page = await listSchedules(sql, { after, limit });
      rows.push(...page.filter((s) => namespaceOf(s.id) === ns).slice(0, limit - rows.length));
      if (page.length < limit || (ns !== DEFAULT_NAMESPACE && namespaceOf(page[page.length - 1].id) !== ns)) break;
      after = page[page.length - 1].id;
    }
    return rows.map((s) => ({
      id: localKey(s.id), workflowName: s.workflowName, cron: s.cron, everyMs: s.everyMs, timezone: s.timezone, overlap: s.overlap as OverlapPolicy,
      paused: s.paused, nextFireAt: s.paused ? null : s.nextFireAt, lastFireAt: s.lastFireAt,
    }));
  }

  return {
    create, update, describe, trigger, backfill, list, delete: remove,
    pause: (id) => setPaused(id, true),
    unpause: (id) => setPaused(id, false),
  };
}
