/**
 * The chaos workflows, loaded by every runner process of `npm run chaos` (LEASEFLOW_WORKFLOWS).
 * Every step body records its attempt in `chaos_attempts` (attempts.ts) under the lease token it
 * runs with (`StepContext.leaseToken`), so the checker can match each committed event with the
 * body that produced it and see the bodies whose work the fence threw away.
 * Shapes and outputs are described in shapes.ts.
 */
import { defineWorkflow, type StepContext, type WorkflowContext } from '../../engine';
import { recordFinish, recordStart } from './attempts';
import {
  ChaosWorkflow, NEVER_SIGNAL, POISON_ERROR, POISON_RETRY, SIGNAL_NAME,
  type CrasherInput, type ParentInput, type PoisonInput, type SerialInput, type SignalPayload, type SignalsInput, type SleeperInput, type StepsInput,
} from './shapes';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The poison step's error. */
class PoisonError extends Error {
  override name = POISON_ERROR;
}

/**
 * A recorded step: the body records its start, works for `workMs` (not interruptible, so a
 * zombie finishes its body like real code would), records its end and returns `result`.
 */
function recordedStep<T>(ctx: WorkflowContext, name: string, workMs: number, result: T, extra: { templateKey?: string; body?: (s: StepContext) => Promise<void> } = {}): Promise<T> {
  return ctx.step(name, async (s) => {
    const id = await recordStart({
      executionId: ctx.executionId, workflow: ctx.workflowName, step: name, idempotencyKey: s.idempotencyKey,
      stepAttempt: s.attempt, leaseToken: s.leaseToken, templateKey: extra.templateKey,
    });
    try {
      if (workMs > 0) await sleep(workMs);
      await extra.body?.(s);
    } catch (err) {
      await recordFinish(id, 'error');
      throw err;
    }
    await recordFinish(id, 'ok');
    return result;
  });
}

async function runSteps(ctx: WorkflowContext, input: StepsInput): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < input.work.length; i++) out.push(await recordedStep(ctx, `s${i}`, input.work[i], `s${i}`));
  return out;
}

/** A chain of steps; also records a random value and a timestamp (replayed, never re-drawn). */
export const chaosSteps = defineWorkflow({ name: ChaosWorkflow.steps }, async (ctx, input: StepsInput) => {
  ctx.random();
  const out = await runSteps(ctx, input);
  ctx.now();
  return out;
});

/** A child: the same chain of steps. */
export const chaosChild = defineWorkflow({ name: ChaosWorkflow.child }, async (ctx, input: StepsInput) => runSteps(ctx, input));

/** Durable sleeps between two steps (short ones are held in memory, longer ones suspend). */
export const chaosSleeper = defineWorkflow({ name: ChaosWorkflow.sleeper }, async (ctx, input: SleeperInput) => {
  const out = [await recordedStep(ctx, 'before', input.work, 'before')];
  for (let i = 0; i < input.naps.length; i++) await ctx.sleep(`nap${i}`, input.naps[i]);
  out.push(await recordedStep(ctx, 'after', input.work, 'after'));
  return out;
});

/** Waits for `count` signals named `go` (sent by the harness, some as concurrent duplicates). */
export const chaosSignals = defineWorkflow({ name: ChaosWorkflow.signals }, async (ctx, input: SignalsInput) => {
  await recordedStep(ctx, 'ready', input.work, 'ready');
  const got: SignalPayload[] = [];
  for (let i = 0; i < input.count; i++) {
    const p = await ctx.waitForSignal<SignalPayload>(SIGNAL_NAME);
    if (p === undefined) throw new Error('waitForSignal without a timeout returned undefined');
    got.push(p);
  }
  if (input.timeoutProbe) {
    const none = await ctx.waitForSignal(NEVER_SIGNAL, { timeout: '300ms' });
    if (none !== undefined) throw new Error(`signal "${NEVER_SIGNAL}" was delivered but nobody sends it`);
  }
  await recordedStep(ctx, 'done', input.work, 'done');
  return got;
});

/** Starts children (all at once, or one after the other) and returns their outputs. */
export const chaosParent = defineWorkflow({ name: ChaosWorkflow.parent }, async (ctx, input: ParentInput) => {
  await recordedStep(ctx, 'plan', input.work, 'plan');
  let results: string[][];
  if (input.parallel) {
    const handles = [];
    for (const c of input.children) handles.push(await ctx.startChild(chaosChild, c));
    results = [];
    for (const h of handles) results.push(await h.result());
  } else {
    results = [];
    for (const c of input.children) results.push(await ctx.child(chaosChild, c));
  }
  await recordedStep(ctx, 'sum', input.work, 'sum');
  return results;
});

/** Template-serialized: at most one admitted execution per key at a time. */
export const chaosSerial = defineWorkflow({ name: ChaosWorkflow.serial, template: { key: (i: SerialInput) => i.key, limit: 1 } }, async (ctx, input: SerialInput) => {
  await recordedStep(ctx, 'enter', input.work, 'enter', { templateKey: input.key });
  await recordedStep(ctx, 'exit', input.work, 'exit', { templateKey: input.key });
  return input.key;
});

/** Always fails: its `poison` step throws on every attempt (bounded retries, then the execution fails). */
export const chaosPoison = defineWorkflow({ name: ChaosWorkflow.poison }, async (ctx, input: PoisonInput) => {
  await recordedStep(ctx, 'ok', input.work, 'ok');
  await ctx.step('poison', async (s) => {
    const id = await recordStart({ executionId: ctx.executionId, workflow: ctx.workflowName, step: 'poison', idempotencyKey: s.idempotencyKey, stepAttempt: s.attempt, leaseToken: s.leaseToken });
    await recordFinish(id, 'error');
    throw new PoisonError(`poisoned (attempt ${s.attempt})`);
  }, {
    retry: {
      maxAttempts: POISON_RETRY.maxAttempts, initialInterval: POISON_RETRY.initialIntervalMs,
      backoffCoefficient: POISON_RETRY.backoffCoefficient, jitter: 0, maxInterval: '1m',
    },
  });
  return 'unreachable';
});

/** Kills its own runner process (SIGKILL) inside step `boom`, under the execution's first claim only. */
export const chaosCrasher = defineWorkflow({ name: ChaosWorkflow.crasher }, async (ctx, input: CrasherInput) => {
  const out = [await recordedStep(ctx, 'pre', input.work, 'pre')];
  out.push(await ctx.step('boom', async (s) => {
    if (ctx.attempt === 1) {
      await recordStart({ executionId: ctx.executionId, workflow: ctx.workflowName, step: 'boom', idempotencyKey: s.idempotencyKey, stepAttempt: s.attempt, leaseToken: s.leaseToken, outcome: 'crash' });
      process.kill(process.pid, 'SIGKILL');
      await sleep(60_000); // never reached
    }
    const id = await recordStart({ executionId: ctx.executionId, workflow: ctx.workflowName, step: 'boom', idempotencyKey: s.idempotencyKey, stepAttempt: s.attempt, leaseToken: s.leaseToken });
    await recordFinish(id, 'ok');
    return 'boom';
  }));
  out.push(await recordedStep(ctx, 'post', input.work, 'post'));
  return out;
});

/** Ids of the hostile-input submitter's executions (kept out of the main checks; see hostile.ts). */
export const HOSTILE_PREFIX = 'hostile-';

/** `chaos-hostile-error`: one step that throws an error with a `size`-byte message (never retried). */
export const chaosHostileError = defineWorkflow({ name: 'chaos-hostile-error', retry: { maxAttempts: 1 } }, async (ctx, size: number) =>
  ctx.step('explode', async () => {
    const err = new Error('h'.repeat(size));
    err.name = 'HostileError';
    throw Object.assign(err, { code: 'HOSTILE' });
  }));
