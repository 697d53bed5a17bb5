/**
 * Statements and transactions per committed step, read from the database server's own
 * counters (MariaDB/MySQL session status on a one-connection pool), and steps/s of one
 * 1,000-step workflow driven in-process. Prints one JSON object on stdout.
 *   npx tsx bench/steps.ts [--db URL] [--steps 1000] [--codec aes|deflate+aes]   (payload codecs: the cost of encryption)
 */
import { randomBytes } from 'node:crypto';
import { aesGcmCodec, compressionCodec, defineWorkflow, openDatabase, runUntilIdle, createClient } from '../engine';
import { argValue } from './args';

async function main(): Promise<void> {
  const url = argValue('--db') ?? 'mariadb://root@127.0.0.1:3306/leaseflow_bench_steps';
  const steps = Number(argValue('--steps') ?? 1000);
  const codec = argValue('--codec');
  const aes = () => aesGcmCodec({ keys: { k1: randomBytes(32) }, currentKeyId: 'k1' });
  const codecs = codec === undefined ? [] : codec === 'aes' ? [aes()] : codec === 'deflate+aes' ? [compressionCodec(), aes()] : undefined;
  if (!codecs) throw new Error('--codec is aes or deflate+aes');
  const db = await openDatabase(url, { poolMax: 1, createDatabase: true, codecs });
  await db.migrate();
  await db.sql.run('DELETE FROM workflow_events');
  await db.sql.run('DELETE FROM workflow_executions');
  const many = defineWorkflow({ name: 'many-steps' }, async (ctx, n: number) => {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += await ctx.step(`s${i}`, async () => i);
    return acc;
  });
  const client = await createClient({ db });
  const h = await client.start(many, steps);
  const counters = async (): Promise<Record<string, number>> => {
    if (!db.sql.mysql) return {};
    const rows = await db.sql.all<{ Variable_name: string; Value: string }>(
      "SHOW SESSION STATUS WHERE Variable_name IN ('Questions', 'Com_select', 'Com_insert', 'Com_update', 'Com_insert_select', 'Com_delete', 'Com_begin', 'Com_commit', 'Com_rollback', 'Com_set_option', 'Handler_commit')",
    );
    return Object.fromEntries(rows.map((r) => [r.Variable_name, Number(r.Value)]));
  };
  const before = await counters();
  const t0 = performance.now();
  await runUntilIdle({ db, workflows: [many], owner: 'bench-steps-00000000' });
  const elapsedMs = performance.now() - t0;
  const after = await counters();
  if ((await h.result()) !== (steps * (steps - 1)) / 2) throw new Error('wrong result');
  const perStep: Record<string, number> = {};
  for (const k of Object.keys(after)) perStep[k] = +(((after[k] - before[k]) - (k === 'Questions' || k === 'Com_select' ? 1 : 0)) / steps).toFixed(3);
  const out = { db: db.url, dialect: db.dialect, codec: codec ?? 'none', steps, elapsed_ms: Math.round(elapsedMs), steps_per_s: Math.round((steps / elapsedMs) * 1000), per_step: perStep };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  await client.close();
  await db.close();
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = 1;
});
