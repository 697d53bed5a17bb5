/**
 * `leaseflow migrate`: apply pending migrations to the store (idempotent, safe to race).
 */
import { openDatabase } from '../../engine';
import type { Command } from './command';
import { dbUrl } from './command';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending schema migrations',
  usage: 'leaseflow migrate [--db URL]',
  description: 'Create or upgrade the leaseflow tables in the store. Safe to run repeatedly and from several processes at once.',
  options: {},
  async run(args, io) {
    const db = await openDatabase(dbUrl(args, io));
    try {
      const pending = await db.pendingMigrations();
      await db.migrate();
      io.out(pending.length === 0
        ? `${db.url} is up to date\n`
        : `applied ${pending.length} migration${pending.length === 1 ? '' : 's'} to ${db.url}: ${pending.join(', ')}\n`);
    } finally {
      await db.close();
    }
  },
};
