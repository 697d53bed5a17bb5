/**
 * The poller's idle backoff (issue 16, item 4): right after a tick that found work, the idle
 * pause starts at fastIdleMs and doubles back up to the poll interval, so a burst's next
 * submit is seen within a few ms while an idle runner still probes once per interval.
 * Fake timers: the test counts ticks at simulated instants, it measures no real time.
 */
import { startPoller, type TickResult } from '../../engine/runner/poller';

async function ticksAt(results: TickResult[], o: { intervalMs: number; fastIdleMs?: number }, instants: number[]): Promise<number[]> {
  const times: number[] = [];
  const start = Date.now(); // faked: advances only with the timers
  let t = 0;
  const poller = startPoller({
    intervalMs: o.intervalMs, fastIdleMs: o.fastIdleMs,
    tick: async () => { times.push(Date.now() - start); return results.shift() ?? 'idle'; },
    waitForCapacity: () => new Promise(() => undefined),
    onError: () => undefined,
  });
  for (const at of instants) {
    await jest.advanceTimersByTimeAsync(at - t);
    t = at;
  }
  const stopped = poller.stop();
  await jest.advanceTimersByTimeAsync(0);
  await stopped;
  return times;
}

describe('poller idle backoff', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('after work: pauses of 10, 20, 40 … ms, capped at the interval', async () => {
    // Ticks: t=0 busy (then at once) idle at 0, then pauses 10, 20, 40, 80, 160, 320, 500, 500.
    const instants = [0, 10, 30, 70, 150, 310, 630, 1130, 1630];
    const times = await ticksAt(['busy'], { intervalMs: 500, fastIdleMs: 10 }, instants);
    expect(times).toEqual([0, 0, 10, 30, 70, 150, 310, 630, 1130, 1630]);
  });

  test('never busy: one probe per interval (no extra idle load)', async () => {
    const times = await ticksAt([], { intervalMs: 500, fastIdleMs: 10 }, [0, 100, 499, 500, 1000, 1500]);
    expect(times).toEqual([0, 500, 1000, 1500]);
  });

  test('without fastIdleMs the idle pause is always the interval', async () => {
    const times = await ticksAt(['busy'], { intervalMs: 500 }, [0, 10, 500, 1000]);
    expect(times).toEqual([0, 0, 500, 1000]);
  });
});
