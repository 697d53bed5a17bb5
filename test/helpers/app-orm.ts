/**
 * An "application" MikroORM for the transactional-step tests: its own entity (a ledger row per
 * business write, no unique key, so a double application is visible) on the test database.
 */
import { EntitySchema, MikroORM } from '@mikro-orm/core';
import { MariaDbDriver } from '@mikro-orm/mariadb';

/** One business write. */
export interface LedgerEntry {
  id?: number;
  executionId: string;
  step: string;
  amount: number;
}

export const Ledger = new EntitySchema<LedgerEntry>({
  name: 'LedgerEntry',
  tableName: 'app_ledger',
  properties: {
    id: { type: 'number', primary: true, autoincrement: true },
    executionId: { type: 'string', fieldName: 'execution_id' },
    step: { type: 'string' },
    amount: { type: 'number' },
  },
});

/** Open the application ORM on a mysql:// URL and create its table. */
export async function openAppOrm(url: string): Promise<MikroORM> {
  const u = new URL(url);
  const orm = await MikroORM.init({
    driver: MariaDbDriver, host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password), dbName: u.pathname.replace(/^\//, ''), entities: [Ledger], debug: false,
    allowGlobalContext: false, pool: { min: 0, max: 8 },
  });
  await orm.em.getConnection().execute(
    'CREATE TABLE IF NOT EXISTS app_ledger (id INT AUTO_INCREMENT PRIMARY KEY, execution_id VARCHAR(191) NOT NULL, step VARCHAR(100) NOT NULL, amount INT NOT NULL, KEY (execution_id))');
  return orm;
}
