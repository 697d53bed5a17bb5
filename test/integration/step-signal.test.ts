/**
 * A step body's AbortSignal (issue 16 made it lazy): it is aborted by the step's timeout and
 * by the execution's cancellation, whether the body reads it before or after the abort, and
 * a body that never reads it runs exactly as before.
 */
import { describeEachDb } from '../helpers/db';
import { drive } from '../helpers/engine';
import { defineWorkflow } from '../../engine/workflow/define-workflow';
import { createClient, type Client } from '../../engine/client/client';

describeEachDb(__filename, 'step signal', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());

  const seen: Record<string, unknown> = {};

  const timeouts = defineWorkflow({ name: 'step-signal-timeout' }, async (wctx, key: string) => {
    try {
      await wctx.step('slow', async (step) => {
        const early = step.signal; // read before the timeout
        await new Promise((r) => setTimeout(r, 300));
        seen[`${key}:early`] = early.aborted ? (early.reason as Error).name : 'not aborted';
        seen[`${key}:late`] = (step.signal.reason as Error | undefined)?.name ?? 'no reason';
        return 1;
      }, { timeout: 50, retry: { maxAttempts: 1 } });
    } catch (err) {
      return (err as Error).name;
    }
    return 'no timeout';
  });

  const lateReader = defineWorkflow({ name: 'step-signal-late-reader' }, async (wctx, key: string) => {
    try {
      await wctx.step('slow', async (step) => {
        await new Promise((r) => setTimeout(r, 300));
        seen[key] = step.signal.aborted ? (step.signal.reason as Error).name : 'not aborted'; // first read after the timeout
        return 1;
      }, { timeout: 50, retry: { maxAttempts: 1 } });
    } catch (err) {
      return (err as Error).name;
    }
    return 'no timeout';
  });

  const plain = defineWorkflow({ name: 'step-signal-unread' }, async (wctx) => {
    let n = 0;
    for (let i = 0; i < 3; i++) n += await wctx.step(`s${i}`, async () => i);
    return n;
  });

  test('the timeout aborts the signal, read before or after it fired', async () => {
    const a = await client.start(timeouts, 'a');
    const b = await client.start(lateReader, 'b');
    await drive(ctx.db, [timeouts, lateReader]);
    expect(await a.result({ timeout: '10s' })).toBe('TimeoutError');
    expect(await b.result({ timeout: '10s' })).toBe('TimeoutError');
    await new Promise((r) => setTimeout(r, 400)); // the bodies run on after their attempts failed
    expect(seen['a:early']).toBe('TimeoutError');
    expect(seen['a:late']).toBe('TimeoutError');
    expect(seen.b).toBe('TimeoutError');
  });

  test('steps that never read their signal run as before', async () => {
    const h = await client.start(plain, null);
    await drive(ctx.db, [plain]);
    expect(await h.result({ timeout: '10s' })).toBe(3);
  });
});
