/**
 * What a runner process serves besides running workflows, when asked through its environment:
 * Prometheus /metrics (LEASEFLOW_METRICS_PORT) and the dashboard (LEASEFLOW_DASHBOARD_PORT,
 * LEASEFLOW_DASHBOARD_TOKEN). A forked replica i adds i − 1 to each port so replicas never clash.
 */
import { createRunnerMetrics, serveMetrics, type Logger, type Runner } from '../engine';

/** The servers started next to a runner. */
export interface RunnerExtras { metricsUrl?: string; dashboardUrl?: string; close(): Promise<void> }

/** Start the extras `env` asks for. */
export async function startExtras(runner: Runner, env: NodeJS.ProcessEnv, logger: Logger): Promise<RunnerExtras> {
  const offset = Math.max(0, Number(env.LEASEFLOW_REPLICA_INDEX ?? 1) - 1);
  const closers: (() => Promise<void>)[] = [];
  const out: RunnerExtras = { close: async () => { for (const c of closers.reverse()) await c().catch(() => undefined); } };
  if (env.LEASEFLOW_METRICS_PORT) {
    const metrics = createRunnerMetrics(runner);
    const server = await serveMetrics(metrics.registry, { port: Number(env.LEASEFLOW_METRICS_PORT) + offset, host: env.LEASEFLOW_METRICS_HOST });
    closers.push(async () => { await server.close(); metrics.close(); });
    out.metricsUrl = server.url;
    logger.info({ url: server.url }, 'metrics endpoint listening');
  }
  if (env.LEASEFLOW_DASHBOARD_PORT) {
    // Loaded on use: commands and runners that serve no dashboard do not pay for it.
    const { startDashboard } = (require('../dashboard/server') as typeof import('../dashboard/server'));
    const dashboard = await startDashboard({
      db: runner.db, namespace: runner.options.namespace, port: Number(env.LEASEFLOW_DASHBOARD_PORT) + offset, host: env.LEASEFLOW_DASHBOARD_HOST, token: env.LEASEFLOW_DASHBOARD_TOKEN, logger,
    });
    closers.push(() => dashboard.close());
    out.dashboardUrl = dashboard.loginUrl;
    logger.info({ url: dashboard.loginUrl }, 'dashboard listening');
  }
  return out;
}
