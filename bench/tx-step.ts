/**
 * `npm run bench:tx-step -- [--db URL] [--executions N] [--steps K] [--concurrency C] [--sequential-steps S] [--json]`:
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

  const measure = async (wf: typeof plain, execs: number, k: number, c: number): Promise<Record<string, number | string>> => {
    const runner = await createRunner({ db, workflows: [plain, tx], orm, concurrency: c, pollInterval: '20ms', logger: silentLogger() });
    const client = await createClient({ db });
    await runner.start();
    try {
      const before = { ...counts };
      const t0 = performance.now();
      const handles = await Promise.all(Array.from({ length: execs }, () => client.start(wf, k)));
      await Promise.all(handles.map((h) => h.result({ timeout: '10m' })));
      const seconds = (performance.now() - t0) / 1000;
      const n = execs * k;
      return {
        workload: wf === tx ? 'tx-step' : 'plain-step', executions: execs, steps_per_execution: k, concurrency: c, seconds: round(seconds),
        steps_per_s: round(n / seconds), statements_per_step: round((counts.statements - before.statements) / n), commits_per_step: round((counts.commits - before.commits) / n),
      };
    } finally {
      await runner.shutdown();
      await client.close();
    }
  };
  const pair = async (execs: number, k: number, c: number) => {
    await measure(plain, execs, k, c); // warm-up runs, not reported
    await measure(tx, execs, k, c);
    const p = await measure(plain, execs, k, c);
    const t = await measure(tx, execs, k, c);
    return { plain: p, transactional: t, ratio: { steps_per_s: round(Number(t.steps_per_s) / Number(p.steps_per_s)), statements_per_step: round(Number(t.statements_per_step) / Number(p.statements_per_step)) } };
  };
  let concurrent: Awaited<ReturnType<typeof pair>>;
  let sequential: Awaited<ReturnType<typeof pair>>;
  try {
    concurrent = await pair(executions, steps, concurrency);
    // One execution, concurrency 1: the runner has no free slot, so it does not poll — the
    // counts are the step's own statements (plus a heartbeat every 5 s).
    sequential = await pair(1, Number(arg('sequential-steps', '200')), 1);
  } finally {
    await orm.close(true);
    await db.sql.run(`DROP DATABASE IF EXISTS \`${dbName}\``);
    await db.close();
  }
  const report = {
    bench: 'tx-step', server: base.replace(/\/\/[^@]*@/, '//'), concurrent, sequential,
    notes: [
      'Both workloads write one business row per step through the application ORM; the plain step does it outside the checkpoint (at-least-once), the transactional step in the same transaction (exactly once).',
      'concurrent: counts include the client starts, the runner\'s polls, heartbeats and completions, divided over the steps. sequential: one execution, no polls — the per-step cost itself.',
      'The first run of each workload is a warm-up and is not reported.',
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
