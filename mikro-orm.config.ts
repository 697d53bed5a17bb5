/**
 * MikroORM CLI configuration (`npx mikro-orm migration:create` …), from the same URL and
 * settings as the engine: LEASEFLOW_DB_URL, defaulting to the embedded SQLite file.
 */
import { buildOrmConfig } from './engine/store/config';
import { DEFAULT_DB_URL, parseDbUrl } from './engine/store/dialect';
import { createLogger } from './engine/logger';

const settings = parseDbUrl(process.env.LEASEFLOW_DB_URL ?? DEFAULT_DB_URL);
const base = buildOrmConfig(settings, createLogger({ level: process.env.LOG_LEVEL ?? 'info' }));
const folder = settings.dialect === 'sqlite' ? 'sqlite' : 'mysql';

export default {
  ...base,
  migrations: { ...base.migrations, migrationsList: undefined, path: `./engine/store/migrations/${folder}`, pathTs: `./engine/store/migrations/${folder}` },
};
