/**
 * Exact statement counts, taken on the client side: every runner process and the bench itself
 * load query-counter.cjs, which counts the protocol commands each process sends to the
 * database. Unlike GLOBAL STATUS, other clients of a shared server cannot disturb them.
 */
import type { RunnerProc } from './runners';
import { commitsIn, statementsIn } from './runners';
import type { Monitor } from './server';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const counter = require('./query-counter.cjs') as { snapshot(): Record<string, number>; setPort(port: number): void };

/** Count the bench process's own commands to `port` (call before opening connections). */
export function countBenchStatementsTo(port: number): void {
  counter.setPort(port);
}

/** Statements sent so far: by all `runners`, and by the bench minus its monitoring connection. */
export interface StatementMark {
  runners: number | null;
  bench: number;
  /** Commits (COMMIT + autocommit writes) sent by the runners, and by the bench. */
  runnerCommits: number | null;
  benchCommits: number;
  /** BENCH_SQL_KINDS=1: the runners' statements by their first 40 characters (summed). */
  kinds: Record<string, number>;
}

/** Take a mark (runners are asked over IPC; null if one does not answer). */
export async function statementMark(runners: readonly RunnerProc[], monitor: Monitor): Promise<StatementMark> {
  const own = counter.snapshot();
  const bench = statementsIn(own) - monitor.sent;
  const reports = await Promise.all(runners.map((r) => r.report()));
  const sum = (f: (c: Record<string, number>) => number) => (reports.some((v) => v === null) ? null : reports.reduce<number>((s, v) => s + f(v!.counts), 0));
  const kinds: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r?.counts ?? {})) if (k.startsWith('sql:')) kinds[k] = (kinds[k] ?? 0) + v;
  return { runners: sum(statementsIn), bench, runnerCommits: sum(commitsIn), benchCommits: commitsIn(own), kinds };
}
