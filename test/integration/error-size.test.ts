/**
 * Error payloads get the size limit (issue 8, item 4): a step that throws a 3 MB or a 20 MB
 * message stores a failed-step event and an execution error within the payload limit (message
 * and stack cut with a marker, name and code kept), an unrelated execution on the same runner
 * completes meanwhile, and no log line grows past a few KiB. SQLite and MariaDB/MySQL.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { describeEachDb } from '../helpers/db';
import { createClient, createRunner, defineWorkflow, type Client } from '../../engine';
import { boundRecordedError, truncateUtf8 } from '../../engine/error-size';

class HugeError extends Error {
  readonly code = 'HUGE_ERROR';
  constructor(size: number) {
    super('m'.repeat(size));
    this.name = 'HugeError';
  }
}

describeEachDb(__filename, 'error size', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());

  const huge = defineWorkflow({ name: 'es-huge', retry: { maxAttempts: 1 } }, async (wctx, size: number) =>
    wctx.step('explode', async () => { throw new HugeError(size); }));
  const quick = defineWorkflow({ name: 'es-quick' }, async (wctx, n: number) => wctx.step('one', async () => n + 1));

  test('a step throwing a 3 MB and a 20 MB message: stored errors within the limit, an unrelated execution completes, logs stay small', async () => {
    let maxLine = 0;
    const sink = new Writable({ write(chunk: Buffer, _enc, cb) { for (const l of chunk.toString().split('\n')) maxLine = Math.max(maxLine, l.length); cb(); } });
    const logger = pino({ level: 'debug' }, sink);
    const limit = 256 * 1024;
    const runner = await createRunner({ db: ctx.db, workflows: [huge, quick], logger, concurrency: 4, pollInterval: '20ms', leaseTtl: '10s', payloadLimitBytes: limit });
    await runner.start();
    try {
      const big = [await client.start(huge, 3 * 1024 * 1024, { id: 'es-3mb' }), await client.start(huge, 20 * 1024 * 1024, { id: 'es-20mb' })];
      const started = Date.now();
      const q = await client.start(quick, 1, { id: 'es-quick-1' });
      expect(await q.result({ timeout: '20s' })).toBe(2);
      const quickMs = Date.now() - started;
      for (const h of big) {
        const failed = await h.result({ timeout: '30s' }).catch((e: Error & { cause?: unknown }) => e);
        expect(failed).toMatchObject({ code: 'WORKFLOW_FAILED' });
        const err = (failed as Error & { cause?: unknown }).cause;
        expect(err).toMatchObject({ name: "HugeError", code: "HUGE_ERROR" });
        // Cut (by recordError's own cap or by the payload limit with a marker), never whole.
        expect((err as Error).message.length).toBeLessThan(limit);
        const [row] = await ctx.db.sql.all<{ error: string }>('SELECT error FROM workflow_executions WHERE id = ?', [h.executionId]);
        expect(Buffer.byteLength(row.error)).toBeLessThanOrEqual(limit);
        const events = await ctx.db.sql.all<{ payload: string }>("SELECT payload FROM workflow_events WHERE execution_id = ? AND status = 'failed'", [h.executionId]);
        expect(events.length).toBeGreaterThan(0);
        for (const e of events) expect(Buffer.byteLength(e.payload)).toBeLessThanOrEqual(limit);
      }
      process.stdout.write(`[error size ${ctx.kind}] unrelated execution completed in ${quickMs} ms; longest log line ${maxLine} bytes\n`);
      expect(quickMs).toBeLessThan(15_000);
      expect(maxLine).toBeLessThan(64 * 1024);
    } finally {
      await runner.shutdown();
    }
  }, 90_000);

  test('bounding keeps name, code and a marker, and never splits a character', () => {
    const rec = boundRecordedError({ name: 'E', code: 'C', message: '😀'.repeat(100_000), stack: 's'.repeat(500_000) }, 4096);
    expect(Buffer.byteLength(JSON.stringify(rec))).toBeLessThanOrEqual(4096);
    expect(rec).toMatchObject({ name: 'E', code: 'C' });
    expect(rec.message).toMatch(/^(😀)+…\[truncated: 200000 characters in all\]$/);
    expect(truncateUtf8('short', 10)).toBe('short');
  });
});
