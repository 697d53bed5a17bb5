/**
 * The bench's workflows, served by the runner processes (LEASEFLOW_WORKFLOWS points here) and
 * imported by the bench to start them. Step bodies do no work of their own and return small
 * payloads, so a run measures the engine and the database, not the steps.
 */
import { defineWorkflow } from '../../engine';

/** A small step result (~60 bytes of JSON). */
const result = (i: number) => ({ i, ok: true, note: 'bench-step-result' });

/** S steps in a row (the main workload). */
export const benchSteps = defineWorkflow({ name: 'bench-steps' }, async (ctx, input: { steps: number }) => {
  let n = 0;
  for (let i = 0; i < input.steps; i++) n += (await ctx.step(`s${i}`, async () => result(i))).i >= 0 ? 1 : 0;
  return n;
});

/** One step. */
export const benchOneStep = defineWorkflow({ name: 'bench-one-step' }, async (ctx) => {
  await ctx.step('only', async () => result(0));
  return 1;
});

/** A 100 ms durable sleep, then one step. */
export const benchSleep = defineWorkflow({ name: 'bench-sleep' }, async (ctx, input: { ms: number }) => {
  await ctx.sleep('nap', input.ms);
  await ctx.step('after', async () => result(0));
  return 1;
});

/** Template-serialized: at most one running per key. */
export const benchTemplate = defineWorkflow({
  name: 'bench-template',
  template: { key: (input: { key: string }) => input.key, limit: 1 },
}, async (ctx) => {
  await ctx.step('only', async () => result(0));
  return 1;
});

/** Rate-limited: 25 starts per second per key (the bench uses 10 keys: 250/s in all). */
export const BENCH_RATE_PER_KEY = 25;
export const benchRated = defineWorkflow({
  name: 'bench-rated',
  rateLimit: { limit: BENCH_RATE_PER_KEY, period: '1s', key: (input: { key: string }) => input.key },
}, async (ctx) => {
  await ctx.step('only', async () => result(0));
  return 1;
});

/** Prioritised: one step; the bench starts it with priorities 0…3 (aging step 1 s). */
export const benchPrioritized = defineWorkflow({ name: 'bench-prioritized', priorityStep: '1s' }, async (ctx) => {
  await ctx.step('only', async () => result(0));
  return 1;
});

/**
 * Failover probe: a timer every `ms` for `ticks` ticks. Each tick commits a timer event and
 * waits in memory, so a survivor that resumes it commits its next event right after replay.
 */
export const benchTicker = defineWorkflow({ name: 'bench-ticker' }, async (ctx, input: { ticks: number; ms: number }) => {
  for (let i = 0; i < input.ticks; i++) await ctx.sleep(`t${i}`, input.ms);
  return input.ticks;
});

/** One step, then wait for the signal `go` (memory check: many waiting executions). */
export const benchWaiter = defineWorkflow({ name: 'bench-waiter' }, async (ctx) => {
  await ctx.step('before', async () => result(0));
  const v = await ctx.waitForSignal<number>('go');
  return v ?? 0;
});
