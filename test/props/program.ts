/**
 * Random workflow programs for the property test: trees of all / race / allSettled / sequences
 * over steps, children, short timers and signal waits, generated with fast-check and run by ONE
 * workflow that interprets the tree it gets as input. The shapes keep each program's result
 * independent of timing (a race has exactly one branch that can finish; the others are waits
 * that never end: a 1-hour timer or a signal nobody sends), so any run — crashed, replayed, on
 * any dialect — must end with the same result and the same history positions.
 */
import fc from 'fast-check';
import { defineWorkflow, NonRetryableError, type WorkflowContext } from '../../engine';

/** A program node. */
export type Node =
  | { t: 'step'; v: number }
  | { t: 'fail' }
  | { t: 'timer'; ms: number }
  | { t: 'signal'; sent: boolean }
  | { t: 'child'; v: number }
  | { t: 'never'; kind: 'timer' | 'signal' }
  | { t: 'seq'; of: Node[] }
  | { t: 'all'; of: Node[] }
  | { t: 'settled'; of: Node[] }
  | { t: 'race'; win: Node; lose: Node[]; at: number };

/** A leaf that always finishes. */
const leaf: fc.Arbitrary<Node> = fc.oneof(
  fc.record({ t: fc.constant('step' as const), v: fc.integer({ min: 0, max: 99 }) }),
  fc.record({ t: fc.constant('timer' as const), ms: fc.integer({ min: 0, max: 30 }) }),
  fc.record({ t: fc.constant('signal' as const), sent: fc.constant(true) }),
  fc.record({ t: fc.constant('child' as const), v: fc.integer({ min: 0, max: 9 }) }),
);
const never: fc.Arbitrary<Node> = fc.record({ t: fc.constant('never' as const), kind: fc.constantFrom('timer' as const, 'signal' as const) });

/** Finishing trees of at most `depth` levels. */
export const finishing: fc.Memo<Node> = fc.memo((depth) => {
  if (depth <= 1) return leaf;
  const sub = finishing(depth - 1);
  return fc.oneof(
    { weight: 3, arbitrary: leaf },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('seq' as const), of: fc.array(sub, { minLength: 1, maxLength: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('all' as const), of: fc.array(sub, { minLength: 1, maxLength: 4 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('settled' as const), of: fc.array(fc.oneof(sub, fc.constant({ t: 'fail' } as Node)), { minLength: 1, maxLength: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('race' as const), win: sub, lose: fc.array(never, { minLength: 1, maxLength: 2 }), at: fc.nat(2) }) },
  );
});

/** A program (depth ≤ 4). */
export const programs: fc.Arbitrary<Node> = finishing(4);

/** The names of the signals a program waits for and that the test sends (in path order). */
export function sentSignals(node: Node, path = 'r'): string[] {
  switch (node.t) {
    case 'signal': return node.sent ? [`sig-${path}`] : [];
    case 'seq': case 'all': case 'settled': return node.of.flatMap((n, i) => sentSignals(n, `${path}.${i}`));
    case 'race': return sentSignals(node.win, `${path}.w`);
    default: return [];
  }
}

/** The child workflow of the programs. */
export const propChild = defineWorkflow({ name: 'prop-child' }, async (ctx, v: number) => ctx.step('square', () => v * v));

async function run(ctx: WorkflowContext, node: Node, path: string): Promise<unknown> {
  switch (node.t) {
    case 'step': return ctx.step(`s-${path}`, () => node.v);
    case 'fail': return ctx.step(`f-${path}`, () => { throw new NonRetryableError(`fail ${path}`); });
    case 'timer': await ctx.sleep(`t-${path}`, `${node.ms}ms`); return `t${node.ms}`;
    case 'signal': return ctx.waitForSignal(`sig-${path}`);
    case 'child': return ctx.child(propChild, node.v);
    case 'never': return node.kind === 'timer' ? ctx.sleep(`n-${path}`, '1h') : ctx.waitForSignal(`never-${path}`);
    case 'seq': {
      const out: unknown[] = [];
      for (let i = 0; i < node.of.length; i++) out.push(await run(ctx, node.of[i], `${path}.${i}`));
      return out;
    }
    case 'all': return Promise.all(node.of.map((n, i) => run(ctx, n, `${path}.${i}`)));
    case 'settled': return (await Promise.allSettled(node.of.map((n, i) => run(ctx, n, `${path}.${i}`)))).map((r) => (r.status === 'fulfilled' ? r.value : `rejected:${(r.reason as Error).message}`));
    case 'race': {
      const branches = node.lose.map((n, i) => run(ctx, n, `${path}.l${i}`));
      branches.splice(Math.min(node.at, branches.length), 0, run(ctx, node.win, `${path}.w`));
      return Promise.race(branches);
    }
  }
}

/** The workflow that runs a program given as its input. */
export const propProgram = defineWorkflow({ name: 'prop-program' }, async (ctx, program: Node) => run(ctx, program, 'r'));
