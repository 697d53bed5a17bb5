/**
 * `npm run bench:tx-step -- [--db URL] [--executions N] [--steps K] [--concurrency C] [--json]`:
 * the cost of a transactional step (`ctx.transaction`, issue 14) against a plain step
 * (`ctx.step`) doing the same business write (one INSERT of the application's MikroORM entity):
 * statements and commits per step (counted on the client side, in this process, by reading the
 * MySQL protocol packets sent to the server port — other clients of a shared server do not
 * count) and steps per second. One in-process runner; a fresh database, dropped at the end.
 * Commits = explicit COMMITs + write statements sent outside an explicit transaction (autocommit).
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { EntitySchema, MikroORM } from '@mikro-orm/core';
import { MariaDbDriver } from '@mikro-orm/mariadb';
import { createClient, createRunner, defineWorkflow, openDatabase, parseDbUrl, silentLogger, type WorkflowContext } from '../engine';

interface Row { id?: number; executionId: string; step: string }
const Business = new EntitySchema<Row>({
  name: 'BenchBusiness', tableName: 'bench_business',
  properties: { id: { type: 'number', primary: true, autoincrement: true }, executionId: { type: 'string', fieldName: 'execution_id' }, step: { type: 'string' } },
});

// ── client-side protocol counter ───────────────────────────────────────────────────────────
const counts = { statements: 0, commits: 0 };
const inTx = new WeakMap<object, boolean>();
let dbPort = 3306;
const origWrite = net.Socket.prototype.write;
net.Socket.prototype.write = function patched(this: net.Socket, chunk: unknown, ...rest: unknown[]) {
  try {
    if (this.remotePort === dbPort && chunk instanceof Uint8Array && chunk.length >= 5 && chunk[3] === 0) {
      const cmd = chunk[4];
      if (cmd === 3 || cmd === 23) { // COM_QUERY, COM_STMT_EXECUTE
        counts.statements++;
        const text = cmd === 3 ? Buffer.from(chunk.subarray(5, 40)).toString('latin1').trimStart().toLowerCase() : '';
        if (/^(begin|start transaction)/.test(text)) inTx.set(this, true);
        else if (/^(commit|rollback)/.test(text)) { if (text.startsWith('commit')) counts.commits++; inTx.set(this, false); }
        else if (/^(insert|update|delete|replace)/.test(text) && !inTx.get(this)) counts.commits++;
      }
    }
  } catch { /* never break the driver */ }
  return (origWrite as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
} as typeof net.Socket.prototype.write;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
}

async function main(): Promise<void> {
  const base = arg('db', process.env.LEASEFLOW_BENCH_DB ?? 'mysql://root@127.0.0.1:3306').replace(/\/+$/, '').replace(/\/[A-Za-z0-9_$]+$/, '');
  const executions = Number(arg('executions', '200'));
  const steps = Number(arg('steps', '5'));
  const concurrency = Number(arg('concurrency', '20'));
  const json = process.argv.includes('--json');
  const dbName = `lf_bench_txstep_${process.pid}`;
  const url = `${base}/${dbName}`;
  const settings = parseDbUrl(url);
  dbPort = settings.port ?? 3306;
  const db = await openDatabase(url, { createDatabase: true });
  await db.migrate();
  const orm = await MikroORM.init({
    driver: MariaDbDriver, host: settings.host, port: dbPort, user: settings.user ?? 'root', password: settings.password ?? '', dbName,
    entities: [Business], pool: { min: 0, max: concurrency }, allowGlobalContext: false,
  });
  await orm.em.getConnection().execute('CREATE TABLE bench_business (id INT AUTO_INCREMENT PRIMARY KEY, execution_id VARCHAR(191) NOT NULL, step VARCHAR(64) NOT NULL)');

  const plain = defineWorkflow({ name: 'bench-plain-step' }, async (ctx: WorkflowContext, k: number) => {
    for (let i = 0; i < k; i++) await ctx.step(`s${i}`, async () => { await orm.em.fork().insert(Business, { executionId: ctx.executionId, step: `s${i}` }); return i; });
    return k;
  });
  const tx = defineWorkflow({ name: 'bench-tx-step' }, async (ctx: WorkflowContext, k: number) => {
    for (let i = 0; i < k; i++) await ctx.transaction(`s${i}`, async (em) => { await em.insert(Business, { executionId: ctx.executionId, step: `s${i}` }); return i; });
    return k;
  });

  const results: Record<string, unknown>[] = [];
  try {
    for (const wf of [plain, tx, plain, tx]) { // twice each, alternating: the second pair is reported
      const runner = await createRunner({ db, workflows: [plain, tx], orm, concurrency, pollInterval: '20ms', logger: silentLogger() });
      const client = await createClient({ db });
      await runner.start();
      const before = { ...counts };
      const t0 = performance.now();
      const handles = await Promise.all(Array.from({ length: executions }, () => client.start(wf, steps)));
      await Promise.all(handles.map((h) => h.result({ timeout: '10m' })));
      const seconds = (performance.now() - t0) / 1000;
      const n = executions * steps;
      results.push({
        workload: wf === tx ? 'tx-step' : 'plain-step', executions, steps_per_execution: steps, concurrency, seconds: round(seconds),
        steps_per_s: round(n / seconds), statements_per_step: round((counts.statements - before.statements) / n), commits_per_step: round((counts.commits - before.commits) / n),
      });
      await runner.shutdown();
      await client.close();
    }
  } finally {
    await orm.close(true);
    await db.sql.run(`DROP DATABASE IF EXISTS \`${dbName}\``);
    await db.close();
  }
  const [plainR, txR] = results.slice(2);
  const report = {
    bench: 'tx-step', server: base.replace(/\/\/[^@]*@/, '//'), plain: plainR, transactional: txR,
    ratio: { steps_per_s: round(Number(txR.steps_per_s) / Number(plainR.steps_per_s)), statements_per_step: round(Number(txR.statements_per_step) / Number(plainR.statements_per_step)) },
    notes: [
      'Both workloads write one business row per step through the application ORM; the plain step does it outside the checkpoint (at-least-once), the transactional step in the same transaction (exactly once).',
      'Counts include the client starts, the runner\'s polls, heartbeats and completions, divided over the steps; the first run of each workload is a warm-up and is not reported.',
    ],
  };
  if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stderr.write(`${JSON.stringify(report, null, 2)}\n`);
}

const round = (v: number) => Math.round(v * 100) / 100;

void main().catch((err: Error) => {
  process.stderr.write(`bench tx-step: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
