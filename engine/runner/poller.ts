/**
 * The poll loop. It knows no SQL: `tick()` claims what it can and says whether it found work;
 * the loop runs it again at once while busy, after `intervalMs` while idle (sooner right after
 * work: `fastIdleMs`, doubling back up to `intervalMs`), never while the
 * queue has no free slot (`waitForCapacity`), and at once on `nudge()`. Errors back off
 * exponentially up to 10 × the interval (the database may be restarting).
 */

/** What a tick found. */
export type TickResult = 'busy' | 'idle' | 'full';

/** Settings of a poller. */
export interface PollerOptions {
  intervalMs: number;
  tick: () => Promise<TickResult>;
  /** Resolves when the queue has a free slot again. */
  waitForCapacity: () => Promise<void>;
  onError: (err: unknown) => void;
  /**
   * Idle pause right after work was found: it doubles on each empty tick up to `intervalMs`.
   * Work tends to come in bursts, so a runner that has just been busy looks again within a few
   * ms (cross-process submit → first step), while a runner idle for a second is back to one
   * probe per interval (idle load unchanged). @default intervalMs (no backoff)
   */
  fastIdleMs?: number;
}

/** A running poll loop. */
export interface Poller {
  nudge(): void;
  /**
   * A doorbell ring from another process: wakes the loop only from an idle pause of at least
   * RING_MIN_PAUSE_MS (a runner that has backed off). A runner that is busy, full, or in its
   * fast idle right after work ignores it — it looks again within milliseconds anyway, and
   * claiming on every ring would split its claims into many small ones.
   */
  ring(): void;
  /** Stop; resolves when the current tick finished. */
  stop(): Promise<void>;
}

/** Idle pauses shorter than this ignore rings (see Poller.ring). */
export const RING_MIN_PAUSE_MS = 40;

/** Start polling. */
export function startPoller(o: PollerOptions): Poller {
  let stopped = false;
  let wake: (() => void) | undefined;
  /** The idle pause in progress (ms), or 0. */
  let idlePause = 0;
  let nudged = false;
  let failures = 0;
  let idleMs = o.intervalMs;
  const fast = Math.min(o.fastIdleMs ?? o.intervalMs, o.intervalMs);

  /** Sleep up to `ms`, ended early by nudge/stop; `cancel` disarms it when something else won. */
  const pausable = (ms: number) => {
    let cancel = () => undefined as void;
    const promise = new Promise<void>((resolve) => {
      if (nudged || stopped) { nudged = false; resolve(); return; }
      const t = setTimeout(done, ms);
      wake = done;
      cancel = () => { clearTimeout(t); if (wake === done) wake = undefined; resolve(); };
      function done() { clearTimeout(t); if (wake === done) wake = undefined; nudged = false; resolve(); }
    });
    return { promise, cancel };
  };
  const pause = (ms: number) => pausable(ms).promise;

  const loop = (async () => {
    while (!stopped) {
      let result: TickResult;
      try {
        result = await o.tick();
        failures = 0;
      } catch (err) {
        failures++;
        o.onError(err);
        await pause(Math.min(o.intervalMs * 10, o.intervalMs * 2 ** Math.min(failures, 6)));
        continue;
      }
      if (stopped) break;
      if (result !== 'idle') idleMs = fast;
      if (result === 'full') {
        const p = pausable(o.intervalMs * 20);
        await Promise.race([o.waitForCapacity(), p.promise]);
        p.cancel();
      }
      else if (result === 'idle') {
        idlePause = idleMs;
        await pause(idleMs);
        idlePause = 0;
        idleMs = Math.min(o.intervalMs, idleMs * 2);
      }
    }
  })();

  return {
    nudge() {
      nudged = true;
      wake?.();
    },
    ring() {
      if (idlePause >= RING_MIN_PAUSE_MS) wake?.();
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
