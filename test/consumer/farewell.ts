// A TypeScript workflow module beside the JavaScript ones: the compiled binary loads it through
// tsx (an optional peer dependency the app installed), only because it is TypeScript.
import { defineWorkflow } from 'leaseflow';

export const farewell = defineWorkflow({ name: 'farewell' }, async (ctx, input: { name: string }): Promise<string> => {
  return ctx.step('bye', async () => `bye ${input.name}`);
});
