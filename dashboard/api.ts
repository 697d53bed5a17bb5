/**
 * The dashboard's JSON API, over the engine's public client and inspector only (no SQL here).
 * Reads: executions (server-side filters, cursor pages), counts by status (cached), one
 * execution (description, children, pending signals, template queue position), its history
 * (previews; a payload is loaded on demand by seq; failed-only filter). Actions: cancel, signal.
 */
import { ExecutionStatus, ValidationError, type Client, type HistoryEntry, type Inspector, type ListOptions } from '../engine';
import { HttpError } from './http-util';

/** What the API works with. */
export interface ApiContext { client: Client; inspector: Inspector }

const STATUSES = Object.values(ExecutionStatus) as string[];
/** Longest value preview in a timeline row. */
const PREVIEW_CHARS = 120;

function dateParam(q: URLSearchParams, name: string): Date | undefined {
  const v = q.get(name);
  if (!v) return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new ValidationError(`${name} must be a date (ISO 8601)`, name);
  return d;
}

/** GET /api/executions */
export async function listExecutions(ctx: ApiContext, q: URLSearchParams): Promise<unknown> {
  const status = (q.get('status') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const bad = status.find((s) => !STATUSES.includes(s));
  if (bad) throw new ValidationError(`status "${bad}" is not one of ${STATUSES.join(', ')}`, 'status');
  const text = (name: string) => q.get(name)?.trim() || undefined;
  const limit = q.get('limit') ? Number(q.get('limit')) : 50;
  const options: ListOptions = {
    status: status.length ? (status as ExecutionStatus[]) : undefined, workflow: text('workflow'), idPrefix: text('id'),
    templateKey: text('template'), parentId: text('parent'), from: dateParam(q, 'from'), to: dateParam(q, 'to'),
    limit, cursor: text('cursor'),
  };
  return ctx.client.list(options);
}

/** GET /api/counts */
export async function counts(ctx: ApiContext): Promise<unknown> {
  return ctx.inspector.countsByStatus();
}

/** GET /api/executions/:id */
export async function executionDetail(ctx: ApiContext, id: string): Promise<unknown> {
  const handle = ctx.client.getHandle(id);
  const description = await handle.describe();
  const [children, signals, queuePosition] = await Promise.all([
    ctx.client.list({ parentId: id, limit: 100 }), ctx.inspector.pendingSignals(id), ctx.inspector.templatePosition(id),
  ]);
  return { description, children: children.executions, moreChildren: children.nextCursor !== undefined, pendingSignals: signals, queuePosition };
}

/** A timeline row: the event with a preview of its value and the time since the event before. */
function timelineRow(e: HistoryEntry, prevAt: Date): Record<string, unknown> {
  const json = e.value === undefined ? '' : JSON.stringify(e.value) ?? '';
  return {
    seq: e.seq, kind: e.kind, name: e.name, status: e.status, attempt: e.attempt, leaseToken: e.leaseToken, at: e.at,
    sincePreviousMs: Math.max(0, e.at.getTime() - prevAt.getTime()),
    preview: json.length > PREVIEW_CHARS ? `${json.slice(0, PREVIEW_CHARS)}…` : json, valueBytes: Buffer.byteLength(json),
  };
}

/** GET /api/executions/:id/history[?failed=1] */
export async function history(ctx: ApiContext, id: string, q: URLSearchParams): Promise<unknown> {
  const handle = ctx.client.getHandle(id);
  const [d, events] = await Promise.all([handle.describe(), handle.history()]);
  let prev = d.startedAt ?? d.createdAt;
  const rows = events.map((e) => {
    const row = timelineRow(e, prev);
    prev = e.at;
    return row;
  });
  const failedOnly = q.get('failed') === '1';
  // Failed-only: failures, timeouts, cancellation, and anything that took more than one attempt.
  const failed = (r: Record<string, unknown>) => r.status === 'failed' || r.status === 'timeout' || r.kind === 'cancel' || (r.attempt as number) > 1;
  return { events: failedOnly ? rows.filter(failed) : rows };
}

/** GET /api/executions/:id/history/:seq — one payload, on demand. */
export async function payload(ctx: ApiContext, id: string, seqText: string): Promise<unknown> {
  const seq = Number(seqText);
  if (!Number.isInteger(seq) || seq < 0) throw new ValidationError('seq must be a non-negative integer', 'seq');
  const e = (await ctx.client.getHandle(id).history()).find((h) => h.seq === seq);
  if (!e) throw new HttpError(404, `no event ${seq} in the history of "${id}"`);
  return { seq, value: e.value };
}

/** POST /api/executions/:id/cancel {reason?} */
export async function cancel(ctx: ApiContext, id: string, body: Record<string, unknown>): Promise<unknown> {
  const reason = body.reason === undefined ? 'cancelled from the dashboard' : body.reason;
  if (typeof reason !== 'string' || reason.length === 0 || reason.length > 500) throw new ValidationError('reason must be a string of 1–500 characters', 'reason');
  await ctx.client.getHandle(id).cancel(reason);
  return { ok: true };
}

/** POST /api/executions/:id/signal {name, payload?} */
export async function signal(ctx: ApiContext, id: string, body: Record<string, unknown>): Promise<unknown> {
  if (typeof body.name !== 'string') throw new ValidationError('name must be a string', 'name');
  await ctx.client.getHandle(id).signal(body.name, body.payload);
  return { ok: true };
}

/** POST /api/executions/:id/terminate {reason?} — stop now, no compensation; the holder is fenced out. */
export async function terminate(ctx: ApiContext, id: string, body: Record<string, unknown>): Promise<unknown> {
  const reason = body.reason === undefined ? 'terminated from the dashboard' : body.reason;
  if (typeof reason !== 'string' || reason.length === 0 || reason.length > 500) throw new ValidationError('reason must be a string of 1–500 characters', 'reason');
  await ctx.client.getHandle(id).terminate(reason);
  return { ok: true };
}

/** POST /api/executions/:id/resume — run a failed execution again from its failed step. */
export async function resume(ctx: ApiContext, id: string): Promise<unknown> {
  return { ok: true, ...(await ctx.client.getHandle(id).resume()) };
}
