/**
 * `leaseflow dashboard`: serve the web dashboard for a store until SIGINT/SIGTERM. Prints the
 * URL with the access token (random unless --token or LEASEFLOW_DASHBOARD_TOKEN is given).
 */
import { createLogger } from '../../engine';
import { int, positionals, str } from '../cli-args';
import { dbUrl, openStore, type Command } from './command';

export const dashboardCommand: Command = {
  name: 'dashboard',
  summary: 'serve the web dashboard (executions, timelines, live runners & leases, /metrics)',
  usage: 'leaseflow dashboard [--db URL] [--host 127.0.0.1] [--port 7400] [--token T]',
  description: 'Serve the dashboard on --host:--port (default 127.0.0.1:7400). Every page, API call, live stream and /metrics needs the token ' +
    '(printed at start; random unless --token or LEASEFLOW_DASHBOARD_TOKEN). Stops on Ctrl-C.',
  options: {
    host: { type: 'string', arg: 'HOST', description: 'address to bind (default 127.0.0.1)' },
    port: { type: 'string', arg: 'PORT', description: 'port (default 7400; 0 = any free port)' },
    token: { type: 'string', arg: 'TOKEN', description: 'access token (default: random, or LEASEFLOW_DASHBOARD_TOKEN)' },
  },
  async run(args, io) {
    positionals(args, [], 'dashboard');
    const port = int(args, 'port', 7400, 0, 65535) as number;
    const db = await openStore(dbUrl(args, io));
    // Loaded on use: commands and runners that serve no dashboard do not pay for it.
    const { startDashboard } = (require('../../dashboard/server') as typeof import('../../dashboard/server'));
    const logger = createLogger({ level: io.env.LOG_LEVEL ?? 'warn' });
    const dashboard = await startDashboard({ db, port, host: str(args, 'host'), token: str(args, 'token') ?? io.env.LEASEFLOW_DASHBOARD_TOKEN, logger,
      namespace: str(args, 'namespace') ?? (io.env.LEASEFLOW_NAMESPACE || undefined) })
      .catch(async (err: unknown) => { await db.close(); throw err; });
    io.out(`leaseflow dashboard: ${dashboard.loginUrl}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await dashboard.close();
    await db.close();
  },
};
