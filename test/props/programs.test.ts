/**
 * Property test (fast-check), on SQLite and MariaDB: random workflow programs (program.ts)
 * with signals arriving at random passes, cancellations at random passes, and crashes at random
 * points (the run is dropped mid-flight, its lease expires, another claim replays it). For every
 * program: the crashed run ends with the same result and the same history positions as an
 * uninterrupted one, every committed step appears once, and nothing is left running or waiting.
 * LEASEFLOW_PROP_RUNS sets the number of programs per dialect (`npm run test:props -- --runs N`).
 */
import fc from 'fast-check';
import { describeEachDb } from '../helpers/db';
import { expireAllLeases } from '../helpers/engine';
import { createClient, type Client } from '../../engine/client/client';
import { claimExecutions } from '../../engine/store/claims';
import { executeClaimed } from '../../engine/runner/executor';
import type { Database } from '../../engine/store/database';
import { programs, propChild, propProgram, sentSignals, type Node } from './program';

const RUNS = Number(process.env.LEASEFLOW_PROP_RUNS ?? 25);
const SEED = process.env.LEASEFLOW_PROP_SEED === undefined ? undefined : Number(process.env.LEASEFLOW_PROP_SEED);
const WORKFLOWS = new Map<string, unknown>([[propProgram.name, propProgram], [propChild.name, propChild]]);
const CRASH_EVENTS = new Set(['step:completed', 'timer:fired', 'signal:delivered', 'child:started', 'step:failed']);

/** What the property test covered (printed at the end). */
const covered = { programs: 0, crashes: 0, cancels: 0 };

interface Ran { status: string; output: unknown; error: string | null; positions: string[] }

/** Drive one program to its end: signals at `signalPass`, a cancel at `cancelPass`, a crash at each event index in `crashAt`. */
async function runProgram(db: Database, client: Client, id: string, program: Node, o: { crashAt?: number[]; signalPass?: number; cancelPass?: number }): Promise<Ran> {
  const h = await client.start(propProgram, program, { id });
  const signals = sentSignals(program);
  let sent = false;
  let events = 0;
  const crashAt = new Set(o.crashAt ?? []);
  for (let pass = 0; pass < 200; pass++) {
    if (!sent && pass >= (o.signalPass ?? 0)) { for (const s of signals) await h.signal(s, s).catch(() => undefined); sent = true; }
    if (o.cancelPass !== undefined && pass === o.cancelPass) { await h.cancel('property').catch(() => undefined); covered.cancels++; }
    const claimed = await claimExecutions(db.sql, { owner: 'prop-00000000', workflows: [...WORKFLOWS.keys()], limit: 50, leaseTtlMs: 30_000 });
    if (claimed.length === 0) {
      if (!sent || (o.cancelPass !== undefined && pass < o.cancelPass)) continue;
      break;
    }
    let crashed = false;
    await Promise.all(claimed.map(async (execution) => {
      const ac = new AbortController();
      await executeClaimed({
        store: db.sql, execution, definition: WORKFLOWS.get(execution.workflowName) as never, owner: 'prop-00000000', signal: ac.signal, holdWaitsUpToMs: 200,
        emit: (event) => {
          if (!CRASH_EVENTS.has(event)) return;
          if (crashAt.has(events++)) { crashed = true; covered.crashes++; ac.abort('simulated crash'); }
        },
      });
    }));
    if (crashed) await expireAllLeases(db);
  }
  const d = await h.describe();
  const rec = await db.sql.all<{ output: unknown; error: unknown }>('SELECT output, error FROM workflow_executions WHERE id = ?', [id]);
  const hist = await h.history();
  return {
    status: d.status,
    output: rec[0].output === null ? null : JSON.parse(String(rec[0].output)),
    error: rec[0].error === null ? null : (JSON.parse(String(rec[0].error)) as { message: string }).message,
    positions: hist.map((e) => `${e.seq}:${e.kind}:${e.name.split(`${id}/`).join('<id>/')}:${e.status}`),
  };
}

/** Invariants every finished program holds: steps committed once, nothing left running or waiting. */
async function expectSettled(db: Database, id: string, ran: Ran): Promise<void> {
  const steps = ran.positions.filter((p) => p.includes(':step:'));
  expect(new Set(steps.map((p) => p.split(':')[2])).size).toBe(steps.length);
  const open = await db.sql.all<{ id: string; status: string }>("SELECT id, status FROM workflow_executions WHERE (id = ? OR id LIKE ?) AND status NOT IN ('completed', 'failed', 'cancelled')", [id, `${id}/%`]);
  expect(open).toEqual([]);
}

let n = 0;

describeEachDb(__filename, 'random workflow programs', (ctx) => {
  let client: Client;
  beforeAll(async () => {
    client = await createClient({ db: ctx.db });
    Object.assign(covered, { programs: 0, crashes: 0, cancels: 0 });
  });
  afterAll(async () => {
    await client.close();
    process.stderr.write(`property test [${ctx.db.dialect}]: ${covered.programs} programs, ${covered.crashes} crash points, ${covered.cancels} cancellations\n`);
  });

  test('a program crashed at random points ends with the same result and history positions as an uninterrupted run', async () => {
    await fc.assert(fc.asyncProperty(programs, fc.uniqueArray(fc.nat(10), { maxLength: 3 }), fc.nat(2), async (program, crashAt, signalPass) => {
      const k = n++;
      const ref = await runProgram(ctx.db, client, `pr${k}-ref`, program, {});
      const crashed = await runProgram(ctx.db, client, `pr${k}-crash`, program, { crashAt, signalPass });
      covered.programs++;
      expect(ref.status).toBe('completed');
      expect(crashed).toEqual(ref);
      await expectSettled(ctx.db, `pr${k}-ref`, ref);
      await expectSettled(ctx.db, `pr${k}-crash`, crashed);
    }), { numRuns: RUNS, seed: SEED, endOnFailure: true });
  }, Math.max(600_000, RUNS * 10_000));

  test('a program cancelled at a random pass, with crashes, ends cancelled or completed and leaves nothing running', async () => {
    await fc.assert(fc.asyncProperty(programs, fc.uniqueArray(fc.nat(10), { maxLength: 2 }), fc.nat(3), async (program, crashAt, cancelPass) => {
      const k = n++;
      const ran = await runProgram(ctx.db, client, `pc${k}`, program, { crashAt, cancelPass, signalPass: 1 });
      covered.programs++;
      expect(['completed', 'cancelled']).toContain(ran.status);
      await expectSettled(ctx.db, `pc${k}`, ran);
    }), { numRuns: Math.max(1, Math.round(RUNS / 3)), seed: SEED, endOnFailure: true });
  }, Math.max(600_000, RUNS * 10_000));
});
