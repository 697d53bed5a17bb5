/**
 * `leaseflow migrate [--create]`: apply pending migrations to the store (idempotent, safe to
 * race). The only command that creates a database or SQLite file, and only with --create.
 */
import { openDatabase } from '../../engine';
import { positionals } from '../cli-args';
import { dbUrl, type Command } from './command';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'apply pending schema migrations (--create: create the database first)',
  usage: 'leaseflow migrate [--db URL] [--create]',
  description: 'Create or upgrade the leaseflow tables in the store. Safe to run repeatedly and from several processes at once. ' +
    'A missing database (or SQLite file) is an error (exit 5) unless --create is given: a mistyped name never makes a new, empty store.',
  options: { create: { type: 'boolean', description: 'create the database (MySQL family) or SQLite file when it does not exist' } },
  async run(args, io) {
    positionals(args, [], 'migrate');
    const db = await openDatabase(dbUrl(args, io), { createDatabase: args.options.create === true });
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
