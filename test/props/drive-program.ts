/**
 * Driving one random program in-process for the property tests: claim, run, crash (drop the
 * run at a chosen event, expire its lease, let the next claim replay it), send its signals and
 * an optional cancellation at chosen passes; then read back its result and history positions.
 */
import { expireAllLeases } from '../helpers/engine';
import type { Client } from '../../engine/client/client';
import { claimExecutions } from '../../engine/store/claims';
import { findExecution } from '../../engine/store/executions';
import { executeClaimed } from '../../engine/runner/executor';
import type { Database } from '../../engine/store/database';
import { propChild, propProgram, sentSignals, type Node } from './program';

export const WORKFLOWS = new Map<string, unknown>([[propProgram.name, propProgram], [propChild.name, propChild]]);
const CRASH_EVENTS = new Set(['step:completed', 'timer:fired', 'signal:delivered', 'child:started', 'step:failed']);

/** What the property test covered (printed at the end). */
export const covered = { programs: 0, crashes: 0, cancels: 0 };

export interface Ran { status: string; output: unknown; error: string | null; positions: string[] }

/** Drive one program to its end: signals at `signalPass`, a cancel at `cancelPass`, a crash at each event index in `crashAt`. */
export async function runProgram(db: Database, client: Client, id: string, program: Node, o: { crashAt?: number[]; signalPass?: number; cancelPass?: number }): Promise<Ran> {
  const h = await client.start(propProgram, program, { id });
  return runStarted(db, client, id, program, o, h);
}

/** Read back what a program's execution ended with. */
export async function readRan(db: Database, client: Client, id: string): Promise<Ran> {
  const h = client.getHandle(id);
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

async function runStarted(db: Database, client: Client, id: string, program: Node, o: { crashAt?: number[]; signalPass?: number; cancelPass?: number }, h: ReturnType<Client['getHandle']>): Promise<Ran> {
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
  return readRan(db, client, id);
}

/** Invariants every finished program holds: steps committed once, nothing left running or waiting. */
export async function expectSettled(db: Database, id: string, ran: Ran): Promise<void> {
  const steps = ran.positions.filter((p) => p.includes(':step:'));
  expect(new Set(steps.map((p) => p.split(':')[2])).size).toBe(steps.length);
  const open = await db.sql.all<{ id: string; status: string }>("SELECT id, status FROM workflow_executions WHERE (id = ? OR id LIKE ?) AND status NOT IN ('completed', 'failed', 'cancelled')", [id, `${id}/%`]);
  expect(open).toEqual([]);
}


/**
 * Replay a finished program's whole history in-process against the same code: it must reach
 * the same output without issuing anything new (a live commit would hit the finished row's
 * fence and end the replay as lease-lost or aborted).
 */
export async function replayOutput(db: Database, id: string): Promise<{ kind: string; output?: unknown }> {
  const rec = await findExecution(db.sql, db.sql, id);
  if (!rec) throw new Error(`no execution ${id}`);
  const outcome = await executeClaimed({
    store: db.sql, execution: { ...rec, status: 'running', attempt: rec.attempt + 1, dbNow: new Date(), claimedFromWaiting: false },
    definition: propProgram as never, owner: 'replay-check', holdWaitsUpToMs: 200,
    commitEvents: async (item) => { throw new Error(`replay issued new events at ${item.events.map((e) => e.seq).join(', ')}`); },
    commitFinish: async () => undefined,
  });
  return outcome.kind === 'completed' ? { kind: outcome.kind, output: outcome.output } : { kind: outcome.kind };
}

/** Positions without their numbers (children are named by position): what was issued, as a sorted list. */
export function commandsOf(ran: Ran): string[] {
  return ran.positions.map((p) => p.split(':').slice(1).join(':').replace(/<id>\/\d+/, '<child>')).sort();
}
