/**
 * The store side of transactional steps (engine/transactions): statements that run inside the
 * application's own transaction. The fence is a WRITE — `UPDATE … WHERE id = ? AND lease_token = ?
 * AND status = 'running'` that must match exactly one row — so a stale holder's transaction fails
 * here (and, under optimistic replication such as Galera, conflicts at certification with the
 * write that re-granted the lease). It keeps the row locked until the transaction ends, so the
 * token cannot change between the fence and the commit.
 */
import { LeaseLostError } from '../errors';
import { insertEvents } from './events';
import type { SqlRunner, SqlStore } from './sql';
import type { Lease, NewEvent } from './types';

/** Fence `lease` by a write inside the caller's transaction; LeaseLostError when it matched nothing. */
export async function fenceByWrite(q: SqlRunner, store: SqlStore, lease: Lease): Promise<void> {
  // updated_at moves forward by at least 1 µs, so a matched row is also a changed row (affectedRows 1).
  const bump = store.mysql ? `GREATEST(${store.now}, updated_at + INTERVAL 1 MICROSECOND)` : `MAX(${store.now}, updated_at + 1)`;
  const res = await q.run(
    `UPDATE workflow_executions SET updated_at = ${bump} WHERE id = ? AND lease_token = ? AND status = 'running'`,
    [lease.executionId, lease.token],
  );
  if (res.affectedRows !== 1) throw new LeaseLostError(lease.executionId, lease.token, 'the transactional fence matched no row');
}

/** Write a transactional step's checkpoint (after fenceByWrite, in the same transaction). */
export async function insertCheckpoint(q: SqlRunner, store: SqlStore, lease: Lease, events: readonly NewEvent[]): Promise<void> {
  await insertEvents(q, store, lease.executionId, lease.token, events);
}

/** Where a connection points: database, server host name and port. */
export async function databaseIdentity(q: SqlRunner): Promise<string> {
  const [row] = await q.all<{ d: unknown; h: unknown; p: unknown }>('SELECT DATABASE() AS d, @@hostname AS h, @@port AS p');
  return `${String(row?.d)}@${String(row?.h)}:${String(row?.p)}`;
}
