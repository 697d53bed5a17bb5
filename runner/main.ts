/**
 * One runner process: reads its settings from the environment and argv (the only place that
 * does), loads workflow modules, starts a runner and stops it on SIGTERM/SIGINT.
 *   LEASEFLOW_DB_URL, LEASEFLOW_WORKFLOWS (module or directory), LEASEFLOW_CONCURRENCY,
 *   LEASEFLOW_LEASE_TTL, LEASEFLOW_POLL_INTERVAL, LEASEFLOW_DRAIN_TIMEOUT, LEASEFLOW_POOL_MAX,
 *   LEASEFLOW_SCHEDULE_CHECK_INTERVAL, LOG_LEVEL, LEASEFLOW_BUILD_ID, LEASEFLOW_COMPATIBLE_BUILDS (comma-separated),
 *   LEASEFLOW_NAMESPACE, LEASEFLOW_WAKE (auto | off | an IP address: the doorbell, engine/wake), LEASEFLOW_PAYLOAD_{KEYS,KEY_ID,COMPRESSION} (codec-env.ts),
 *   LEASEFLOW_{LOCK_WAIT,IDLE_TRANSACTION,WAIT,NET_READ,NET_WRITE}_TIMEOUT_S (MySQL-family session timeouts)

 *   LEASEFLOW_STARTUP_WAIT (how long a starting runner waits for an unreachable store, default 30s; startup.ts)
 *   LEASEFLOW_METRICS_PORT / LEASEFLOW_DASHBOARD_PORT (+ LEASEFLOW_REPLICA_INDEX − 1), LEASEFLOW_DASHBOARD_TOKEN
 */
import { createLogger, toMs, type RunnerOptions } from '../engine';
import { codecsFromEnv } from './codec-env';
import { startExtras } from './extras';
import { loadWorkflows, moduleBuildIds } from './load-workflows';
import { handleSignals } from './signals';
import { DEFAULT_STARTUP_WAIT_MS, startWhenReachable } from './startup';

const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));

/** Start a runner process from environment settings; resolves when it stopped. */
export async function runRunnerProcess(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const logger = createLogger({ level: env.LOG_LEVEL ?? 'info' });
  const workflows = await loadWorkflows(env.LEASEFLOW_WORKFLOWS ?? './workflows');
  const options: RunnerOptions = {
    db: env.LEASEFLOW_DB_URL,
    codecs: codecsFromEnv(env),
    namespace: env.LEASEFLOW_NAMESPACE || undefined,
    wake: env.LEASEFLOW_WAKE || undefined,
    workflows,
    logger,
    concurrency: env.LEASEFLOW_CONCURRENCY ? Number(env.LEASEFLOW_CONCURRENCY) : undefined,
    leaseTtl: env.LEASEFLOW_LEASE_TTL,
    pollInterval: env.LEASEFLOW_POLL_INTERVAL,
    drainTimeout: env.LEASEFLOW_DRAIN_TIMEOUT,
    instanceId: env.LEASEFLOW_INSTANCE_ID,
    poolMax: env.LEASEFLOW_POOL_MAX ? Number(env.LEASEFLOW_POOL_MAX) : undefined,
    scheduleCheckInterval: env.LEASEFLOW_SCHEDULE_CHECK_INTERVAL,
    // An explicit build id (a git sha) for every workflow, else a hash of each module's source.
    buildId: env.LEASEFLOW_BUILD_ID || moduleBuildIds(workflows),
    compatibleBuilds: env.LEASEFLOW_COMPATIBLE_BUILDS ? env.LEASEFLOW_COMPATIBLE_BUILDS.split(',').map((b) => b.trim()).filter(Boolean) : undefined,
    session: {
      lockWaitTimeoutS: num(env.LEASEFLOW_LOCK_WAIT_TIMEOUT_S),
      idleTransactionTimeoutS: num(env.LEASEFLOW_IDLE_TRANSACTION_TIMEOUT_S),
      waitTimeoutS: num(env.LEASEFLOW_WAIT_TIMEOUT_S),
      netReadTimeoutS: num(env.LEASEFLOW_NET_READ_TIMEOUT_S),
      netWriteTimeoutS: num(env.LEASEFLOW_NET_WRITE_TIMEOUT_S),
    },
  };
  const startupWait = env.LEASEFLOW_STARTUP_WAIT ? toMs(env.LEASEFLOW_STARTUP_WAIT, 'LEASEFLOW_STARTUP_WAIT') : DEFAULT_STARTUP_WAIT_MS;
  const runner = await startWhenReachable(options, startupWait, logger);
  const stopped = handleSignals(runner, logger);
  const extras = await startExtras(runner, env, logger);
  process.send?.({ type: 'ready', runnerId: runner.id, metricsUrl: extras.metricsUrl, dashboardUrl: extras.dashboardUrl });
  await stopped;
  await extras.close();
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
