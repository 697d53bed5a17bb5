/**
 * The process edge of a runner: SIGTERM/SIGINT start a graceful shutdown (stop claiming, drain,
 * hand executions back); a second signal forces it. Only `runner/` touches the process.
 */
import type { Logger } from 'pino';
import type { Runner } from '../engine';

/** Install signal handlers for `runner`; resolves when it has stopped. */
export function handleSignals(runner: Runner, logger: Logger): Promise<void> {
  let signals = 0;
  return new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        logger.info({ signal: sig }, 'shutting down gracefully (send again to force)');
        runner.shutdown().then(resolve, (err) => {
          logger.error({ err }, 'shutdown failed');
          resolve();
        });
      } else {
        logger.warn({ signal: sig }, 'forcing shutdown');
        void runner.shutdown({ force: true });
      }
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
