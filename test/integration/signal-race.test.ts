/**
 * Signals accepted and then lost (issue 8, item 9): many senders race an execution that
 * completes after a few signals. Every signal is delivered to the workflow, visibly undelivered
 * (describe().undeliveredSignals: accepted before the finish, never consumed), or rejected with
 * ExecutionFinishedError (sent after the finish) — none silently lost. SQLite and MariaDB/MySQL.
 */
import { describeEachDb } from '../helpers/db';
import { createClient, createRunner, defineWorkflow, ExecutionFinishedError, silentLogger, type Client } from '../../engine';

describeEachDb(__filename, 'signal race', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());

  /** Takes `n` signals, then completes with their payloads. */
  const takeN = defineWorkflow({ name: 'take-n' }, async (wctx, n: number) => {
    const got: number[] = [];
    while (got.length < n) got.push((await wctx.waitForSignal<number>('tick')) as number);
    return got;
  });

  test('signals racing a completion are each delivered, marked undelivered, or rejected — none lost', async () => {
    const runner = await createRunner({ db: ctx.db, workflows: [takeN], logger: silentLogger(), concurrency: 4, pollInterval: '20ms', leaseTtl: '5s' });
    await runner.start();
    try {
      const rounds = 3;
      for (let round = 0; round < rounds; round++) {
        const h = await client.start(takeN, 5, { id: `race-${round}` });
        const senders = 45;
        const outcomes = await Promise.all(Array.from({ length: senders }, async (_, i) => {
          await new Promise((r) => setTimeout(r, Math.random() * 60));
          try {
            await h.signal('tick', i);
            return 'accepted';
          } catch (err) {
            if (err instanceof ExecutionFinishedError) return 'rejected';
            throw err;
          }
        }));
        const delivered = await h.result({ timeout: '30s' });
        const d = await h.describe();
        const accepted = outcomes.filter((o) => o === 'accepted').length;
        const rejected = outcomes.filter((o) => o === 'rejected').length;
        expect(delivered).toHaveLength(5);
        expect(d.pendingSignals).toBe(0);
        // Every accepted signal is either delivered or listed as undelivered; the rest were rejected.
        expect(delivered.length + d.undeliveredSignals.length).toBe(accepted);
        expect(accepted + rejected).toBe(senders);
        expect(d.undeliveredSignals.every((s) => s.name === 'tick' && s.sentAt instanceof Date)).toBe(true);
        const unconsumed = await ctx.db.sql.all('SELECT id FROM workflow_signals WHERE execution_id = ? AND consumed_seq IS NULL', [h.executionId]);
        expect(unconsumed).toEqual([]);
      }
    } finally {
      await runner.shutdown();
    }
  }, 60_000);

  test('a signal sent to a never-started execution that is then cancelled shows as undelivered', async () => {
    const h = await client.start(takeN, 1, { id: 'race-cancel', delay: '1h' });
    await h.signal('tick', 1);
    await h.cancel('no longer needed');
    const d = await h.describe();
    expect(d.status).toBe('cancelled');
    expect(d.undeliveredSignals.map((s) => s.name)).toEqual(['tick']);
    await expect(h.signal('tick', 2)).rejects.toBeInstanceOf(ExecutionFinishedError);
  });
});
