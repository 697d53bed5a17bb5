/**
 * The chaos checker's failover verdict next to the other faults: a sample whose execution row a
 * paused transaction held locked is allowed the bound plus exactly the locked time inside the
 * sample (per execution and time window), and no more. Pure functions: no database.
 */
import { checkFailover, checkQuiesce, rowLockedDuring, type ChaosData, type FailoverSample, type TxPause } from '../../bench/chaos/checker';

const T0 = 1_800_000_000_000;
const BOUND = 3650;
/** The DB clock runs 250 ms ahead of the harness in these runs. */
const OFFSET = 250;

function run(failovers: FailoverSample[], txPauses: TxPause[]): ChaosData {
  return {
    executions: [], events: [], signals: [], attempts: [],
    harness: {
      submissions: [], startFailures: [], sentSignals: [], signalFailures: [], stops: [], probes: [], quiesce: null, requireZombies: false,
      failovers, txPauses, dbClockOffsetMs: OFFSET, failoverBoundMs: BOUND, handoffBoundMs: 1000,
    },
  };
}

/** A pause of `id`'s row from `from` to `to` ms after T0 (harness clock), stored on the DB clock. */
const pause = (id: string, from: number, to: number): TxPause => ({ executionId: id, lockedAtMs: T0 + from + OFFSET, releasedAtMs: T0 + to + OFFSET });
const kill9 = (id: string, latencyMs: number | null): FailoverSample => ({ fault: 'kill9', executionId: id, faultAtMs: T0, latencyMs });

describe('chaos failover verdict', () => {
  test('a kill -9 sample slowed by a paused transaction on its own row is held to the bound plus the locked time', () => {
    // seed 5: 6.6 s, the row locked from 0.5 s to 5.5 s after the kill.
    const d = run([kill9('e1', 6600)], [pause('e1', 500, 5500)]);
    const r = checkFailover(d);
    expect(r.violations).toEqual([]);
    expect(r.counts.kill9_bound_plus_lock_hold).toBe(1);
  });

  test('the allowance is the locked time inside the sample only: a longer latency still fails', () => {
    const d = run([kill9('e1', 8700)], [pause('e1', 500, 5500)]);
    expect(checkFailover(d).violations).toEqual([`kill9: e1 continued after 8700 ms > bound ${BOUND} ms + 5000 ms rows were held by a paused transaction, a runner paused inside one or a partitioned host`]);
  });

  test('a pause of another execution, or one outside the sample window, gives no allowance', () => {
    const other = run([kill9('e1', 6600)], [pause('e2', 500, 5500)]);
    expect(checkFailover(other).ok).toBe(false);
    const before = run([kill9('e1', 6600)], [pause('e1', -9000, -100)]);
    expect(checkFailover(before).ok).toBe(false);
    const after = run([kill9('e1', 6600)], [pause('e1', 6700, 9000)]);
    expect(checkFailover(after).ok).toBe(false);
  });

  test('locked time is clipped to the sample, converted from the DB clock, and overlapping pauses count once', () => {
    const f = kill9('e1', 6000);
    expect(rowLockedDuring(f, [pause('e1', -2000, 1000)], OFFSET)).toBe(1000);
    expect(rowLockedDuring(f, [pause('e1', 5000, 9000)], OFFSET)).toBe(1000);
    expect(rowLockedDuring(f, [pause('e1', 1000, 3000), pause('e1', 2000, 4000)], OFFSET)).toBe(3000);
    // Read on the harness clock without the offset, the same pause would end 250 ms later (clipped).
    expect(rowLockedDuring(f, [pause('e1', 5000, 7000)], 0)).toBe(750);
    expect(rowLockedDuring(f, [pause('e1', 5000, 7000)], OFFSET)).toBe(1000);
    expect(rowLockedDuring(kill9('e1', null), [pause('e1', 0, 5000)], OFFSET)).toBe(0);
  });

  test('a host partition during a sample adds the cut time inside the sample, for any execution', () => {
    const d = run([kill9('e1', 6000), kill9('e2', 9000)], []);
    d.harness.partitions = [{ host: 1, cutAtMs: T0 + 1000, healedAtMs: T0 + 4000 }];
    expect(checkFailover(d).violations).toEqual([`kill9: e2 continued after 9000 ms > bound ${BOUND} ms + 3000 ms rows were held by a paused transaction, a runner paused inside one or a partitioned host`]);
    d.harness.partitions = [];
    expect(checkFailover(d).violations).toHaveLength(2);
  });

  test('a runner SIGSTOPped inside a transaction adds its pause inside the sample; one paused outside adds nothing', () => {
    const d = run([kill9('e1', 6000)], []);
    d.harness.stops = [{ runnerId: 'r1', pid: 1, stoppedAtMs: T0 + 500 + OFFSET, resumedAtMs: T0 + 3500 + OFFSET }];
    expect(checkFailover(d).ok).toBe(false);
    d.harness.stops[0].inTransaction = true;
    expect(checkFailover(d).violations).toEqual([]);
  });

  test('a SIGTERM forced by a second signal is held to the failover bound from that signal, not to the hand-off bound', () => {
    const sigterm = (latencyMs: number, forcedAfterMs?: number): FailoverSample => ({ fault: 'sigterm', executionId: 'e1', faultAtMs: T0, latencyMs, ...(forcedAfterMs === undefined ? {} : { forcedAfterMs }) });
    expect(checkFailover(run([sigterm(5177, 1700)], [])).ok).toBe(true);
    expect(checkFailover(run([sigterm(5177)], [])).ok).toBe(false);
    expect(checkFailover(run([sigterm(5600, 1700)], [])).violations[0]).toMatch(/forced 1700 ms after the first signal: bound 5350 ms/);
  });

  test('quiesce: the work term is the measured run time of the final executions the fault did not touch, when longer than planned', () => {
    const d = run([kill9('final-0', 2000)], []);
    const exec = (id: string, createdAtMs: number, finishedAtMs: number) => ({
      id, workflow: 'w', status: 'completed', input: null, output: null, error: null, leaseToken: 1, attempt: 1, parentId: null, templateKey: null,
      createdAtMs, finishedAtMs, waitFor: null, runnerId: null,
    });
    d.executions = [exec('final-0', T0 - 100, T0 + 4100), exec('final-1', T0 - 100, T0 + 2900)];
    d.harness.quiesce = { lastFault: 'kill9 r1', lastFaultAtMs: T0, quiescedAtMs: T0 + 4130, boundMs: 3970, terms: { remaining_work_ms: 320 }, batchIds: ['final-0', 'final-1'] };
    const r = checkQuiesce(d);
    expect(r.ok).toBe(true);
    expect(r.counts.bound_ms).toBe(3970 - 320 + 3000);
    // Without the untouched execution's measure the planned work is the term, and 4130 ms is too long.
    d.harness.quiesce.batchIds = ['final-0'];
    expect(checkQuiesce(d).ok).toBe(false);
  });

  test('a missing takeover fails even when its row was locked', () => {
    expect(checkFailover(run([kill9('e1', null)], [pause('e1', 0, 5000)])).ok).toBe(false);
  });

  test('excluded samples are not held to the bound, and are reported with their reasons', () => {
    const d = run([{ ...kill9('e1', 20_000), excluded: 'writer node1 killed' }, { ...kill9('e2', 15_000), excluded: 'writer node1 killed' }], []);
    const r = checkFailover(d);
    expect(r.ok).toBe(true);
    expect(r.counts.kill9_excluded).toBe(2);
    expect(String(r.counts.kill9_excluded_why)).toContain('writer node1 killed ×2');
  });
});
