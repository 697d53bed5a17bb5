/**
 * Example: fan-out / fan-in. A parent starts one child workflow per item with ctx.startChild
 * (children run on any replica, in parallel), then collects their results in order and
 * aggregates them. Child ids are deterministic (`{parentId}/{seq}`), so a replayed parent
 * never starts a child twice.
 */
import { defineWorkflow } from '../engine';

/** Input of one child. */
export interface FanOutItemInput {
  index: number;
  value: number;
}

/** Input of `fan-out`. */
export interface FanOutInput {
  /** Number of children, 1–50. */
  count: number;
  /** Values are base, base+1, …; @default 1 */
  base?: number;
}

/** Output of `fan-out`. */
export interface FanOutResult {
  count: number;
  results: number[];
  sum: number;
}

/** One unit of work: squares its value after some simulated latency. */
export const fanOutItem = defineWorkflow({ name: 'fan-out-item', version: 1 }, async (ctx, input: FanOutItemInput): Promise<number> => {
  return ctx.step('square', async () => {
    await new Promise((r) => setTimeout(r, 150 + (input.index % 4) * 100));
    return input.value * input.value;
  });
});

export const fanOut = defineWorkflow({ name: 'fan-out', version: 1 }, async (ctx, input: FanOutInput): Promise<FanOutResult> => {
  if (!Number.isInteger(input.count) || input.count < 1 || input.count > 50) throw new RangeError(`count must be an integer between 1 and 50 (got ${input.count})`);
  const base = input.base ?? 1;
  const children = [];
  for (let i = 0; i < input.count; i++) children.push(await ctx.startChild(fanOutItem, { index: i, value: base + i }));
  ctx.setStatus({ state: 'collecting', children: children.length });
  const results: number[] = [];
  for (const child of children) results.push(await child.result());
  return { count: results.length, results, sum: results.reduce((a, b) => a + b, 0) };
});
