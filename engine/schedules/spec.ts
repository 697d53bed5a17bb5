/**
 * When a schedule fires: a cron expression evaluated by croner in an IANA time zone, or a fixed
 * interval aligned to the Unix epoch (`every: '1h'` fires on each whole UTC hour). Pure: every
 * function takes the instant it reasons from; nothing here reads a clock.
 * DST (cron in a zone that has it, croner's Vixie-cron semantics): a fixed-time fire inside the
 * spring gap fires once at the first instant after the gap (02:30 → 03:00 local); in the autumn
 * repeat it fires once, at the first occurrence; a stepped minute in that hour (every 15 minutes
 * of hour 2) fires in both real 02:xx hours of the repeat and not at all in the gap.
 */
import { Cron } from 'croner';
import { ValidationError } from '../errors';
import { toMs, type Duration } from '../duration';

/** A validated firing rule. */
export type ScheduleSpec =
  | { kind: 'cron'; cron: string; timezone: string }
  | { kind: 'every'; everyMs: number };

/** Shortest interval of `every`. */
export const MIN_EVERY_MS = 1000;
/** Longest interval of `every` (a year of days; beyond that use cron). */
export const MAX_EVERY_MS = 366 * 86_400_000;

/** Reject an unknown IANA time zone with a ValidationError naming `field`. */
export function validateTimezone(timezone: unknown, field = 'timezone'): string {
  if (typeof timezone !== 'string' || timezone.length === 0 || timezone.length > 64) {
    throw new ValidationError(`${field} must be an IANA time zone name like 'Europe/Berlin' or 'UTC'`, field);
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new ValidationError(`${field} "${timezone}" is not a known IANA time zone`, field);
  }
  return timezone;
}

/** Validate `cron | every` (+ timezone) into a spec; exactly one of cron and every. */
export function parseSpec(o: { cron?: unknown; every?: unknown; timezone?: unknown }): ScheduleSpec {
  const hasCron = o.cron !== undefined && o.cron !== null;
  const hasEvery = o.every !== undefined && o.every !== null;
  if (hasCron === hasEvery) throw new ValidationError('a schedule needs exactly one of cron and every', hasCron ? 'every' : 'cron');
  if (hasEvery) {
    if (o.timezone !== undefined && o.timezone !== null) throw new ValidationError('timezone applies to cron schedules only (every is aligned to UTC)', 'timezone');
    const everyMs = toMs(o.every as Duration, 'every');
    if (!Number.isInteger(everyMs) || everyMs < MIN_EVERY_MS || everyMs > MAX_EVERY_MS) {
      throw new ValidationError(`every must be a whole number of milliseconds between 1s and 366d (got ${o.every as string})`, 'every');
    }
    return { kind: 'every', everyMs };
  }
  if (typeof o.cron !== 'string' || o.cron.trim() === '' || o.cron.length > 255) throw new ValidationError('cron must be a non-empty cron expression of at most 255 characters', 'cron');
  const timezone = validateTimezone(o.timezone ?? 'UTC');
  let job: Cron;
  try {
    job = new Cron(o.cron, { timezone, paused: true });
  } catch (err) {
    throw new ValidationError(`cron "${o.cron}" is not a valid cron expression: ${(err as Error).message}`, 'cron');
  }
  if (job.nextRun(new Date(0)) === null) throw new ValidationError(`cron "${o.cron}" never fires`, 'cron');
  return { kind: 'cron', cron: o.cron, timezone };
}

const cronCache = new Map<string, Cron>();
function cronOf(spec: { cron: string; timezone: string }): Cron {
  const key = `${spec.timezone}\u0000${spec.cron}`;
  let job = cronCache.get(key);
  if (!job) {
    if (cronCache.size > 1000) cronCache.clear();
    cronCache.set(key, (job = new Cron(spec.cron, { timezone: spec.timezone, paused: true })));
  }
  return job;
}

/** The first fire time strictly after `after`, or null when the spec never fires again. */
export function nextFireAfter(spec: ScheduleSpec, after: Date): Date | null {
  if (spec.kind === 'every') return new Date((Math.floor(after.getTime() / spec.everyMs) + 1) * spec.everyMs);
  return cronOf(spec).nextRun(after);
}

/** Up to `n` fire times strictly after `after`. */
export function nextFireTimes(spec: ScheduleSpec, after: Date, n: number): Date[] {
  const out: Date[] = [];
  let t: Date | null = after;
  while (out.length < n && (t = nextFireAfter(spec, t)) !== null) out.push(t);
  return out;
}

/** Fire times in [from, to), at most `max` (throws naming `field` when there are more). */
export function fireTimesBetween(spec: ScheduleSpec, from: Date, to: Date, max: number, field = 'to'): Date[] {
  const out: Date[] = [];
  let t = nextFireAfter(spec, new Date(from.getTime() - 1));
  while (t !== null && t.getTime() < to.getTime()) {
    if (out.length >= max) throw new ValidationError(`the range holds more than ${max} fire times; split it`, field);
    out.push(t);
    t = nextFireAfter(spec, t);
  }
  return out;
}

/**
 * Deterministic jitter of one fire in [0, jitterMs]: every runner computes the same delay for
 * the same (schedule, fire time), so a re-done fire starts at the same moment.
 */
export function jitterFor(scheduleId: string, fireTime: Date, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  let h = 0x811c9dc5;
  for (const ch of `${scheduleId}|${fireTime.toISOString()}`) {
    h ^= ch.codePointAt(0) as number;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % (Math.floor(jitterMs) + 1);
}

/** The deterministic execution id of one fire. */
export function fireExecutionId(scheduleId: string, fireTime: Date): string {
  return `${scheduleId}:${fireTime.toISOString()}`;
}
