/**
 * The pure side of schedules: fire times (croner, time zones, DST as fixed vectors, epoch-aligned
 * intervals), validation, the catch-up window and every overlap policy's decision.
 */
import { collectDueFires, nextDueAt, planFires, MAX_BUFFERED } from '../../engine/schedules/plan';
import { fireExecutionId, fireTimesBetween, jitterFor, nextFireAfter, nextFireTimes, parseSpec, type ScheduleSpec } from '../../engine/schedules/spec';
import { resolveScheduleDefinition, validateScheduleId } from '../../engine/schedules/options';
import { resolveRunnerOptions } from '../../engine/runner/options';
import { defineWorkflow } from '../../engine/workflow/define-workflow';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const at = (s: string) => new Date(s);

describe('fire times', () => {
  const berlin230 = parseSpec({ cron: '30 2 * * *', timezone: 'Europe/Berlin' });

  it('a 02:30 Europe/Berlin daily schedule across the spring gap fires once, at 03:00 CEST, the first instant after the gap', () => {
    // 2026-03-29 02:00 CET → 03:00 CEST: 02:30 local does not exist that day.
    expect(iso(nextFireTimes(berlin230, at('2026-03-27T12:00:00Z'), 4))).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST (the gap's end): one fire, not skipped, not doubled
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
      '2026-03-31T00:30:00.000Z',
    ]);
  });

  it('a 02:30 Europe/Berlin daily schedule across the autumn repeat fires once, at the first 02:30 (CEST)', () => {
    // 2026-10-25 03:00 CEST → 02:00 CET: 02:30 local happens twice that day.
    expect(iso(nextFireTimes(berlin230, at('2026-10-23T12:00:00Z'), 4))).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // the first 02:30 (CEST); the repeated 02:30 CET (01:30Z) does not fire
      '2026-10-26T01:30:00.000Z', // 02:30 CET
      '2026-10-27T01:30:00.000Z',
    ]);
  });

  it('a wildcard-minute schedule in the repeated hour fires in both real hours and not at all in the gap', () => {
    const quarter = parseSpec({ cron: '*/15 2 * * *', timezone: 'Europe/Berlin' });
    expect(iso(fireTimesBetween(quarter, at('2026-10-25T00:00:00Z'), at('2026-10-25T02:00:00Z'), 100))).toEqual([
      '2026-10-25T00:00:00.000Z', '2026-10-25T00:15:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-25T00:45:00.000Z',
      '2026-10-25T01:00:00.000Z', '2026-10-25T01:15:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-25T01:45:00.000Z',
    ]);
    expect(fireTimesBetween(quarter, at('2026-03-28T23:00:00Z'), at('2026-03-29T23:00:00Z'), 100)).toEqual([]);
  });

  it('cron defaults to UTC and accepts a seconds field', () => {
    expect(iso(nextFireTimes(parseSpec({ cron: '0 9 * * 1' }), at('2026-11-30T09:00:00Z'), 1))).toEqual(['2026-12-07T09:00:00.000Z']);
    expect(iso(nextFireTimes(parseSpec({ cron: '*/10 * * * * *' }), at('2026-11-30T09:00:00.500Z'), 2))).toEqual(['2026-11-30T09:00:10.000Z', '2026-11-30T09:00:20.000Z']);
  });

  it('the next fire is strictly after the instant given', () => {
    const spec = parseSpec({ cron: '* * * * * *' });
    expect(nextFireAfter(spec, at('2026-01-01T00:00:01.000Z'))?.toISOString()).toBe('2026-01-01T00:00:02.000Z');
    const every: ScheduleSpec = parseSpec({ every: '1s' });
    expect(nextFireAfter(every, at('2026-01-01T00:00:01.000Z'))?.toISOString()).toBe('2026-01-01T00:00:02.000Z');
  });

  it('every is aligned to the Unix epoch (each whole UTC hour, each whole second)', () => {
    expect(iso(nextFireTimes(parseSpec({ every: '1h' }), at('2026-03-29T00:59:59.999Z'), 3))).toEqual([
      '2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z', '2026-03-29T03:00:00.000Z',
    ]);
    expect(iso(fireTimesBetween(parseSpec({ every: 1500 }), at('1970-01-01T00:00:00Z'), at('1970-01-01T00:00:04.500Z'), 10))).toEqual([
      '1970-01-01T00:00:00.000Z', '1970-01-01T00:00:01.500Z', '1970-01-01T00:00:03.000Z',
    ]);
  });

  it('fire execution ids sort like fire times', () => {
    expect(fireExecutionId('nightly', at('2026-03-29T01:00:00Z'))).toBe('nightly:2026-03-29T01:00:00.000Z');
  });

  it('jitter is deterministic per (schedule, fire) and within [0, jitter]', () => {
    const fire = at('2026-01-01T00:00:00Z');
    expect(jitterFor('a', fire, 0)).toBe(0);
    const values = Array.from({ length: 50 }, (_, i) => jitterFor('a', new Date(fire.getTime() + i * 1000), 10_000));
    expect(values.every((v) => v >= 0 && v <= 10_000)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(10);
    expect(jitterFor('a', fire, 10_000)).toBe(jitterFor('a', fire, 10_000));
  });
});

describe('validation', () => {
  it('rejects a bad cron, an unknown time zone and bad durations with errors naming the option', () => {
    expect(() => parseSpec({ cron: '61 * * * *' })).toThrow(expect.objectContaining({ code: 'VALIDATION', field: 'cron' }));
    expect(() => parseSpec({ cron: 'every day' })).toThrow(expect.objectContaining({ field: 'cron' }));
    expect(() => parseSpec({ cron: '' })).toThrow(expect.objectContaining({ field: 'cron' }));
    expect(() => parseSpec({ cron: '0 0 30 2 *' })).toThrow(expect.objectContaining({ field: 'cron' })); // 30 February never comes
    expect(() => parseSpec({ cron: '* * * * *', timezone: 'Mars/Olympus' })).toThrow(expect.objectContaining({ field: 'timezone' }));
    expect(() => parseSpec({ every: 'soon' })).toThrow(expect.objectContaining({ field: 'every' }));
    expect(() => parseSpec({ every: '10ms' })).toThrow(expect.objectContaining({ field: 'every' }));
    expect(() => parseSpec({ every: -5 })).toThrow(expect.objectContaining({ field: 'every' }));
    expect(() => parseSpec({ every: '1s', timezone: 'UTC' })).toThrow(expect.objectContaining({ field: 'timezone' }));
    expect(() => parseSpec({})).toThrow(expect.objectContaining({ field: 'cron' }));
    expect(() => parseSpec({ cron: '* * * * *', every: '1s' })).toThrow(expect.objectContaining({ field: 'every' }));
  });

  it('rejects bad schedule ids, overlap policies and windows', () => {
    expect(() => validateScheduleId('a:b')).toThrow(expect.objectContaining({ field: 'id' }));
    expect(() => validateScheduleId('')).toThrow(expect.objectContaining({ field: 'id' }));
    expect(() => validateScheduleId('x'.repeat(151))).toThrow(expect.objectContaining({ field: 'id' }));
    const base = { workflow: 'w', every: '1s' };
    expect(() => resolveScheduleDefinition({ ...base, overlap: 'queue' as never }, 1000)).toThrow(expect.objectContaining({ field: 'overlap' }));
    expect(() => resolveScheduleDefinition({ ...base, catchupWindow: '1 hour' }, 1000)).toThrow(expect.objectContaining({ field: 'catchupWindow' }));
    expect(() => resolveScheduleDefinition({ ...base, jitter: -1 }, 1000)).toThrow(expect.objectContaining({ field: 'jitter' }));
    expect(() => resolveScheduleDefinition({ every: '1s' }, 1000)).toThrow(expect.objectContaining({ field: 'workflow' }));
    expect(() => resolveScheduleDefinition({ ...base, input: 'x'.repeat(2000) }, 1000)).toThrow(expect.objectContaining({ code: 'SERIALIZATION' }));
    expect(resolveScheduleDefinition(base, 1000).fields).toMatchObject({ overlap: 'skip', catchupWindowMs: 3_600_000, jitterMs: 0, paused: false, everyMs: 1000 });
  });

  it('computes a template workflow\'s key from the input, also when an update changes only the workflow', () => {
    const perCustomer = defineWorkflow({ name: 'per-customer', template: { key: (i: { c: string }) => i.c, limit: 2 } }, async () => 1);
    const created = resolveScheduleDefinition({ workflow: perCustomer as never, input: { c: 'c-7' }, every: '1m' }, 1000).fields;
    expect(created).toMatchObject({ templateKey: 'c-7', templateLimit: 2 });
    const stored = { ...created, id: 's', nextFireAt: null, dueAt: null, buffered: [], lastExecutionId: null, lastFireAt: null,
      firedCount: 0, skippedCount: 0, missedCount: 0, createdAt: new Date(), updatedAt: new Date() };
    const plain = resolveScheduleDefinition({ workflow: 'plain' }, 1000, stored).fields;
    expect(plain).toMatchObject({ workflowName: 'plain', templateKey: null, input: '{"c":"c-7"}' });
    expect(resolveScheduleDefinition({ workflow: perCustomer as never }, 1000, { ...stored, ...plain }).fields.templateKey).toBe('c-7');
  });

  it('the runner validates its schedule options', () => {
    const wf = defineWorkflow({ name: 'w' }, async () => 1);
    expect(resolveRunnerOptions({ workflows: [wf] })).toMatchObject({ schedules: true, scheduleCheckIntervalMs: 5000 });
    expect(() => resolveRunnerOptions({ workflows: [wf], scheduleCheckInterval: '5ms' })).toThrow(expect.objectContaining({ field: 'scheduleCheckInterval' }));
    expect(() => resolveRunnerOptions({ workflows: [wf], schedules: 'yes' as never })).toThrow(expect.objectContaining({ field: 'schedules' }));
  });
});

describe('catch-up window', () => {
  const everySecond = parseSpec({ every: '1s' });

  it('collects every due fire inside the window and counts older ones as missed', () => {
    const now = at('2026-01-01T00:00:10.200Z');
    const r = collectDueFires(everySecond, at('2026-01-01T00:00:01Z'), now, 4000);
    expect(iso(r.fires)).toEqual(['2026-01-01T00:00:07.000Z', '2026-01-01T00:00:08.000Z', '2026-01-01T00:00:09.000Z', '2026-01-01T00:00:10.000Z']);
    expect(r.missed).toBe(6);
    expect(r.nextFireAt?.toISOString()).toBe('2026-01-01T00:00:11.000Z');
  });

  it('a fire exactly at its due time is collected; nothing before it is due', () => {
    expect(iso(collectDueFires(everySecond, at('2026-01-01T00:00:05Z'), at('2026-01-01T00:00:05Z'), 0).fires)).toEqual(['2026-01-01T00:00:05.000Z']);
    expect(collectDueFires(everySecond, at('2026-01-01T00:00:05Z'), at('2026-01-01T00:00:04.999Z'), 0).fires).toEqual([]);
  });

  it('jumps over a very long outage instead of walking every missed fire', () => {
    const r = collectDueFires(everySecond, at('2020-01-01T00:00:00Z'), at('2026-01-01T00:00:00.500Z'), 2000);
    expect(iso(r.fires)).toEqual(['2025-12-31T23:59:59.000Z', '2026-01-01T00:00:00.000Z']);
    expect(r.missed).toBeGreaterThan(1000);
    expect(r.nextFireAt?.toISOString()).toBe('2026-01-01T00:00:01.000Z');
  });
});

describe('overlap policies', () => {
  const f = (n: number) => at(`2026-01-01T00:00:0${n}.000Z`);

  it('skip: starts when nothing runs, drops fires while one runs', () => {
    expect(planFires('skip', [], [f(1)], false)).toEqual({ start: [f(1)], cancelLast: false, buffered: [], skipped: 0 });
    expect(planFires('skip', [], [f(1)], true)).toEqual({ start: [], cancelLast: false, buffered: [], skipped: 1 });
    // Fires caught up together overlap one another: the first starts.
    expect(planFires('skip', [], [f(1), f(2), f(3)], false)).toMatchObject({ start: [f(1)], skipped: 2 });
  });

  it('buffer_one: keeps one fire while one runs, drops the rest, and starts the buffered one first', () => {
    expect(planFires('buffer_one', [], [f(1), f(2)], true)).toEqual({ start: [], cancelLast: false, buffered: [f(1).toISOString()], skipped: 1 });
    expect(planFires('buffer_one', [f(1).toISOString()], [f(2)], false)).toEqual({ start: [f(1)], cancelLast: false, buffered: [f(2).toISOString()], skipped: 0 });
    expect(planFires('buffer_one', [f(1).toISOString()], [], false)).toMatchObject({ start: [f(1)], buffered: [] });
  });

  it('buffer_all: keeps every fire in order (up to its cap) and starts them one at a time', () => {
    expect(planFires('buffer_all', [], [f(1), f(2), f(3)], true)).toMatchObject({ start: [], buffered: [f(1), f(2), f(3)].map((d) => d.toISOString()), skipped: 0 });
    expect(planFires('buffer_all', [f(1), f(2)].map((d) => d.toISOString()), [f(3)], false)).toMatchObject({ start: [f(1)], buffered: [f(2), f(3)].map((d) => d.toISOString()) });
    const full = Array.from({ length: MAX_BUFFERED }, (_, i) => new Date(i * 1000).toISOString());
    expect(planFires('buffer_all', full, [f(1)], true)).toMatchObject({ start: [], skipped: 1 });
  });

  it('allow_all: starts every fire regardless', () => {
    expect(planFires('allow_all', [], [f(1), f(2)], true)).toEqual({ start: [f(1), f(2)], cancelLast: false, buffered: [], skipped: 0 });
  });

  it('cancel_other: cancels the running one and starts the newest fire', () => {
    expect(planFires('cancel_other', [], [f(1)], true)).toEqual({ start: [f(1)], cancelLast: true, buffered: [], skipped: 0 });
    expect(planFires('cancel_other', [], [f(1)], false)).toEqual({ start: [f(1)], cancelLast: false, buffered: [], skipped: 0 });
    expect(planFires('cancel_other', [], [f(1), f(2)], false)).toEqual({ start: [f(2)], cancelLast: false, buffered: [], skipped: 1 });
    expect(planFires('cancel_other', [], [], true)).toEqual({ start: [], cancelLast: false, buffered: [], skipped: 0 });
  });

  it('a schedule is due at its next fire, sooner while a buffer waits, never while paused', () => {
    const now = f(1);
    expect(nextDueAt({ paused: false, nextFireAt: f(5), buffered: [], now, recheckMs: 1000 })).toEqual(f(5));
    expect(nextDueAt({ paused: false, nextFireAt: f(5), buffered: ['x'], now, recheckMs: 1000 })).toEqual(f(2));
    expect(nextDueAt({ paused: true, nextFireAt: f(5), buffered: ['x'], now, recheckMs: 1000 })).toBeNull();
  });
});
