/**
 * Store metrics: every statement's duration and errors by kind (deadlock, lock timeout, busy,
 * connection, other), fed by the store observer. Process-wide (the pools are): a registry that
 * registers them counts every statement of this process.
 */
import type { Registry } from 'prom-client';
import { promClient } from './prom';
import { observeStore } from '../store/observer';

/** Register the store metrics on `registry`; returns the function that stops observing. */
export function registerStoreMetrics(registry: Registry): () => void {
  const { Counter, Histogram } = promClient();
  const duration = new Histogram({
    name: 'leaseflow_store_operation_duration_seconds', help: 'Duration of store statements by operation (read, write).',
    labelNames: ['op'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  const errors = new Counter({
    name: 'leaseflow_store_errors_total', help: 'Store statements that failed, by kind (deadlock, lock_timeout, busy, connection, other).',
    labelNames: ['kind'], registers: [registry],
  });
  for (const kind of ['deadlock', 'lock_timeout', 'busy', 'connection', 'other']) errors.inc({ kind }, 0);
  return observeStore((o) => {
    duration.observe({ op: o.op }, o.durationMs / 1000);
    if (o.error) errors.inc({ kind: o.error });
  });
}
