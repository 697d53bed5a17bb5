// A plain-JavaScript ES module of workflows, served by the installed `leaseflow` binary.
import { defineWorkflow } from 'leaseflow';

export const greet = defineWorkflow({ name: 'greet' }, async (ctx, input) => {
  const hello = await ctx.step('hello', async () => `hello ${input.name}`);
  return `${hello}!`;
});
