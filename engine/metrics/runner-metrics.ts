/**
 * Prometheus metrics of one runner, fed from its typed events (so the runner itself carries no
 * metrics code) plus gauges read at scrape time (slots, heartbeat lag, queue depth). Names are
 * `leaseflow_*`, counters end in `_total`, durations in `_seconds`; labels are bounded
 * (workflow, step, outcome, cause) — never an execution id.
 */
import type { Registry } from 'prom-client';
import { promClient } from './prom';
import type EventEmitter from 'eventemitter3';
import type { Database } from '../store/database';
import { queueDepth } from '../store/inspect';
import type { RunnerEvents } from '../runner/events';
import { registerStoreMetrics } from './store-metrics';

/** What the metrics need of a runner. */
export type MeteredRunner = EventEmitter<RunnerEvents> & {
  readonly id: string; readonly running: number; readonly db: Database; readonly options: { readonly concurrency: number };
};

/** A runner's metrics. */
export interface RunnerMetrics {
  readonly registry: Registry;
  /** The exposition text (Prometheus format). */
  text(): Promise<string>;
  /** Stop listening (the registry keeps its last values). */
  close(): void;
}

/** Options of `createRunnerMetrics`. */
export interface RunnerMetricsOptions {
  /** @default a new Registry */
  registry?: Registry;
  /** Read queue depth from the store at scrape time (two bounded statements). @default true */
  queueDepth?: boolean;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Create the metrics of `runner` and start listening to its events. */
export function createRunnerMetrics(runner: MeteredRunner, options: RunnerMetricsOptions = {}): RunnerMetrics {
  const { Counter, Gauge, Histogram, Registry } = promClient();
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  const started = new Counter({ name: 'leaseflow_executions_started_total', help: 'Executions claimed for their first attempt.', labelNames: ['workflow'], registers });
  const finished = new Counter({ name: 'leaseflow_executions_finished_total', help: 'Executions finished, by outcome (completed, failed, cancelled).', labelNames: ['workflow', 'outcome'], registers });
  const execDuration = new Histogram({ name: 'leaseflow_execution_duration_seconds', help: 'Time from start (creation) to finish of executions, by outcome.', labelNames: ['workflow', 'outcome'], buckets: DURATION_BUCKETS, registers });
  const stepDuration = new Histogram({ name: 'leaseflow_step_duration_seconds', help: 'Duration of step attempts, by outcome (completed, failed, retrying).', labelNames: ['workflow', 'step', 'outcome'], buckets: DURATION_BUCKETS, registers });
  const retries = new Counter({ name: 'leaseflow_step_retries_total', help: 'Step attempts that failed and will be retried.', labelNames: ['workflow', 'step'], registers });
  const scheduleToStart = new Histogram({ name: 'leaseflow_schedule_to_start_seconds', help: 'Time from when an execution became due to its claim (database clock).', labelNames: ['workflow'], buckets: DURATION_BUCKETS, registers });
  const acquisitions = new Counter({ name: 'leaseflow_lease_acquisitions_total', help: 'Execution leases granted to this runner (claims).', labelNames: ['workflow'], registers });
  const takeovers = new Counter({ name: 'leaseflow_lease_takeovers_total', help: 'Expired leases of other (presumed dead) runners released by this runner\'s watchdog.', registers });
  const fencing = new Counter({ name: 'leaseflow_fencing_rejections_total', help: 'Fenced writes of this runner that matched no row (its lease had moved on).', registers });
  const lost = new Counter({ name: 'leaseflow_leases_lost_total', help: 'Leases this runner lost, by cause (fence, expired).', labelNames: ['cause'], registers });
  const heartbeat = new Histogram({ name: 'leaseflow_heartbeat_duration_seconds', help: 'Duration of the heartbeat statement(s).', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers });
  const errors = new Counter({ name: 'leaseflow_runner_errors_total', help: 'Poll and heartbeat failures.', labelNames: ['loop'], registers });
  let lastHeartbeat = performance.now();
  new Gauge({
    name: 'leaseflow_heartbeat_lag_seconds', help: 'Seconds since this runner\'s last successful heartbeat.', registers,
    collect() { this.set((performance.now() - lastHeartbeat) / 1000); },
  });
  new Gauge({
    name: 'leaseflow_runner_slots', help: 'Execution slots of this runner, used and available.', labelNames: ['state'], registers,
    collect() {
      this.set({ state: 'used' }, runner.running);
      this.set({ state: 'available' }, Math.max(0, runner.options.concurrency - runner.running));
    },
  });
  if (options.queueDepth !== false) {
    new Gauge({
      name: 'leaseflow_queue_depth', help: 'Queued executions, ready (due) and delayed (capped at 10000 each).', labelNames: ['state'], registers,
      async collect() {
        const q = await queueDepth(runner.db.sql, 10_000);
        this.set({ state: 'ready' }, Math.min(q.ready, 10_000));
        this.set({ state: 'delayed' }, Math.min(q.delayed, 10_000));
      },
    });
  }
  for (const cause of ['fence', 'expired']) lost.inc({ cause }, 0);
  for (const loop of ['poll', 'heartbeat']) errors.inc({ loop }, 0);
  const stopStore = registerStoreMetrics(registry);

  // Per execution: local clock offset to the DB clock and creation time; per step: start time.
  const runs = new Map<string, { createdAt: number; offsetMs: number }>();
  const steps = new Map<string, number>();
  const key = (id: string, seq: number) => `${id}\u0000${seq}`;
  const endStep = (e: { executionId: string; workflow: string; step: string; seq: number }, outcome: string) => {
    const t = steps.get(key(e.executionId, e.seq));
    if (t === undefined) return;
    steps.delete(key(e.executionId, e.seq));
    stepDuration.observe({ workflow: e.workflow, step: e.step, outcome }, (performance.now() - t) / 1000);
  };
  const finish = (e: { executionId: string; workflow: string }, outcome: string) => {
    finished.inc({ workflow: e.workflow, outcome });
    const run = runs.get(e.executionId);
    if (run) execDuration.observe({ workflow: e.workflow, outcome }, Math.max(0, Date.now() + run.offsetMs - run.createdAt) / 1000);
    forget(e.executionId);
  };
  const forget = (id: string) => {
    runs.delete(id);
    for (const k of steps.keys()) if (k.startsWith(`${id}\u0000`)) steps.delete(k);
  };

  const listeners: { [E in keyof RunnerEvents]?: (...args: RunnerEvents[E]) => void } = {
    'execution:claimed': (e) => {
      acquisitions.inc({ workflow: e.workflow });
      if (e.attempt === 1) started.inc({ workflow: e.workflow });
      if (e.availableAt) scheduleToStart.observe({ workflow: e.workflow }, Math.max(0, e.dbNow.getTime() - e.availableAt.getTime()) / 1000);
      runs.set(e.executionId, { createdAt: e.createdAt.getTime(), offsetMs: e.dbNow.getTime() - Date.now() });
    },
    'step:started': (e) => { steps.set(key(e.executionId, e.seq), performance.now()); },
    'step:completed': (e) => endStep(e, 'completed'),
    'step:failed': (e) => endStep(e, 'failed'),
    'step:retrying': (e) => { endStep(e, 'retrying'); retries.inc({ workflow: e.workflow, step: e.step }); },
    'execution:completed': (e) => finish(e, 'completed'),
    'execution:failed': (e) => finish(e, 'failed'),
    'execution:cancelled': (e) => finish(e, 'cancelled'),
    'execution:suspended': (e) => forget(e.executionId),
    'execution:released': (e) => forget(e.executionId),
    'lease:lost': (e) => {
      lost.inc({ cause: e.cause });
      if (e.cause === 'fence') fencing.inc();
      forget(e.executionId);
    },
    'runner:presumed-dead': (e) => { if (e.runnerId !== runner.id) takeovers.inc(e.leasesReleased); },
    'heartbeat:sent': (e) => { lastHeartbeat = performance.now(); heartbeat.observe(e.durationMs / 1000); },
    'heartbeat:error': () => errors.inc({ loop: 'heartbeat' }),
    'poll:error': () => errors.inc({ loop: 'poll' }),
  };
  for (const [event, fn] of Object.entries(listeners)) runner.on(event as keyof RunnerEvents, fn as never);

  return {
    registry,
    text: () => registry.metrics(),
    close() {
      for (const [event, fn] of Object.entries(listeners)) runner.off(event as keyof RunnerEvents, fn as never);
      stopStore();
    },
  };
}
