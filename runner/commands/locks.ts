/**
 * `leaseflow locks`: the current (unexpired) distributed locks — execution leases, template
 * locks and application locks — with owner, fencing token and time left on the DB clock.
 */
import { DistributedLockManager } from '../../engine';
import { dbNow } from '../../engine/store/executions';
import { int, JSON_OPTION, positionals, str } from '../cli-args';
import { countdown, table } from '../format';
import { dbUrl, openStore, printJson, type Command } from './command';

export const locksCommand: Command = {
  name: 'locks',
  summary: 'list current distributed locks and leases',
  usage: 'leaseflow locks [--owner ID] [--limit n] [--json]',
  description: 'List unexpired rows of distributed_locks: key, owner, fencing token, hold count and when each expires (database clock).',
  options: {
    owner: { type: 'string', arg: 'ID', description: 'only locks of this owner (a runner id)' },
    limit: { type: 'string', arg: 'N', description: 'at most N rows (default 200)' },
    ...JSON_OPTION,
  },
  async run(args, io) {
    positionals(args, [], 'locks');
    const limit = int(args, 'limit', 200, 1, 100_000);
    const db = await openStore(dbUrl(args, io));
    try {
      const grants = await new DistributedLockManager(db).list({ owner: str(args, 'owner'), limit });
      const now = await dbNow(db.sql, db.sql);
      if (args.options.json) {
        printJson(io, { now, locks: grants });
        return;
      }
      if (grants.length === 0) {
        io.out('no locks held\n');
        return;
      }
      const rows = grants.map((g) => [g.lockKey, g.owner, String(g.token), String(g.holdCount), countdown(g.expiresAt, now)]);
      io.out(`${table(['KEY', 'OWNER', 'TOKEN', 'HOLDS', 'EXPIRES'], rows, 80)}\n`);
    } finally {
      await db.close();
    }
  },
};
