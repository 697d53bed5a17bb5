/**
 * `createRunner`: validate the options, open the store when given a URL, check the application
 * ORM of transactional steps, and wrap the runner with tracing. Call `start()` on the result.
 */
import { createLogger } from '../logger';
import { resolveDatabase } from '../store/database';
import { attachTracing } from '../tracing/runner-spans';
import { verifyTransactionOrm } from '../transactions/orm';
import { resolveRunnerOptions, type RunnerOptions } from './options';
import { Runner } from './runner';

/** Create a runner (validates options, opens the store if given a URL). Call `start()`. */
export async function createRunner(options: RunnerOptions): Promise<Runner> {
  const resolved = resolveRunnerOptions(options);
  const logger = options.logger ?? createLogger();
  const { db, owned } = await resolveDatabase(options.db, { logger, poolMax: resolved.poolMax, session: resolved.session, codecs: options.codecs });
  if (resolved.orm) await verifyTransactionOrm(db.sql, resolved.orm).catch(async (err: unknown) => { if (owned) await db.close(); throw err; });
  return attachTracing(new Runner(db, owned, resolved, logger));
}
