/**
 * Developer tool: generate the next migration for both dialects from the entity schemas,
 * diffing against a fresh, fully migrated scratch database of each kind.
 * Usage: tsx scripts/create-migration.ts [name]   (needs MariaDB at 127.0.0.1:3306)
 */
import { MikroORM, type Options } from '@mikro-orm/core';
import { rmSync } from 'node:fs';
import { buildOrmConfig } from '../engine/store/config';
import { parseDbUrl } from '../engine/store/dialect';
import { openDatabase } from '../engine/store/database';
import { silentLogger } from '../engine/logger';

async function main(): Promise<void> {
  const name = process.argv[2];
  const targets = [
    { url: 'mariadb://root@127.0.0.1:3306/leaseflow_migration_scratch', folder: 'mysql' },
    { url: 'sqlite:./tmp/migration-scratch.db', folder: 'sqlite' },
  ];
  for (const t of targets) {
    if (t.folder === 'sqlite') rmSync('./tmp/migration-scratch.db', { force: true });
    const db = await openDatabase(t.url, { createDatabase: true });
    if (t.folder === 'mysql') await db.sql.run('DROP DATABASE IF EXISTS leaseflow_migration_scratch').then(() => db.sql.run('CREATE DATABASE leaseflow_migration_scratch'));
    await db.close();
    const fresh = await openDatabase(t.url);
    await fresh.migrate();
    await fresh.close();
    const base = buildOrmConfig(parseDbUrl(t.url), silentLogger());
    const path = `./engine/store/migrations/${t.folder}`;
    const orm = await MikroORM.init({ ...base, migrations: { ...base.migrations, migrationsList: undefined, path, pathTs: path } } as Options);
    const res = await orm.getMigrator().createMigration(path, false, false, name);
    console.log(t.folder, res.fileName || '(no changes)');
    await orm.close(true);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
