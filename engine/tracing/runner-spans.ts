/**
 * OpenTelemetry spans of a runner, built from its typed events (no SDK: `@opentelemetry/api`
 * only, so without a registered tracer provider every span is a no-op). One span per execution
 * run (claim → completed/failed/cancelled/suspended/released/lease lost), a child of the
 * starter's stored trace context, and one span per step attempt inside it. Invariant: every
 * span started here is ended, at the latest when the runner stops.
 */
import { context, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type EventEmitter from 'eventemitter3';
import type { RunnerEvents } from '../runner/events';
import { restoreTraceContext } from './trace-context';

/** What tracing needs of a runner: its id and its events. */
export type TracedRunner = EventEmitter<RunnerEvents> & { readonly id: string };

/** Span attribute names (stable). */
export const SpanAttr = {
  executionId: 'leaseflow.execution_id',
  workflow: 'leaseflow.workflow',
  attempt: 'leaseflow.attempt',
  runnerId: 'leaseflow.runner_id',
  fencingToken: 'leaseflow.fencing_token',
  step: 'leaseflow.step',
  seq: 'leaseflow.seq',
  stepAttempt: 'leaseflow.step_attempt',
  outcome: 'leaseflow.outcome',
} as const;

/** Attach span recording to `runner` (returns it). `tracer` defaults to the global provider's. */
export function attachTracing<R extends TracedRunner>(runner: R, tracer: Tracer = trace.getTracer('leaseflow')): R {
  // A run's open step spans live in its record, so ending a run touches only its own steps.
  const runs = new Map<string, { span: Span; attrs: Record<string, string | number>; steps: Map<number, Span> }>();

  const endRun = (id: string, outcome: string, error?: { name: string; message: string }) => {
    const run = runs.get(id);
    if (!run) return;
    runs.delete(id);
    for (const span of run.steps.values()) { span.setAttribute(SpanAttr.outcome, 'interrupted'); span.end(); }
    run.steps.clear();
    run.span.setAttribute(SpanAttr.outcome, outcome);
    if (error) run.span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.name}: ${error.message}` });
    else if (outcome === 'completed') run.span.setStatus({ code: SpanStatusCode.OK });
    run.span.end();
  };
  const endStep = (id: string, seq: number, outcome: string, error?: { name: string; message: string }) => {
    const steps = runs.get(id)?.steps;
    const span = steps?.get(seq);
    if (!span) return;
    steps!.delete(seq);
    span.setAttribute(SpanAttr.outcome, outcome);
    if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.name}: ${error.message}` });
    else span.setStatus({ code: SpanStatusCode.OK });
    span.end();
  };

  runner.on('execution:claimed', (e) => {
    endRun(e.executionId, 'superseded');
    const attrs = {
      [SpanAttr.executionId]: e.executionId, [SpanAttr.workflow]: e.workflow, [SpanAttr.attempt]: e.attempt,
      [SpanAttr.runnerId]: e.runnerId, [SpanAttr.fencingToken]: e.leaseToken,
    };
    const span = tracer.startSpan(`leaseflow.run ${e.workflow}`, { kind: SpanKind.CONSUMER, attributes: attrs }, restoreTraceContext(e.traceContext));
    runs.set(e.executionId, { span, attrs, steps: new Map() });
  });
  runner.on('step:started', (e) => {
    const run = runs.get(e.executionId);
    // Without a recording run span (no tracer provider, or the run was sampled out) a step span
    // would record nothing either: skip the per-step work.
    if (!run || !run.span.isRecording()) return;
    const parent = trace.setSpan(context.active(), run.span);
    run.steps.set(e.seq, tracer.startSpan(`leaseflow.step ${e.step}`, {
      kind: SpanKind.INTERNAL,
      attributes: { ...run.attrs, [SpanAttr.step]: e.step, [SpanAttr.seq]: e.seq, [SpanAttr.stepAttempt]: e.attempt },
    }, parent));
  });
  runner.on('step:completed', (e) => endStep(e.executionId, e.seq, 'completed'));
  runner.on('step:failed', (e) => endStep(e.executionId, e.seq, 'failed', e.error));
  runner.on('step:retrying', (e) => endStep(e.executionId, e.seq, 'retrying', e.error));
  runner.on('execution:completed', (e) => endRun(e.executionId, 'completed'));
  runner.on('execution:failed', (e) => endRun(e.executionId, 'failed', e.error));
  runner.on('execution:cancelled', (e) => endRun(e.executionId, 'cancelled'));
  runner.on('execution:suspended', (e) => endRun(e.executionId, 'suspended'));
  runner.on('execution:released', (e) => endRun(e.executionId, 'released'));
  runner.on('lease:lost', (e) => endRun(e.executionId, 'lease-lost', { name: 'LeaseLostError', message: e.detail }));
  runner.on('runner:stopped', () => { for (const id of [...runs.keys()]) endRun(id, 'runner-stopped'); });
  return runner;
}
