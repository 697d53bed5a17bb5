/**
 * The doorbell (engine/wake) across real processes: a runner process that polls once a minute
 * still starts a start made in this process at once (milliseconds), because the start rings it; with
 * LEASEFLOW_WAKE=off the same start waits for the poll. Hostile datagrams (garbage, oversized,
 * a flood of rings) neither crash the runner nor stop it from working.
 */
import dgram from 'node:dgram';
import { createClient, createRunner } from '../../engine';
import { parseWakeAddress } from '../../engine/wake/doorbell';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor } from '../helpers/processes';
import { createAttemptsTable } from './fixtures/attempts';
import { procSteps } from './fixtures/workflows';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describeEachDb(__filename, 'doorbell', (ctx) => {
  afterAll(killAllRunners);

  /** submit → first step committed, DB clock (ms), or null while it has not run. */
  async function firstStepMs(id: string): Promise<number | null> {
    const diff = ctx.db.sql.mysql
      ? 'TIMESTAMPDIFF(MICROSECOND, e.created_at, MIN(v.created_at)) / 1000'
      : 'MIN(v.created_at) - e.created_at';
    const rows = await ctx.db.sql.all<{ ms: unknown }>(
      `SELECT ${diff} AS ms FROM workflow_executions e JOIN workflow_events v ON v.execution_id = e.id WHERE e.id = ? GROUP BY e.id, e.created_at`, [id]);
    return rows.length ? Number(rows[0].ms) : null;
  }

  async function wakeAddr(instanceId: string): Promise<string | null> {
    const rows = await ctx.db.sql.all<{ wake_addr: unknown }>('SELECT wake_addr FROM workflow_runners WHERE id = ?', [instanceId]);
    return rows[0]?.wake_addr === null || rows[0]?.wake_addr === undefined ? null : String(rows[0].wake_addr);
  }

  test('an idle runner polling once a minute starts new work at once when rung; hostile datagrams do no harm', async () => {
    await createAttemptsTable(ctx.db);
    const runner = await spawnRunner({ dbUrl: ctx.url, instanceId: 'bell-on-000001', pollInterval: '60s', leaseTtl: '10s' });
    const addr = await wakeAddr('bell-on-000001');
    expect(addr).not.toBeNull();
    const target = parseWakeAddress(addr!)!;
    const client = await createClient({ db: ctx.db });
    try {
      await sleep(2000); // past its first (empty) poll, even on a loaded machine: the next is a minute away
      const samples: number[] = [];
      for (let i = 0; i < 4; i++) {
        const h = await client.start(procSteps, { steps: 1 }, { id: `bell-on-${i}` });
        await waitFor(async () => (await firstStepMs(h.executionId)) !== null, { timeoutMs: 5_000, intervalMs: 20, what: `first step of ${h.executionId}` });
        samples.push((await firstStepMs(h.executionId))!);
        await sleep(i === 0 ? 300 : 1500);
      }
      process.stdout.write(`[doorbell ${ctx.kind}] submit → first step, poll 60 s: ${samples.map((v) => v.toFixed(1)).join(', ')} ms\n`);
      // Without a ring the first would wait up to a minute (the control below waits 2.5 s and sees nothing).
      for (const ms of samples) expect(ms).toBeLessThan(2500);

      // Hostile: garbage, an empty datagram, a near-miss, an oversized one, then a flood of rings.
      const sock = dgram.createSocket('udp4');
      const send = (b: Buffer) => new Promise<void>((r) => sock.send(b, target.port, target.host, () => r()));
      for (const b of [Buffer.alloc(0), Buffer.from('LFW1x'), Buffer.from('lfw1'), Buffer.alloc(60_000, 7), Buffer.from([0xff, 0x00, 0x41])]) await send(b);
      for (let i = 0; i < 5_000; i++) void send(Buffer.from('LFW1'));
      await sleep(500);
      sock.close();
      const h = await client.start(procSteps, { steps: 2 }, { id: 'bell-after-flood' });
      await waitFor(async () => (await h.describe()).status === 'completed', { timeoutMs: 10_000, intervalMs: 50, what: 'a start after the flood' });
      expect(runner.logs.filter((l) => (l.level ?? 0) >= 50)).toEqual([]);
      expect((await runner.terminate()).code).toBe(0);
    } finally {
      await client.close();
    }
  }, 60_000);

  test('with LEASEFLOW_WAKE=off the runner stores no address and a start waits for its poll', async () => {
    const runner = await spawnRunner({ dbUrl: ctx.url, instanceId: 'bell-off-000001', pollInterval: '60s', leaseTtl: '10s', env: { LEASEFLOW_WAKE: 'off' } });
    expect(await wakeAddr('bell-off-000001')).toBeNull();
    const client = await createClient({ db: ctx.db });
    try {
      await sleep(2000);
      const h = await client.start(procSteps, { steps: 1 }, { id: 'bell-off-1' });
      await sleep(2500);
      expect(await firstStepMs(h.executionId)).toBeNull();
      expect((await h.describe()).status).toBe('queued');
      await h.terminate('test cleanup');
      expect((await runner.terminate()).code).toBe(0);
    } finally {
      await client.close();
    }
  }, 60_000);

  test('a bad wake setting is a typed error that starts nothing', async () => {
    await expect(createRunner({ db: ctx.db, workflows: [procSteps], wake: 'not-an-address' })).rejects.toThrow(/wake must be 'auto', 'off' or an IP address/);
  });
});
