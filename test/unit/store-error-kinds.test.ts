/**
 * How store errors are classified. A Galera node outside the Primary Component fails statements
 * and COMMITs with 1047 / 1180; those mean "the store is unavailable for now" (like a lost
 * connection: callers retry, commits are resolved by reading back), not an ordinary failure — a
 * cluster chaos long run (seed 4) lost starts whose 1180 went to the caller as a plain error.
 */
import { isConnectionError, isRetryableTxError, storeErrorKind } from '../../engine/store/sql';

const sqlError = (errno: number, message: string) => Object.assign(new Error(message), { errno, code: 'ER_X', sqlState: 'HY000' });

describe('store error kinds', () => {
  test('a Galera node outside the Primary Component is a connection-kind error, at COMMIT too', () => {
    const commit = sqlError(1180, '(conn:503, no: 1180, SQLState: HY000) Error while appending streaming replication fragment(provider status: Not connected to Primary Component)\nsql: COMMIT - parameters:[]');
    const notReady = sqlError(1047, 'WSREP has not yet prepared node for application use');
    for (const err of [commit, notReady, new Error('start failed', { cause: commit })]) {
      expect(isConnectionError(err)).toBe(true);
      expect(storeErrorKind(err)).toBe('connection');
      expect(isRetryableTxError(err)).toBe(false);
    }
  });

  test('other errors keep their kinds', () => {
    expect(isConnectionError(sqlError(1180, 'Got error 28 "No space left on device" during COMMIT'))).toBe(false);
    expect(storeErrorKind(sqlError(1213, 'Deadlock found when trying to get lock'))).toBe('deadlock');
    expect(storeErrorKind(sqlError(1205, 'Lock wait timeout exceeded'))).toBe('lock_timeout');
    expect(storeErrorKind(sqlError(1062, "Duplicate entry 'x' for key 'PRIMARY'"))).toBe('other');
    expect(isConnectionError(sqlError(2013, 'Lost connection to server during query'))).toBe(true);
  });
});
