/**
 * `leaseflow runner`: serve workflows. One replica runs in this process; `--replicas N` forks N
 * replica processes, prefixes their output with the replica number, forwards SIGTERM/SIGINT
 * (once per signal received) and exits when all of them have exited.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { duration, int, positionals, str, UsageError } from '../cli-args';
import { runRunnerProcess } from '../main';
import { signalReplicas, startReplicas } from '../replicas';
import { dbUrl, type Command } from './command';

export const runnerCommand: Command = {
  name: 'runner',
  summary: 'run runner replicas that execute workflows',
  usage: 'leaseflow runner [--replicas N] [--workflows <dir|module>] [--concurrency C] [--lease-ttl 15s] [--poll-interval 500ms]',
  description: 'Start runner replicas serving the workflow definitions exported from --workflows. SIGTERM or Ctrl-C drains them and hands their executions back; a second signal forces it.',
  options: {
    replicas: { type: 'string', arg: 'N', description: 'number of replica processes (default 1: this process)' },
    workflows: { type: 'string', arg: 'PATH', description: 'a module or a directory of modules (default ./workflows)' },
    concurrency: { type: 'string', arg: 'C', description: 'executions run at once per replica (default 10)' },
    'lease-ttl': { type: 'string', arg: 'DURATION', description: 'lease TTL (default 15s)' },
    'poll-interval': { type: 'string', arg: 'DURATION', description: 'poll period (default 500ms)' },
    'drain-timeout': { type: 'string', arg: 'DURATION', description: 'how long shutdown waits for running steps (default 10s)' },
    'startup-wait': { type: 'string', arg: 'DURATION', description: 'how long a starting replica waits for an unreachable store (default 30s; 0: fail at once)' },
    metrics: { type: 'string', arg: 'PORT', description: 'serve Prometheus /metrics on 127.0.0.1:PORT (replica i: PORT+i-1)' },
    dashboard: { type: 'string', arg: 'PORT', description: 'also serve the dashboard on 127.0.0.1:PORT (replica i: PORT+i-1)' },
    'build-id': { type: 'string', arg: 'ID', description: 'build id of this code, e.g. a git sha (default: a hash of each workflow module)' },
    'compatible-builds': { type: 'string', arg: 'IDS', description: 'claim only executions never run or last run by these builds (comma-separated; own build included)' },
  },
  async run(args, io) {
    positionals(args, [], 'runner');
    const replicas = int(args, 'replicas', 1, 1, 64) as number;
    const concurrency = int(args, 'concurrency', undefined, 1, 10_000);
    const workflows = resolve(str(args, 'workflows') ?? './workflows');
    if (!existsSync(workflows)) throw new UsageError(`--workflows path "${str(args, 'workflows') ?? './workflows'}" does not exist`);
    const env: NodeJS.ProcessEnv = {
      ...io.env,
      LEASEFLOW_DB_URL: dbUrl(args, io),
      LEASEFLOW_WORKFLOWS: workflows,
      ...optional('LEASEFLOW_NAMESPACE', str(args, 'namespace')),
      ...(concurrency === undefined ? {} : { LEASEFLOW_CONCURRENCY: String(concurrency) }),
      ...optional('LEASEFLOW_LEASE_TTL', duration(args, 'lease-ttl')),
      ...optional('LEASEFLOW_POLL_INTERVAL', duration(args, 'poll-interval')),
      ...optional('LEASEFLOW_DRAIN_TIMEOUT', duration(args, 'drain-timeout')),
      ...optional('LEASEFLOW_STARTUP_WAIT', duration(args, 'startup-wait')),
      ...optional('LEASEFLOW_METRICS_PORT', int(args, 'metrics', undefined, 1, 65535)?.toString()),
      ...optional('LEASEFLOW_DASHBOARD_PORT', int(args, 'dashboard', undefined, 1, 65535)?.toString()),
      ...optional('LEASEFLOW_BUILD_ID', str(args, 'build-id')),
      ...optional('LEASEFLOW_COMPATIBLE_BUILDS', str(args, 'compatible-builds')),
    };
    if (replicas === 1) {
      await runRunnerProcess(env);
      return 0;
    }
    const children = startReplicas({
      count: replicas, env,
      onLine: (r, stream, line) => (stream === 'stdout' ? io.out : io.err)(`[${r.index}] ${line}\n`),
    });
    let received = 0;
    const forward = (sig: NodeJS.Signals) => {
      received++;
      // First signal: graceful drain in every child. Second: they force it. Third: kill.
      signalReplicas(children, received >= 3 ? 'SIGKILL' : 'SIGTERM');
      if (received === 1) io.err(`leaseflow: ${sig}: stopping ${children.filter((c) => !c.hasExited).length} replicas (send again to force)\n`);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    try {
      const results = await Promise.all(children.map((c) => c.exited));
      // A replica that exited on a signal we forwarded stopped as asked; anything else non-zero failed.
      const failed = results.filter((r) => r.code !== 0 && !(received > 0 && r.signal !== null));
      return failed.length > 0 ? 1 : 0;
    } finally {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
    }
  },
};

function optional(key: string, value: string | undefined): NodeJS.ProcessEnv {
  return value === undefined ? {} : { [key]: value };
}
