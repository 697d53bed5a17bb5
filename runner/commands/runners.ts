/**
 * `leaseflow runners`: the replicas registered in workflow_runners, with status, heartbeat age
 * (database clock), concurrency and the workflows each serves.
 */
import { dbNow } from '../../engine/store/executions';
import { listRunners } from '../../engine/store/runners';
import { int, JSON_OPTION, positionals } from '../cli-args';
import { age, table } from '../format';
import { dbUrl, openStore, printJson, type Command } from './command';

export const runnersCommand: Command = {
  name: 'runners',
  summary: 'list runner replicas and their heartbeats',
  usage: 'leaseflow runners [--live] [--limit n] [--json]',
  description: 'List runner replicas, newest first: id, status (live, draining, stopped, presumed-dead), pid, heartbeat age, concurrency and workflows (prefixed with [namespace] outside the default one).',
  options: {
    live: { type: 'boolean', description: 'only live and draining replicas' },
    limit: { type: 'string', arg: 'N', description: 'at most N rows (default 50)' },
    ...JSON_OPTION,
  },
  async run(args, io) {
    positionals(args, [], 'runners');
    const limit = int(args, 'limit', 50, 1, 10_000) as number;
    const db = await openStore(dbUrl(args, io));
    try {
      const now = await dbNow(db.sql, db.sql);
      const all = await listRunners(db.sql);
      const shown = all.filter((r) => !args.options.live || r.status === 'live' || r.status === 'draining').slice(0, limit);
      if (args.options.json) {
        printJson(io, { now, runners: shown });
        return;
      }
      if (shown.length === 0) {
        io.out(args.options.live ? 'no live runners\n' : 'no runners registered\n');
        return;
      }
      const rows = shown.map((r) => [r.id, r.status, `${r.hostname}:${r.pid}`, age(r.heartbeatAt, now), String(r.concurrency),
        `${r.namespace === 'default' ? '' : `[${r.namespace}] `}${r.workflows.join(',')}`]);
      io.out(`${table(['ID', 'STATUS', 'HOST:PID', 'HEARTBEAT', 'CONCURRENCY', 'WORKFLOWS'], rows, 80)}\n`);
      if (all.length > shown.length && !args.options.live) io.out(`(${all.length - shown.length} more; raise --limit)\n`);
    } finally {
      await db.close();
    }
  },
};
