/**
 * A real runner process configured from its environment (issue 14, items 3–4), on SQLite and
 * MariaDB/MySQL: LEASEFLOW_NAMESPACE=alpha runs alpha's execution and leaves beta's (same id)
 * queued; LEASEFLOW_PAYLOAD_KEYS makes it decrypt the input and encrypt the output it stores.
 */
import { randomBytes } from 'node:crypto';
import { describeEachDb } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor } from '../helpers/processes';
import { createAttemptsTable } from './fixtures/attempts';
import { aesGcmCodec, createClient, openDatabase, type Database } from '../../engine';

const KEY = randomBytes(32);

describeEachDb(__filename, 'runner process: namespace and payload keys from the environment', (ctx) => {
  let enc: Database;
  beforeAll(async () => {
    await createAttemptsTable(ctx.db);
    enc = await openDatabase(ctx.url, { codecs: [aesGcmCodec({ keys: { k1: KEY }, currentKeyId: 'k1' })] });
  });
  afterAll(async () => {
    await killAllRunners();
    await enc?.close();
  });

  test('alpha runner: runs alpha only, reads and writes encrypted payloads', async () => {
    const alpha = await createClient({ db: enc, namespace: 'alpha' });
    const beta = await createClient({ db: ctx.db, namespace: 'beta' });
    const ha = await alpha.start('proc-steps', { steps: 2, note: 'SECRET-PROC-71c2' }, { id: 'cn-1' });
    const hb = await beta.start('proc-steps', { steps: 1 }, { id: 'cn-1' });
    const runner = await spawnRunner({
      dbUrl: ctx.url, instanceId: `cn-alpha-${ctx.kind}`, pollInterval: '50ms', leaseTtl: '10s',
      env: { LEASEFLOW_NAMESPACE: 'alpha', LEASEFLOW_PAYLOAD_KEYS: `k1=${KEY.toString('base64')}` },
    });
    try {
      expect(await ha.result({ timeout: '60s' })).toEqual({ done: ['s0', 's1'] });
      // Give the runner every chance to (wrongly) take beta's: several polls.
      await new Promise((r) => setTimeout(r, 500));
      await waitFor(async () => (await beta.getHandle('cn-1').describe()).status === 'queued', { timeoutMs: 5000, what: "beta's execution still queued" });
      expect((await hb.describe()).attempts).toBe(0);
    } finally {
      await runner.terminate(30_000);
    }
    const rows = await ctx.db.sql.all<{ input: string; output: string | null; namespace: string }>(
      "SELECT input, output, namespace FROM workflow_executions WHERE id LIKE '%cn-1' ORDER BY namespace");
    expect(rows.map((r) => r.namespace)).toEqual(['alpha', 'beta']);
    expect(rows[0].input).toMatch(/^~lf1 aes-256-gcm\/k1 /);
    expect(rows[0].output).toMatch(/^~lf1 aes-256-gcm\/k1 /); // written by the runner process with the key from its env
    expect(rows[0].input).not.toContain('SECRET-PROC');
    await alpha.close();
    await beta.close();
  });
});
