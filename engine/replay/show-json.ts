/**
 * Reading the JSON `leaseflow show <id> --json` prints (`{ execution, history }`) back into an
 * execution record and history events for a replay. Malformed input is a ValidationError naming
 * the field; nothing here touches a store.
 */
import { ValidationError } from '../errors';
import { EventKind, FINISHED_STATUSES, type ExecutionRecord, type HistoryEvent } from '../store/types';

const FINISHED = new Set<string>(FINISHED_STATUSES);
const KINDS = new Set<string>(Object.values(EventKind));

function fail(field: string, what: string): never {
  throw new ValidationError(`replayHistory: show --json ${field} ${what}`, field);
}

const encode = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));

/** Parse show --json output (text or already parsed). */
export function parseShowJson(source: unknown): { record: ExecutionRecord; history: HistoryEvent[] } {
  let doc = source;
  if (typeof source === 'string') {
    try { doc = JSON.parse(source); } catch { fail('text', 'is not JSON'); }
  }
  if (!doc || typeof doc !== 'object') fail('source', 'must be an object { execution, history }');
  const { execution, history } = doc as { execution?: Record<string, unknown>; history?: unknown };
  if (!execution || typeof execution !== 'object') fail('execution', 'is missing');
  if (typeof execution.id !== 'string' || typeof execution.workflowName !== 'string') fail('execution', 'needs string id and workflowName');
  if (!Array.isArray(history)) fail('history', 'must be an array');
  const events = history.map((e: Record<string, unknown>, i): HistoryEvent => {
    if (!e || typeof e !== 'object' || !Number.isInteger(e.seq) || (e.seq as number) < 0) fail(`history[${i}].seq`, 'must be a non-negative integer');
    if (typeof e.kind !== 'string' || !KINDS.has(e.kind)) fail(`history[${i}].kind`, `must be one of ${[...KINDS].join(', ')}`);
    if (typeof e.name !== 'string' || typeof e.status !== 'string') fail(`history[${i}]`, 'needs string name and status');
    return {
      seq: e.seq as number, kind: e.kind as EventKind, name: e.name, status: e.status, payload: encode(e.value),
      attempt: Number(e.attempt ?? 1), leaseToken: Number(e.leaseToken ?? 0),
      order: Number.isInteger(e.order) ? (e.order as number) : null, createdAt: new Date(String(e.at ?? 0)),
    };
  });
  const now = new Date();
  const record: ExecutionRecord = {
    id: execution.id, runId: String(execution.runId ?? ''), firstRunId: String(execution.runId ?? ''), continuedFrom: null, runNumber: 1,
    workflowName: execution.workflowName, workflowVersion: Number(execution.workflowVersion ?? 1), templateKey: null, templateLimit: null, admitted: true,
    status: (FINISHED.has(String(execution.status)) ? execution.status : 'running') as ExecutionRecord['status'], input: encode(execution.input), output: null, error: null, customStatus: null, waitFor: null, availableAt: null,
    leaseToken: 0, runnerId: null, nextSeq: 0, stepAttempt: 0, attempt: 2, parentId: null, parentSeq: null, cancelReason: null,
    createdAt: now, updatedAt: now, startedAt: now, finishedAt: null, traceContext: null, startBuild: null, lastBuild: null, lastVersion: null,
  };
  return { record, history: events };
}
