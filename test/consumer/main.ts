// A consumer app: open the store, start a runner, submit, await the result, shut down; then the
// test kit. Compiled by the app's own tsc in each module mode (see scripts/consumer-test.sh).
import { createClient, createRunner, defineWorkflow, openDatabase, StoreUnavailableError, type WorkflowHandle } from 'leaseflow';
import { openTestDatabase } from 'leaseflow/testing';

const greet = defineWorkflow({ name: 'greet' }, async (ctx, input: { name: string }) => {
  const hello = await ctx.step('hello', async () => `hello ${input.name}`);
  return `${hello}!`;
});

async function main(url: string): Promise<void> {
  const db = await openDatabase(url);
  const runner = await createRunner({ db, workflows: [greet], pollInterval: '100ms' });
  await runner.start();
  const client = await createClient({ db });
  const handle: WorkflowHandle<string> = await client.start(greet, { name: 'consumer' });
  const out: string = await handle.result({ timeout: '60s' });
  if (out !== 'hello consumer!') throw new Error(`unexpected result ${out}`);
  await runner.shutdown();
  await client.close();
  await db.close();

  const test = await openTestDatabase();
  await test.close();
  if (typeof StoreUnavailableError !== 'function') throw new Error('typed errors missing');
  console.log(`ok ${out}`);
}

main(process.argv[2] ?? '').catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
