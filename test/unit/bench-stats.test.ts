/**
 * The bench's pure helpers: percentiles (nearest rank), summaries, rates, ratios, counter
 * deltas, the /proc parsers, target verdicts and the command line. No database, no processes.
 */
import { counterDelta, median, perRunnerConcurrency, perSecond, perUnit, percentile, ratio, round, summarize, verdict } from '../../bench/lib/stats';
import { parseMachineBusySeconds, parseStatCpuTicks, parseStatusKb } from '../../bench/lib/proc';
import { DEFAULT_DB, parseBenchArgs, SECTIONS } from '../../bench/lib/options';
import { serverDelta } from '../../bench/lib/server';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  test('the p-th percentile of 1..100 is p', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 90)).toBe(90);
  });

  test('p = 0 is the minimum and p = 100 the maximum', () => {
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile(hundred, 100)).toBe(100);
  });

  test('it is always one of the samples, never an interpolation', () => {
    expect(percentile([10, 20], 50)).toBe(10);
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([1, 1000], 99)).toBe(1000);
  });

  test('unsorted input gives the same answer and is not modified', () => {
    const shuffled = [5, 3, 9, 1, 7];
    expect(percentile(shuffled, 50)).toBe(5);
    expect(shuffled).toEqual([5, 3, 9, 1, 7]);
  });

  test('p99 of fewer than 100 samples is the maximum', () => {
    expect(percentile([4, 8, 15, 16, 23, 42], 99)).toBe(42);
  });

  test('no sample gives null; non-finite samples are ignored', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([NaN, Infinity], 50)).toBeNull();
    expect(percentile([NaN, 3, Infinity, 1], 100)).toBe(3);
  });

  test('a percentile outside 0..100 is a RangeError', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], NaN)).toThrow(RangeError);
  });

  test('median is the 50th percentile', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([])).toBeNull();
  });
});

describe('summarize', () => {
  test('n, min, p50, p90, p99, max and mean, rounded', () => {
    expect(summarize([1, 2, 3, 4], 2)).toEqual({ n: 4, min: 1, p50: 2, p90: 4, p99: 4, max: 4, mean: 2.5 });
    expect(summarize([1, 2, 2], 2).mean).toBe(1.67);
  });

  test('an empty summary has n = 0 and nulls', () => {
    expect(summarize([])).toEqual({ n: 0, min: null, p50: null, p90: null, p99: null, max: null, mean: null });
  });
});

describe('rates and ratios', () => {
  test('perSecond converts a count over milliseconds', () => {
    expect(perSecond(500, 250)).toBe(2000);
    expect(perSecond(0, 1000)).toBe(0);
  });

  test('perSecond of an empty or invalid window is null', () => {
    expect(perSecond(10, 0)).toBeNull();
    expect(perSecond(10, -5)).toBeNull();
    expect(perSecond(10, NaN)).toBeNull();
  });

  test('ratio divides, and is null when a side is missing or the divisor is not positive', () => {
    expect(ratio(2600, 4000)).toBe(0.65);
    expect(ratio(null, 4000)).toBeNull();
    expect(ratio(2600, null)).toBeNull();
    expect(ratio(2600, 0)).toBeNull();
    expect(ratio(2600, -1)).toBeNull();
    expect(ratio(NaN, 3)).toBeNull();
  });

  test('round keeps null for missing and non-finite values', () => {
    expect(round(1.25, 1)).toBe(1.3);
    expect(round(1234.5, 0)).toBe(1235);
    expect(round(null)).toBeNull();
    expect(round(Infinity)).toBeNull();
  });

  test('per-runner concurrency is the total divided by the runners, rounded up', () => {
    expect(perRunnerConcurrency(50, 2)).toBe(25);
    expect(perRunnerConcurrency(50, 3)).toBe(17);
    expect(perRunnerConcurrency(1, 4)).toBe(1);
    expect(() => perRunnerConcurrency(0, 2)).toThrow(RangeError);
  });
});

describe('counter deltas', () => {
  test('after − before per key; a key new in after counts from 0', () => {
    expect(counterDelta({ Questions: 100, Com_select: 10 }, { Questions: 160, Com_select: 15, Handler_commit: 7 }))
      .toEqual({ Questions: 60, Com_select: 5, Handler_commit: 7 });
  });

  test('perUnit divides every counter, and is empty without units', () => {
    expect(perUnit({ Questions: 300, Handler_commit: 100 }, 200, 2)).toEqual({ Questions: 1.5, Handler_commit: 0.5 });
    expect(perUnit({ Questions: 300 }, 0)).toEqual({});
  });

  test("serverDelta subtracts the monitor's own statements from Questions and Com_select", () => {
    const before = { values: { Questions: 1000, Com_select: 100, Com_insert: 5 }, sent: 10, selects: 4 };
    const after = { values: { Questions: 1050, Com_select: 120, Com_insert: 25 }, sent: 13, selects: 6 };
    expect(serverDelta(before, after)).toEqual({ Questions: 47, Com_select: 18, Com_insert: 20 });
  });
});

describe('/proc parsers', () => {
  test('utime + stime from /proc/<pid>/stat, even when the command name has spaces and parentheses', () => {
    const stat = '4242 (node (bench) x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 11 0 100 1000000 5000 18446744073709551615';
    expect(parseStatCpuTicks(stat)).toBe(1234 + 567);
    expect(parseStatCpuTicks('garbage')).toBeNull();
  });

  test('machine busy seconds from /proc/stat leave out idle and iowait', () => {
    const stat = 'cpu  1000 50 300 9000 200 10 20 5 0 0\ncpu0 500 25 150 4500 100 5 10 2 0 0\nintr 1 2 3\n';
    expect(parseMachineBusySeconds(stat)).toBeCloseTo((1000 + 50 + 300 + 10 + 20 + 5) / 100, 6);
    expect(parseMachineBusySeconds('intr 1 2')).toBeNull();
  });

  test('VmHWM and VmRSS in kB from /proc/<pid>/status', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  153600 kB\nVmRSS:\t  140000 kB\n';
    expect(parseStatusKb(status, 'VmHWM')).toBe(153600);
    expect(parseStatusKb(status, 'VmRSS')).toBe(140000);
    expect(parseStatusKb(status, 'VmSwap')).toBeNull();
  });
});

describe('targets', () => {
  test('a max target passes at or under the bound, a min target at or over it, a missing figure is SKIP', () => {
    expect(verdict({ name: 'idle', value: 5, kind: 'max', bound: 5, unit: 'q/s' })).toBe('PASS');
    expect(verdict({ name: 'idle', value: 5.1, kind: 'max', bound: 5, unit: 'q/s' })).toBe('FAIL');
    expect(verdict({ name: 'ratio', value: 0.6, kind: 'min', bound: 0.6, unit: '×' })).toBe('PASS');
    expect(verdict({ name: 'ratio', value: 0.59, kind: 'min', bound: 0.6, unit: '×' })).toBe('FAIL');
    expect(verdict({ name: 'scale', value: null, kind: 'max', bound: 1.3, unit: '×' })).toBe('SKIP');
  });
});

describe('bench command line', () => {
  test('defaults: MariaDB bench database, 2000 × 5 steps, 2 runners, 50 in flight, every section but scale', () => {
    const o = parseBenchArgs([]);
    expect(o).toMatchObject({ db: DEFAULT_DB, json: false, quick: false, workflows: 2000, steps: 5, runners: 2, concurrency: 50, failoverDefault: false });
    expect([...o.sections]).toEqual(SECTIONS.filter((s) => s !== 'scale'));
  });

  test('--quick shrinks the sizes, and explicit flags still win', () => {
    expect(parseBenchArgs(['--quick']).workflows).toBe(200);
    expect(parseBenchArgs(['--quick', '--workflows', '50']).workflows).toBe(50);
    expect(parseBenchArgs(['--concurrency=8', '--runners', '4'])).toMatchObject({ concurrency: 8, runners: 4 });
  });

  test('--only selects sections; --scale adds the scale section', () => {
    expect([...parseBenchArgs(['--only', 'limit,steps']).sections]).toEqual(['limit', 'steps']);
    expect(parseBenchArgs(['--scale']).sections.has('scale')).toBe(true);
    expect(() => parseBenchArgs(['--only', 'steps,bogus'])).toThrow(/unknown section "bogus"/);
  });

  test('bad values and unknown options are rejected with the option named', () => {
    expect(() => parseBenchArgs(['--workflows', '0'])).toThrow(/--workflows/);
    expect(() => parseBenchArgs(['--runners', 'two'])).toThrow(/--runners/);
    expect(() => parseBenchArgs(['--db'])).toThrow(/--db needs a value/);
    expect(() => parseBenchArgs(['--db', 'sqlite:./x.db'])).toThrow(/mysql:\/\/ or mariadb:\/\//);
    expect(() => parseBenchArgs(['--frobnicate'])).toThrow(/unknown option --frobnicate/);
  });
});
