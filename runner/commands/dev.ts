/**
 * `leaseflow dev` (and `npm start`): the demo — runner replicas plus the example workflows on
 * the embedded default store, with live progress, a killed replica and its takeover.
 */
import { toMs } from '../../engine';
import { int, positionals, str, UsageError } from '../cli-args';
import { runDemo } from '../demo/run';
import { dbUrl, type Command } from './command';

export const devCommand: Command = {
  name: 'dev',
  summary: 'demo: replicas + example workflows, live progress, a killed replica taken over',
  usage: 'leaseflow dev [--db URL [--create]] [--quick] [--replicas N] [--timeout 2m]',
  description: 'Migrate the store, start runner replicas on ./workflows, submit a batch of example executions (orders with compensation, ' +
    'reminders, fan-outs, approvals), SIGKILL one replica partway and show the others taking over its executions after the lease TTL, ' +
    'then stop the rest gracefully and print a summary. Finishes on its own (about 35 s; --quick about 15 s).',
  options: {
    quick: { type: 'boolean', description: 'a smaller batch (tests, CI)' },
    create: { type: 'boolean', description: 'create the store named by --db when missing (the embedded default always is)' },
    replicas: { type: 'string', arg: 'N', description: 'runner replicas, 2–8 (default 3)' },
    timeout: { type: 'string', arg: 'DURATION', description: 'give up after this long (default 2m; 1m with --quick)' },
    logs: { type: 'string', arg: 'DIR', description: 'where replica logs go (default ./.leaseflow/logs)' },
  },
  async run(args, io) {
    positionals(args, [], 'dev');
    const timeout = str(args, 'timeout');
    let timeoutMs: number | undefined;
    if (timeout !== undefined) {
      try { timeoutMs = toMs(timeout, '--timeout'); } catch (err) { throw new UsageError((err as Error).message); }
    }
    return runDemo({
      dbUrl: dbUrl(args, io), create: args.options.create === true, quick: args.options.quick === true, replicas: int(args, 'replicas', 3, 2, 8) as number, timeoutMs, logsDir: str(args, 'logs'),
    }, io);
  },
};
