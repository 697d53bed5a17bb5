/**
 * The deploy gate: replay the histories of live executions (running, waiting, queued with
 * history) and a sample of recently completed ones against NEW workflow code, before deploying
 * it. Histories stream in keyset pages (a page in memory at a time, the next one prefetched),
 * each replayed with no side effects (engine/replay: a refusing store, nothing runs live).
 * Read-only by construction: given a URL, the gate opens its own store on read-only connections
 * (MySQL `READ ONLY` sessions, SQLite `query_only`), and every statement it sends is a SELECT.
 * Payloads are decoded with the store's codec chain (`codecs` with a URL); a history it cannot
 * decode (a key it lacks) is reported as undecodable, not as incompatible code. Every namespace is
 * covered unless one is given.
 */
import { PayloadCodecError, ValidationError } from '../errors';
import type { PayloadDoor } from '../codec/door';
import type { PayloadCodec } from '../codec/types';
import { localKey, namespaceOf, validateNamespace } from '../namespace/keys';
import { openDatabase, type Database } from '../store/database';
import { historiesOf, liveExecutionPage, liveOutside, recentCompleted, type PageCursor } from '../store/deploy-reads';
import type { SqlRunner } from '../store/sql';
import type { ExecutionRecord, ExecutionStatus, HistoryEvent } from '../store/types';
import type { WorkflowDefinition } from '../workflow/define-workflow';
import { replayRecorded } from '../replay/replay-history';
import { suggestPatch } from './suggest';

/** Options of `checkDeploy`. */
export interface CheckDeployOptions {
  /** The production store: a URL (opened read-only by the gate, recommended) or an opened handle. */
  db: string | Database;
  /** The NEW code: the definitions about to be deployed. */
  workflows: readonly WorkflowDefinition<any, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Report every incompatible execution instead of stopping at the first. @default false */
  all?: boolean;
  /** Recently completed executions replayed per workflow. @default 20 */
  sample?: number;
  /** Executions per page. @default 200 */
  pageSize?: number;
  /** Replays run at once. @default 8 */
  concurrency?: number;
  /** One replay that does not settle within this long counts as incompatible. @default 30000 */
  replayTimeoutMs?: number;
  /** Payload codecs to decode histories with when `db` is a URL (an opened Database uses its own). */
  codecs?: readonly PayloadCodec[];
  /** Only executions of this namespace. @default every namespace */
  namespace?: string;
  /** Called after each page with the number of histories replayed so far (progress). */
  onProgress?: (checked: number) => void;
}

/** One execution the new code cannot continue. */
export interface DeployIncompatibility {
  /** The id in its namespace. */
  executionId: string;
  namespace: string;
  runId: string;
  workflowName: string;
  status: ExecutionStatus;
  /** Build that last ran it. */
  lastBuild: string | null;
  /** History position of the first divergence (-1: none known, e.g. a replay timeout). */
  position: number;
  /** What the history has there (`end`: the history ended there). */
  expected: { kind: string; name: string };
  /** What the new code issued there (null: nothing). */
  actual: { kind: string; name: string } | null;
  message: string;
  /** Which patch would make the change compatible. */
  suggestion: string;
}

/** An execution whose history the gate could not decode (a codec or key it was not given): not checked. */
export interface DeployUndecodable {
  executionId: string;
  namespace: string;
  runId: string;
  workflowName: string;
  status: ExecutionStatus;
  message: string;
}

/** Undecodable executions listed in a report (all are counted). */
const UNDECODABLE_LISTED = 100;

/** What `checkDeploy` found. */
export interface DeployCheckReport {
  /** True when every history was decoded and replayed, and each is compatible. */
  ok: boolean;
  /** Histories replayed. */
  checked: number;
  incompatible: DeployIncompatibility[];
  /** Histories not replayed because their payloads could not be decoded (the first 100 of `undecodableCount`). */
  undecodable: DeployUndecodable[];
  undecodableCount: number;
  /** Stopped at the first incompatibility (without `all`). */
  stoppedEarly: boolean;
  /** Live executions of workflows the new code does not define (not replayed; a deploy dropping them strands them). */
  liveOfOtherWorkflows: number;
  durationMs: number;
}

const LIVE: ('running' | 'waiting' | 'queued')[] = ['running', 'waiting', 'queued'];

/** Only SELECTs pass: the gate's statement runner. */
function selectOnly(sql: SqlRunner): SqlRunner {
  return {
    all: (text, params) => {
      if (!/^\s*SELECT\b/i.test(text)) return Promise.reject(new Error('deploy gate: refused a statement that is not a SELECT'));
      return sql.all(text, params);
    },
    run: () => Promise.reject(new Error('deploy gate: refused a write')),
  };
}

function intOption(v: number | undefined, dflt: number, min: number, max: number, field: string): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < min || n > max) throw new ValidationError(`${field} must be an integer between ${min} and ${max}`, field);
  return n;
}

/** Replay live (and recently completed) histories against `workflows`; see the module comment. */
export async function checkDeploy(opts: CheckDeployOptions): Promise<DeployCheckReport> {
  if (!opts || typeof opts !== 'object') throw new ValidationError('checkDeploy needs an options object', 'options');
  if (!Array.isArray(opts.workflows) || opts.workflows.length === 0) throw new ValidationError('workflows must be a non-empty array of workflow definitions', 'workflows');
  const defs = new Map<string, WorkflowDefinition<any, any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const w of opts.workflows) {
    if (!w || typeof w.name !== 'string' || typeof w.fn !== 'function') throw new ValidationError('workflows must contain definitions made by defineWorkflow', 'workflows');
    defs.set(w.name, w);
  }
  const sample = intOption(opts.sample, 20, 0, 100_000, 'sample');
  const pageSize = intOption(opts.pageSize, 200, 1, 5000, 'pageSize');
  const concurrency = intOption(opts.concurrency, 8, 1, 256, 'concurrency');
  const timeoutMs = intOption(opts.replayTimeoutMs, 30_000, 1, 3_600_000, 'replayTimeoutMs');
  if (typeof opts.db !== 'string' && (!opts.db || typeof opts.db !== 'object' || !('sql' in opts.db))) throw new ValidationError('db must be a URL or an opened database', 'db');
  const owned = typeof opts.db === 'string';
  const ns = opts.namespace === undefined ? undefined : validateNamespace(opts.namespace);
  const db = typeof opts.db === 'string' ? await openDatabase(opts.db, { readOnly: true, poolMax: 2, codecs: opts.codecs }) : opts.db;
  const started = performance.now();
  const names = [...defs.keys()];
  const report: DeployCheckReport = {
    ok: true, checked: 0, incompatible: [], undecodable: [], undecodableCount: 0, stoppedEarly: false, liveOfOtherWorkflows: 0, durationMs: 0,
  };
  try {
    const q = selectOnly(db.sql);
    const store = db.sql;
    const check = async (recs: ExecutionRecord[]): Promise<boolean> => {
      const histories = await historiesOf(q, store, recs.map((r) => r.id));
      let i = 0;
      const worker = async () => {
        while (i < recs.length && !(report.stoppedEarly)) {
          const rec = recs[i++];
          const decoded = await decodeHistory(db.payloads, rec, histories.get(rec.id) ?? []);
          histories.delete(rec.id);
          if ('undecodable' in decoded) {
            report.undecodableCount++;
            if (report.undecodable.length < UNDECODABLE_LISTED) report.undecodable.push(decoded.undecodable);
            continue;
          }
          const bad = await replayOne(defs.get(rec.workflowName) as WorkflowDefinition, decoded.rec, decoded.history, timeoutMs);
          report.checked++;
          if (bad) {
            report.incompatible.push(bad);
            if (!opts.all) report.stoppedEarly = true;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, recs.length) }, worker));
      opts.onProgress?.(report.checked);
      return !report.stoppedEarly;
    };
    outer: for (const status of LIVE) {
      let after: PageCursor | null = null;
      let next: Promise<ExecutionRecord[]> | null = liveExecutionPage(q, store, status, names, null, pageSize, ns);
      while (next) {
        const page: ExecutionRecord[] = await next;
        if (page.length === 0) break;
        const last = page[page.length - 1];
        after = { createdAt: last.createdAt, id: last.id };
        next = page.length < pageSize ? null : liveExecutionPage(q, store, status, names, after, pageSize, ns);
        if (!(await check(page))) { await next?.catch(() => undefined); break outer; }
      }
    }
    if (!report.stoppedEarly) {
      for (const name of names) {
        if (!(await check(await recentCompleted(q, store, name, sample, ns)))) break;
      }
    }
    report.liveOfOtherWorkflows = await liveOutside(q, names, ns);
  } finally {
    if (owned) await db.close();
  }
  if (!opts.all) report.incompatible.splice(1);
  report.ok = report.incompatible.length === 0 && report.undecodableCount === 0;
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

/** The record's input and the history's payloads as JSON text, decoded with the store's chain. */
async function decodeHistory(door: PayloadDoor, rec: ExecutionRecord, history: HistoryEvent[]):
  Promise<{ rec: ExecutionRecord; history: HistoryEvent[] } | { undecodable: DeployUndecodable }> {
  // Plain JSON passes the door unchanged: skip the async pass when nothing is encoded (door.ts: encoded text starts with "~").
  if (!rec.input?.startsWith('~') && !history.some((e) => e.payload?.startsWith('~'))) return { rec, history };
  try {
    const input = await door.decodeJson(rec.input);
    return { rec: { ...rec, input }, history: await Promise.all(history.map(async (e) => ({ ...e, payload: await door.decodeJson(e.payload) }))) };
  } catch (err) {
    if (!(err instanceof PayloadCodecError)) throw err;
    return {
      undecodable: {
        executionId: localKey(rec.id), namespace: namespaceOf(rec.id), runId: rec.runId, workflowName: rec.workflowName, status: rec.status,
        message: `its payloads cannot be decoded here (${err.message}); give the gate the codec chain and keys (LEASEFLOW_PAYLOAD_KEYS)`,
      },
    };
  }
}

async function replayOne(def: WorkflowDefinition, rec: ExecutionRecord, history: HistoryEvent[], timeoutMs: number): Promise<DeployIncompatibility | null> {
  const base = { executionId: localKey(rec.id), namespace: namespaceOf(rec.id), runId: rec.runId, workflowName: rec.workflowName, status: rec.status, lastBuild: rec.lastBuild };
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
    const r = await Promise.race([replayRecorded(def, rec, history), timeout]);
    if (r === 'timeout') {
      return { ...base, position: -1, expected: { kind: '?', name: '?' }, actual: null,
        message: `the replay did not settle within ${timeoutMs} ms (the code awaits something outside the workflow context?)`, suggestion: 'replay it with replayHistory() to see where it hangs' };
    }
    if (r.ok) return null;
    const d = r.divergence;
    return { ...base, position: d.seq, expected: d.expected, actual: d.actual, message: d.message, suggestion: suggestPatch(d.seq, d.expected, d.actual) };
  } catch (err) {
    return { ...base, position: -1, expected: { kind: '?', name: '?' }, actual: null, message: `the replay threw: ${String((err as Error)?.message ?? err)}`, suggestion: 'fix the error' };
  } finally {
    if (timer) clearTimeout(timer);
  }
}
