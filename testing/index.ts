/**
 * `leaseflow/testing`: helpers for testing workflows without a server. `openTestDatabase()`
 * opens a migrated in-memory SQLite store (nothing on disk, nothing shared between calls);
 * `runUntilIdle`/`runDueExecutions` drive executions in-process without a runner.
 */
import { openDatabase, type Database, type Logger, type PayloadCodec } from '../engine';

export { replayHistory, runDueExecutions, runUntilIdle, type ReplayResult, type ReplaySource } from '../engine';

/** Options of `openTestDatabase`. */
export interface TestDatabaseOptions {
  /** A store URL to use instead of a private in-memory SQLite store (it must exist). */
  url?: string;
  logger?: Logger;
  /** Payload codecs (see "Payload codecs" in the README). */
  codecs?: readonly PayloadCodec[];
}

/** A migrated store for one test: in-memory SQLite unless `url` is given. Close it after the test. */
export async function openTestDatabase(options: TestDatabaseOptions = {}): Promise<Database> {
  const db = await openDatabase(options.url ?? 'sqlite::memory:', { logger: options.logger, codecs: options.codecs });
  try {
    await db.migrate();
    return db;
  } catch (err) {
    await db.close();
    throw err;
  }
}
