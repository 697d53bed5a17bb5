/**
 * Cluster-wide gauges for a process that runs no runner (the dashboard): runners by status,
 * leases held, queue depth and the head-of-queue wait, read from one inspector snapshot per
 * scrape (shared by the gauges, which prom-client collects concurrently), plus the store
 * metrics of this process.
 */
import type { Gauge, Registry } from 'prom-client';
import { promClient } from './prom';
import type { ClusterSnapshot, Inspector } from '../inspect/inspector';
import { registerStoreMetrics } from './store-metrics';

/** Metrics read from the store at scrape time. */
export interface ClusterMetrics { readonly registry: Registry; text(): Promise<string>; close(): void }

/** Create the cluster gauges over `inspector`. */
export function createClusterMetrics(inspector: Inspector, registry?: Registry): ClusterMetrics {
  const { Gauge, Registry } = promClient();
  registry ??= new Registry();
  const registers = [registry];
  let shared: { at: number; value: Promise<ClusterSnapshot> } | undefined;
  const snapshot = (): Promise<ClusterSnapshot> => {
    if (!shared || performance.now() - shared.at > 500) shared = { at: performance.now(), value: inspector.snapshot() };
    return shared.value;
  };
  const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge, s: ClusterSnapshot) => void) => new Gauge({
    name, help, labelNames, registers,
    async collect() { fill(this, await snapshot()); },
  });
  gauge('leaseflow_cluster_runners', 'Runners seen in the last hour, by status.', ['status'], (g, s) => {
    for (const status of ['live', 'draining', 'stopped', 'presumed-dead']) g.set({ status }, s.runners.filter((r) => r.status === status).length);
  });
  gauge('leaseflow_cluster_leases', 'Unexpired execution leases.', [], (g, s) => g.set(s.runners.reduce((n, r) => n + r.leases.length, s.orphanLeases.length)));
  gauge('leaseflow_queue_depth', 'Queued executions, ready (due) and delayed (capped at 10000 each).', ['state'], (g, s) => {
    g.set({ state: 'ready' }, s.queue.ready);
    g.set({ state: 'delayed' }, s.queue.delayed);
  });
  gauge('leaseflow_queue_head_wait_seconds', 'How long the oldest due execution has waited to start (schedule-to-start of the queue head).', [],
    (g, s) => g.set((s.queue.headWaitMs ?? 0) / 1000));
  gauge('leaseflow_cluster_heartbeat_lag_seconds', 'Largest age of a live runner\'s last heartbeat.', [],
    (g, s) => g.set(Math.max(0, ...s.runners.filter((r) => r.status === 'live').map((r) => r.heartbeatAgeMs / 1000))));
  const stopStore = registerStoreMetrics(registry);
  return { registry, text: () => registry.metrics(), close: stopStore };
}
