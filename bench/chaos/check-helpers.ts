/**
 * Shared machinery of the chaos checks: a verdict collector, indexes over the loaded rows, and
 * small pure helpers (grouping, order-free comparison of JSON values, percentiles).
 */
import { expectedShape, type Shape } from './shapes';
import type { ChaosData, CheckResult, AttemptRow, EventRow, ExecRow, Submission } from './check-types';

const MAX_LISTED = 8;
export const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** Collects one invariant's violations (the first few listed, all counted). */
export class Verdict {
  readonly violations: string[] = [];
  #total = 0;
  constructor(readonly name: string) {}
  fail(msg: string): void {
    this.#total++;
    if (this.violations.length < MAX_LISTED) this.violations.push(msg);
  }
  get count(): number { return this.#total; }
  done(counts: Record<string, number | string>, note?: string): CheckResult {
    const violations = this.#total > this.violations.length ? [...this.violations, `… and ${this.#total - this.violations.length} more`] : this.violations;
    return { name: this.name, ok: this.#total === 0, counts: { ...counts, violations: this.#total }, violations, ...(note ? { note } : {}) };
  }
}

export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = out.get(k);
    if (list) list.push(it); else out.set(k, [it]);
  }
  return out;
}

export function parseJson(text: string | null): unknown {
  if (text === null) return undefined;
  try { return JSON.parse(text); } catch { return text; }
}

/** Stable JSON for comparing unordered collections of values. */
export function canon(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'undefined';
}

export const sortedCanon = (items: readonly unknown[]): string[] => items.map(canon).sort();

export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

export const ms = (v: number) => Math.round(v);

/** Indexes shared by the checks. */
export class Index {
  readonly execById: Map<string, ExecRow>;
  readonly eventsByExec: Map<string, EventRow[]>;
  readonly attemptsByExec: Map<string, AttemptRow[]>;
  readonly childrenByParent: Map<string, ExecRow[]>;
  readonly submitted: Map<string, Submission>;
  constructor(readonly d: ChaosData) {
    this.execById = new Map(d.executions.map((e) => [e.id, e]));
    this.eventsByExec = groupBy(d.events, (e) => e.executionId);
    for (const list of this.eventsByExec.values()) list.sort((a, b) => a.seq - b.seq);
    this.attemptsByExec = groupBy(d.attempts, (a) => a.executionId);
    this.childrenByParent = groupBy(d.executions.filter((e) => e.parentId !== null), (e) => e.parentId as string);
    this.submitted = new Map(d.harness.submissions.map((s) => [s.id, s]));
  }

  /** The expected shape of an execution row (children included), or null for a foreign row. */
  shape(e: ExecRow): Shape | null {
    try { return expectedShape(e.workflow, e.input); } catch { return null; }
  }

  events(id: string): EventRow[] { return this.eventsByExec.get(id) ?? []; }
  attempts(id: string): AttemptRow[] { return this.attemptsByExec.get(id) ?? []; }
}
