/**
 * Jest global setup: find out once whether MariaDB/MySQL answers. Without it the suites run on
 * SQLite only and say so loudly; with CI set, a missing server fails the run.
 */
import { openDatabase } from '../../engine/store/database';
import { mysqlBaseUrl } from './db';

export default async function globalSetup(): Promise<void> {
  if (process.env.LEASEFLOW_TEST_MYSQL === 'off' && !process.env.CI) {
    process.env.LEASEFLOW_TEST_MYSQL_STATE = 'off';
    return;
  }
  try {
    const db = await openDatabase(`${mysqlBaseUrl()}/leaseflow_test_probe`, { createDatabase: true });
    await db.sql.all('SELECT 1');
    await db.close();
    process.env.LEASEFLOW_TEST_MYSQL_STATE = 'up';
  } catch (err) {
    const msg = `\n*** MariaDB/MySQL is NOT reachable at ${mysqlBaseUrl()} (${(err as Error).message}).\n` +
      '*** Only the SQLite half of every suite will run. Set LEASEFLOW_TEST_MYSQL_URL or start MariaDB.\n';
    if (process.env.CI) throw new Error(`CI is set and MariaDB is required: ${msg}`);
    process.stderr.write(msg);
    process.env.LEASEFLOW_TEST_MYSQL_STATE = 'down';
  }
}
