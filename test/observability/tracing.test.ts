/**
 * OpenTelemetry through `@opentelemetry/api` only, on SQLite and MariaDB: the caller's trace
 * context is stored with the execution and continued by the runner — one span per execution run
 * (child of the caller's span) and one per step attempt (child of the run), with execution id,
 * attempt, runner id and fencing token; without a propagator nothing is stored and runs are roots.
 */
import { context, propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { describeEachDb } from '../helpers/db';
import { AlsContextManager, RecordingProvider, TraceparentPropagator } from '../helpers/otel';
import { createClient, createRunner, defineWorkflow, silentLogger, SpanAttr, type Client } from '../../engine';

const provider = new RecordingProvider();
trace.setGlobalTracerProvider(provider);
context.setGlobalContextManager(new AlsContextManager());

let flaky = 0;
const traced = defineWorkflow({ name: 'traced', retry: { maxAttempts: 2, initialInterval: '5ms' } }, async (ctx) => {
  await ctx.step('one', async () => 1);
  await ctx.step('two', async () => { if (flaky++ === 0) throw new Error('first attempt fails'); return 2; });
  return 'done';
});

const leaf = defineWorkflow({ name: 'traced-leaf' }, async (ctx) => ctx.step('leaf-step', async () => 'leaf'));
const tree = defineWorkflow({ name: 'traced-tree' }, async (ctx) => ctx.child(leaf, {}));

describeEachDb(__filename, 'tracing', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => { await client.close(); propagation.disable(); });

  test('the runner continues the caller\'s trace: a run span under the caller, step spans under the run', async () => {
    propagation.setGlobalPropagator(new TraceparentPropagator());
    flaky = 0;
    const caller = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 };
    const id = `traced-${ctx.kind}`;
    const handle = await context.with(trace.setSpanContext(ROOT_CONTEXT, caller), () => client.start(traced, {}, { id }));
    const runner = await createRunner({ db: ctx.db, workflows: [traced], logger: silentLogger(), pollInterval: '50ms' });
    await runner.start();
    try {
      expect(await handle.result({ timeout: '20s' })).toBe('done');
    } finally {
      await runner.shutdown();
    }
    const mine = provider.spans.filter((s) => s.attributes[SpanAttr.executionId] === id);
    const runs = mine.filter((s) => s.name === 'leaseflow.run traced');
    expect(runs).toHaveLength(1);
    const run = runs[0];
    expect(run.context.traceId).toBe(caller.traceId);
    expect(run.parentSpanId).toBe(caller.spanId);
    expect(run.ended).toBe(true);
    expect(run.attributes).toMatchObject({
      [SpanAttr.attempt]: 1, [SpanAttr.runnerId]: runner.id, [SpanAttr.workflow]: 'traced', [SpanAttr.outcome]: 'completed',
    });
    expect(run.attributes[SpanAttr.fencingToken]).toEqual(expect.any(Number));
    const steps = mine.filter((s) => s.name.startsWith('leaseflow.step'));
    expect(steps.map((s) => [s.name, s.attributes[SpanAttr.stepAttempt], s.attributes[SpanAttr.outcome]])).toEqual([
      ['leaseflow.step one', 1, 'completed'], ['leaseflow.step two', 1, 'retrying'], ['leaseflow.step two', 2, 'completed'],
    ]);
    for (const s of steps) {
      expect(s.parentSpanId).toBe(run.context.spanId);
      expect(s.context.traceId).toBe(caller.traceId);
      expect(s.ended).toBe(true);
    }
    expect(steps[1].status.code).toBe(2); // ERROR
  });

  test('a child execution continues the trace of the caller that started its parent', async () => {
    propagation.setGlobalPropagator(new TraceparentPropagator());
    const caller = { traceId: 'e'.repeat(32), spanId: 'f'.repeat(16), traceFlags: 1 };
    const id = `tree-${ctx.kind}`;
    const handle = await context.with(trace.setSpanContext(ROOT_CONTEXT, caller), () => client.start(tree, {}, { id }));
    const runner = await createRunner({ db: ctx.db, workflows: [tree, leaf], logger: silentLogger(), pollInterval: '50ms' });
    await runner.start();
    try {
      expect(await handle.result({ timeout: '20s' })).toBe('leaf');
    } finally {
      await runner.shutdown();
    }
    const leafRuns = provider.spans.filter((s) => s.name === 'leaseflow.run traced-leaf' && String(s.attributes[SpanAttr.executionId]).startsWith(`${id}/`));
    expect(leafRuns.length).toBeGreaterThan(0);
    for (const s of leafRuns) expect(s.context.traceId).toBe(caller.traceId);
  });

  test('without a registered propagator nothing is stored and the run span is a root', async () => {
    propagation.disable();
    flaky = 1;
    const id = `untraced-${ctx.kind}`;
    const handle = await context.with(trace.setSpanContext(ROOT_CONTEXT, { traceId: 'c'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 1 }),
      () => client.start(traced, {}, { id }));
    const runner = await createRunner({ db: ctx.db, workflows: [traced], logger: silentLogger(), pollInterval: '50ms' });
    await runner.start();
    try {
      await handle.result({ timeout: '20s' });
    } finally {
      await runner.shutdown();
    }
    const run = provider.spans.find((s) => s.attributes[SpanAttr.executionId] === id && s.name.startsWith('leaseflow.run'));
    expect(run?.parentSpanId).toBeUndefined();
    expect(run?.context.traceId).not.toBe('c'.repeat(32));
  });
});
