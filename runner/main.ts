/**
 * One runner process: reads its settings from the environment and argv (the only place that
 * does), loads workflow modules, starts a runner and stops it on SIGTERM/SIGINT.
 *   LEASEFLOW_DB_URL, LEASEFLOW_WORKFLOWS (module or directory), LEASEFLOW_CONCURRENCY,
 *   LEASEFLOW_LEASE_TTL, LEASEFLOW_POLL_INTERVAL, LEASEFLOW_DRAIN_TIMEOUT, LEASEFLOW_POOL_MAX,
 *   LEASEFLOW_SCHEDULE_CHECK_INTERVAL, LOG_LEVEL
 */
import { createLogger, createRunner, type RunnerOptions } from '../engine';
import { loadWorkflows } from './load-workflows';
import { handleSignals } from './signals';

/** Start a runner process from environment settings; resolves when it stopped. */
export async function runRunnerProcess(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const logger = createLogger({ level: env.LOG_LEVEL ?? 'info' });
  const workflows = await loadWorkflows(env.LEASEFLOW_WORKFLOWS ?? './workflows');
  const options: RunnerOptions = {
    db: env.LEASEFLOW_DB_URL,
    workflows,
    logger,
    concurrency: env.LEASEFLOW_CONCURRENCY ? Number(env.LEASEFLOW_CONCURRENCY) : undefined,
    leaseTtl: env.LEASEFLOW_LEASE_TTL,
    pollInterval: env.LEASEFLOW_POLL_INTERVAL,
    drainTimeout: env.LEASEFLOW_DRAIN_TIMEOUT,
    instanceId: env.LEASEFLOW_INSTANCE_ID,
    poolMax: env.LEASEFLOW_POOL_MAX ? Number(env.LEASEFLOW_POOL_MAX) : undefined,
    scheduleCheckInterval: env.LEASEFLOW_SCHEDULE_CHECK_INTERVAL,
  };
  const runner = await createRunner(options);
  const stopped = handleSignals(runner, logger);
  await runner.start();
  process.send?.({ type: 'ready', runnerId: runner.id });
  await stopped;
}

if (require.main === module) {
  runRunnerProcess()
    .catch((err: Error) => {
      process.stderr.write(`leaseflow runner: ${err.message}\n`);
      process.exitCode = 1;
    })
    // The runner has stopped and released everything: a workflow module's own pool or timer
    // must not keep the process alive after that.
    .finally(() => setTimeout(() => process.exit(), 200).unref());
}
