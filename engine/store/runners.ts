/**
 * SQL of `workflow_runners`: live replicas and their heartbeats. A runner's row is written
 * when it starts, refreshed with every heartbeat, marked `draining`/`stopped` on shutdown and
 * `presumed-dead` by any watchdog once its heartbeat is older than its lease TTL. A runner serves
 * one namespace: its workflow names are stored as namespaced keys (engine/namespace), so "is this
 * served" answers for the execution's namespace, with no schema change.
 */
import { DEFAULT_NAMESPACE, localKey, namespaceOf, nsKey } from '../namespace/keys';
import type { SqlStore } from './sql';

/** Runner statuses. */
export const RunnerStatus = { live: 'live', draining: 'draining', stopped: 'stopped', presumedDead: 'presumed-dead' } as const;
export type RunnerStatus = (typeof RunnerStatus)[keyof typeof RunnerStatus];

/** A runner as stored. */
export interface RunnerRecord {
  id: string;
  hostname: string;
  pid: number;
  workflows: string[];
  /** The namespace it claims in. */
  namespace: string;
  concurrency: number;
  status: RunnerStatus;
  startedAt: Date;
  heartbeatAt: Date;
  stoppedAt: Date | null;
}

/** Register (or re-register) a runner as live. */
export async function registerRunner(store: SqlStore,
  r: Pick<RunnerRecord, 'id' | 'hostname' | 'pid' | 'workflows' | 'concurrency'> & { builds?: readonly string[] | null; namespace?: string; wakeAddr?: string | null }): Promise<void> {
  const ns = r.namespace ?? DEFAULT_NAMESPACE;
  const upsert = store.mysql
    ? "ON DUPLICATE KEY UPDATE status = 'live', heartbeat_at = VALUES(heartbeat_at), stopped_at = NULL, builds = VALUES(builds), wake_addr = VALUES(wake_addr)"
    : "ON CONFLICT (id) DO UPDATE SET status = 'live', heartbeat_at = excluded.heartbeat_at, stopped_at = NULL, builds = excluded.builds, wake_addr = excluded.wake_addr";
  await store.run(
    `INSERT INTO workflow_runners (id, hostname, pid, workflows, concurrency, status, started_at, heartbeat_at, stopped_at, builds, wake_addr) ` +
      `VALUES (?, ?, ?, ?, ?, 'live', ${store.now}, ${store.now}, NULL, ?, ?) ${upsert}`,
    [r.id, r.hostname, r.pid, JSON.stringify(r.workflows.map((w) => nsKey(ns, w))), r.concurrency, r.builds ? JSON.stringify(r.builds) : null, r.wakeAddr ?? null],
  );
}

/** Heartbeat of the runner row (part of the runner's heartbeat). */
export async function touchRunner(store: SqlStore, id: string, status: RunnerStatus): Promise<void> {
  await store.run(`UPDATE workflow_runners SET heartbeat_at = ${store.now}, status = ? WHERE id = ?`, [status, id]);
}

/** Doorbell addresses (host:port) of the live runners (engine/wake): one index read. */
export async function liveWakeAddresses(store: SqlStore): Promise<string[]> {
  const rows = await store.all<{ wake_addr: unknown }>("SELECT wake_addr FROM workflow_runners WHERE status = 'live' AND wake_addr IS NOT NULL");
  return rows.map((r) => String(r.wake_addr));
}

/** Mark a runner stopped (graceful shutdown finished). */
export async function stopRunner(store: SqlStore, id: string): Promise<void> {
  await store.run(`UPDATE workflow_runners SET status = 'stopped', stopped_at = ${store.now} WHERE id = ?`, [id]);
}

/** Mark live runners whose heartbeat is older than `staleMs` presumed dead; returns their ids. */
export async function markStaleRunners(store: SqlStore, staleMs: number): Promise<string[]> {
  const cutoff = store.mysql ? `(UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND)` : `(${store.now} - ?)`;
  const rows = await store.all<{ id: unknown }>(
    `SELECT id FROM workflow_runners WHERE status IN ('live', 'draining') AND heartbeat_at < ${cutoff}`,
    [store.ms(staleMs)],
  );
  if (rows.length === 0) return [];
  const ids = rows.map((r) => String(r.id));
  const res = await store.run(
    `UPDATE workflow_runners SET status = 'presumed-dead' WHERE id IN (?) AND status IN ('live', 'draining') AND heartbeat_at < ${cutoff}`,
    [ids, store.ms(staleMs)],
  );
  return res.affectedRows > 0 ? ids : [];
}

const RUNNER_COLUMNS = 'id, hostname, pid, workflows, concurrency, status, started_at, heartbeat_at, stopped_at';

/** All runners, newest first. */
export async function listRunners(store: SqlStore): Promise<RunnerRecord[]> {
  const rows = await store.all<Record<string, unknown>>(`SELECT ${RUNNER_COLUMNS} FROM workflow_runners ORDER BY started_at DESC, id`);
  return rows.map((r) => toRunner(store, r));
}

/** Runners whose last heartbeat is younger than `withinMs` (index (status, heartbeat_at)), at most `limit`. */
export async function recentRunners(store: SqlStore, withinMs: number, limit: number): Promise<RunnerRecord[]> {
  const cutoff = store.mysql ? `(UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND)` : `(${store.now} - ?)`;
  const rows = await store.all<Record<string, unknown>>(
    `SELECT ${RUNNER_COLUMNS} FROM workflow_runners WHERE status IN ('live', 'draining', 'stopped', 'presumed-dead') ` +
      `AND heartbeat_at > ${cutoff} ORDER BY started_at DESC, id LIMIT ?`,
    [store.ms(withinMs), limit],
  );
  return rows.map((r) => toRunner(store, r));
}

function toRunner(store: SqlStore, r: Record<string, unknown>): RunnerRecord {
  const stored = JSON.parse(String(r.workflows)) as string[];
  return {
    id: String(r.id),
    hostname: String(r.hostname),
    pid: Number(r.pid),
    workflows: stored.map(localKey),
    namespace: stored.length ? namespaceOf(stored[0]) : DEFAULT_NAMESPACE,
    concurrency: Number(r.concurrency),
    status: String(r.status) as RunnerStatus,
    startedAt: store.date(r.started_at) as Date,
    heartbeatAt: store.date(r.heartbeat_at) as Date,
    stoppedAt: store.date(r.stopped_at),
  };
}

/** True when some live runner of `namespace` serves `workflow`. */
export async function isServed(store: SqlStore, workflow: string, namespace: string): Promise<boolean> {
  const rows = await store.all<{ workflows: unknown }>("SELECT workflows FROM workflow_runners WHERE status = 'live'");
  const key = nsKey(namespace, workflow);
  return rows.some((r) => (JSON.parse(String(r.workflows)) as string[]).includes(key));
}
