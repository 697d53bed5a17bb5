/**
 * `createInspector`: the read side that the dashboard and the metrics use — one snapshot of the
 * cluster (runners seen recently with their leases, template slots and queues, queue depth and
 * the head-of-queue wait) in a handful of bounded indexed statements, counts by status cached
 * for `countsMaxAgeMs`, and pending signals. It never writes. SQL lives in engine/store/inspect.ts.
 */
import { resolveDatabase, type Database, type DbInput } from '../store/database';
import { activeTemplateMembers, countByStatus, leaseStates, liveLeases, pendingSignals, queueDepth, templateQueuePosition } from '../store/inspect';
import { findExecution } from '../store/executions';
import { recentRunners } from '../store/runners';
import type { ExecutionStatus } from '../store/types';
import { LeaseMoveTracker, type LeaseMove } from './lease-moves';
import { nsKey, validateNamespace } from '../namespace/keys';

/** A lease as the dashboard shows it. */
export interface LeaseView { executionId: string; owner: string; token: number; expiresAt: Date; expiresInMs: number }

/** A runner with its heartbeat lag and the leases it holds. */
export interface RunnerView {
  id: string; hostname: string; pid: number; status: string; concurrency: number; workflows: string[];
  startedAt: Date; heartbeatAt: Date; heartbeatAgeMs: number; leases: LeaseView[];
}

/** A template key: who holds its slots, who waits (in admission order). */
export interface TemplateView {
  key: string; limit: number | null;
  holders: { executionId: string; status: ExecutionStatus; runnerId: string | null }[];
  waiting: { executionId: string; position: number }[];
}

/** One snapshot of the cluster. */
export interface ClusterSnapshot {
  /** Database clock when it was taken. */
  at: Date;
  runners: RunnerView[];
  /** Leases whose owner is not among `runners` (should not happen; shown rather than hidden). */
  orphanLeases: LeaseView[];
  templates: TemplateView[];
  queue: { ready: number; delayed: number; capped: boolean; headWaitMs: number | null };
  /** Lease moves observed since the previous snapshot of this inspector. */
  moves: LeaseMove[];
}

/** Options of `createInspector`. */
export interface InspectorOptions {
  /** Runners whose heartbeat is older are left out. @default 1 hour */
  runnerWindowMs?: number;
  /** Counts above this are reported as capped. @default 10000 */
  countCap?: number;
  /** Counts by status are reused for this long. @default 10 s */
  countsMaxAgeMs?: number;
  /** Namespace of the ids `pendingSignals` and `templatePosition` take (the cluster views are store-wide). @default 'default' */
  namespace?: string;
}

/** The inspector. */
export interface Inspector {
  readonly db: Database;
  snapshot(): Promise<ClusterSnapshot>;
  /** Executions per status, cached; `at` says when they were counted. */
  countsByStatus(): Promise<{ counts: Partial<Record<ExecutionStatus, number>>; at: Date }>;
  pendingSignals(executionId: string): Promise<{ id: number; name: string; payload: unknown; createdAt: Date }[]>;
  /** Place in its template's admission queue (1 = next), or null when not waiting for admission. */
  templatePosition(executionId: string): Promise<number | null>;
  close(): Promise<void>;
}

/** Create an inspector over a store URL or an opened handle. */
export async function createInspector(db: DbInput, options: InspectorOptions = {}): Promise<Inspector> {
  const resolved = await resolveDatabase(db);
  const store = resolved.db.sql;
  const cap = options.countCap ?? 10_000;
  const window = options.runnerWindowMs ?? 3_600_000;
  const countsMaxAge = options.countsMaxAgeMs ?? 10_000;
  const ns = validateNamespace(options.namespace);
  const tracker = new LeaseMoveTracker();
  let counts: { value: Promise<Partial<Record<ExecutionStatus, number>>>; at: Date } | undefined;

  async function snapshot(): Promise<ClusterSnapshot> {
    const [runners, leases, members, queue, states] = await Promise.all([
      recentRunners(store, window, 200), liveLeases(store, 2000), activeTemplateMembers(store, 2000), queueDepth(store, cap),
      leaseStates(store, tracker.pending),
    ]);
    const now = queue.now;
    const views: LeaseView[] = leases.map((l) => ({ ...l, expiresInMs: l.expiresAt.getTime() - now.getTime() }));
    const byOwner = new Map<string, LeaseView[]>();
    for (const l of views) byOwner.set(l.owner, [...(byOwner.get(l.owner) ?? []), l]);
    const templates = new Map<string, TemplateView>();
    for (const m of members) {
      let t = templates.get(m.templateKey);
      if (!t) templates.set(m.templateKey, (t = { key: m.templateKey, limit: m.templateLimit, holders: [], waiting: [] }));
      if (m.admitted) t.holders.push({ executionId: m.executionId, status: m.status, runnerId: m.runnerId });
      else if (m.status === 'queued') t.waiting.push({ executionId: m.executionId, position: t.waiting.length + 1 });
    }
    const known = new Set(runners.map((r) => r.id));
    return {
      at: now,
      runners: runners.map((r) => ({ ...r, heartbeatAgeMs: now.getTime() - r.heartbeatAt.getTime(), leases: byOwner.get(r.id) ?? [] })),
      orphanLeases: views.filter((l) => !known.has(l.owner)),
      templates: [...templates.values()],
      queue: {
        ready: Math.min(queue.ready, cap), delayed: Math.min(queue.delayed, cap), capped: queue.ready > cap || queue.delayed > cap,
        headWaitMs: queue.oldestReadyAt ? Math.max(0, now.getTime() - queue.oldestReadyAt.getTime()) : null,
      },
      moves: tracker.observe(leases, states, now),
    };
  }

  return {
    db: resolved.db,
    snapshot,
    async countsByStatus() {
      if (!counts || Date.now() - counts.at.getTime() > countsMaxAge) {
        counts = { value: countByStatus(store), at: new Date() };
        counts.value.catch(() => { counts = undefined; });
      }
      return { counts: await counts.value, at: counts.at };
    },
    async pendingSignals(executionId) {
      const rows = await pendingSignals(store, nsKey(ns, executionId), 100);
      const payloads = await Promise.all(rows.map((r) => resolved.db.payloads.decodeForDisplay(r.payload)));
      return rows.map((r, i) => ({ id: r.id, name: r.name, payload: payloads[i], createdAt: r.createdAt }));
    },
    async templatePosition(executionId) {
      const rec = await findExecution(store, store, nsKey(ns, executionId));
      if (!rec || !rec.templateKey || rec.admitted || rec.status !== 'queued') return null;
      return templateQueuePosition(store, rec.templateKey, rec.createdAt, rec.id);
    },
    async close() {
      if (resolved.owned) await resolved.db.close();
    },
  };
}
