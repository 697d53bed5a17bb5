/**
 * A runner process that starts while its store cannot be reached (the database is still booting,
 * a proxy has no healthy server yet, a deploy started everything at once) waits for it instead of
 * exiting: it retries creating and starting the runner with a capped backoff, logging each try,
 * for at most `waitMs` (LEASEFLOW_STARTUP_WAIT, default 30 s; 0 = fail at once). Only
 * StoreUnavailableError is retried: refused credentials, a missing database, bad settings and
 * workflow code errors fail at once. Invariant: a try that failed leaves nothing open.
 */
import { createRunner, StoreUnavailableError, type Logger, type Runner, type RunnerOptions } from '../engine';

/** Default wait for an unreachable store at startup. */
export const DEFAULT_STARTUP_WAIT_MS = 30_000;
const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 2_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Create and start a runner, waiting up to `waitMs` for an unreachable store. */
export async function startWhenReachable(options: RunnerOptions, waitMs: number, logger: Logger): Promise<Runner> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt++) {
    let runner: Runner | undefined;
    try {
      runner = await createRunner(options);
      await runner.start();
      if (attempt > 1) logger.info({ attempts: attempt }, 'store reachable: runner started');
      return runner;
    } catch (err) {
      // A runner that was created but did not start owns only its pool: close it.
      await runner?.shutdown().catch(() => undefined);
      const left = deadline - Date.now();
      if (!(err instanceof StoreUnavailableError) || left <= 0) throw err;
      const delay = Math.min(FIRST_DELAY_MS * 2 ** (attempt - 1), MAX_DELAY_MS, left);
      logger.warn({ err: err.message, attempt, retry_in_ms: delay, gives_up_in_ms: left }, 'store unavailable at startup: retrying');
      await sleep(delay);
    }
  }
}
