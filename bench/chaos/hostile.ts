/**
 * The hostile-input submitter: odd ids (NUL, lone surrogates, half an emoji; 4-byte emoji and
 * trailing spaces), oversized payloads, invalid durations and times, toJSON tricks, bad signal
 * names and a step throwing a multi-MB error. Each input must be rejected with a typed error
 * (a `code`) and write nothing, or be accepted and read back exactly. Its rows (ids under
 * HOSTILE_PREFIX) are checked here and kept out of the main invariants.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Client, Database } from '../../engine';
import type { CheckResult } from './check-types';
import { chaosHostileError, HOSTILE_PREFIX } from './workflows';
import { retryOnConnection } from './submitter';

/** What one hostile input did. */
export interface HostileResult {
  label: string;
  expect: 'reject' | 'accept';
  outcome: 'rejected' | 'accepted' | 'untyped-error';
  code?: string;
  /** Rows written under the case's own id prefix (a rejected input must write none). */
  rowsWritten: number;
  /** For accepted inputs: id and input read back exactly. */
  roundTrip?: boolean;
  detail: string;
}

/** The error a huge-error execution stored (checked after the drain). */
export interface HostileErrorRun { id: string; size: number }

const UNSERVED = 'chaos-hostile-unserved';
const PAYLOAD_LIMIT = 2 * 1024 * 1024;

interface Case { label: string; expect: 'reject' | 'accept'; run: (c: Client, id: string) => Promise<unknown> }

const CASES: Case[] = [
  { label: 'id with NUL', expect: 'reject', run: (c, id) => c.start(UNSERVED, 1, { id: `${id}\0x` }) },
  { label: 'id with lone high surrogate', expect: 'reject', run: (c, id) => c.start(UNSERVED, 1, { id: `${id}\uD800` }) },
  { label: 'id with lone low surrogate', expect: 'reject', run: (c, id) => c.start(UNSERVED, 1, { id: `${id}\uDC00` }) },
  { label: 'id with half an emoji', expect: 'reject', run: (c, id) => c.start(UNSERVED, 1, { id: `${id}${'😀'[0]}` }) },
  { label: 'workflow name with NUL', expect: 'reject', run: (c, id) => c.start('chaos\0evil', 1, { id }) },
  { label: 'oversized input', expect: 'reject', run: (c, id) => c.start(UNSERVED, 'x'.repeat(PAYLOAD_LIMIT + 1), { id }) },
  { label: 'delay 1e300', expect: 'reject', run: (c, id) => c.start(UNSERVED, 1, { id, delay: 1e300 }) },
  { label: 'delay "soon"', expect: 'reject', run: (c, id) => c.start(UNSERVED, 1, { id, delay: 'soon' }) },
  { label: 'negative delay', expect: 'reject', run: (c, id) => c.start(UNSERVED, 1, { id, delay: -5 }) },
  { label: 'startAt beyond year 9000', expect: 'reject', run: (c, id) => c.start(UNSERVED, 1, { id, startAt: new Date(8.64e15) }) },
  { label: 'toJSON returning undefined', expect: 'reject', run: (c, id) => c.start(UNSERVED, { toJSON: () => undefined }, { id }) },
  { label: 'toJSON returning NaN', expect: 'reject', run: (c, id) => c.start(UNSERVED, { a: { toJSON: () => Number.NaN } }, { id }) },
  { label: 'id of 181 characters', expect: 'reject', run: (c, id) => c.start(UNSERVED, 1, { id: id + 'x'.repeat(181) }) },
  { label: 'signal name with lone surrogate', expect: 'reject', run: async (c, id) => c.getHandle(`${id}-target`).signal('s\uDC00', 1) },
  { label: 'emoji id with trailing spaces', expect: 'accept', run: (c, id) => c.start(UNSERVED, { s: '😀 \u0000 \uD800' }, { id: `${id}😀  ` }) },
];

/** Fires the hostile cases; keeps the results for `checkHostile`. */
export class HostileSubmitter {
  readonly results: HostileResult[] = [];
  readonly errorRuns: HostileErrorRun[] = [];
  #round = 0;

  constructor(private readonly client: Client, private readonly admin: Database) {}

  /** One round of every case (plus one huge-error execution, 3 MB or 6 MB by `pick`). */
  async fire(pick: number): Promise<void> {
    const round = this.#round++;
    for (const [i, c] of CASES.entries()) {
      const id = `${HOSTILE_PREFIX}${round}.${i}.`;
      this.results.push(await this.#one(c, id));
    }
    const size = pick < 0.5 ? 3 * 1024 * 1024 : 6 * 1024 * 1024; // 20 MB: test/integration/error-size.test.ts
    const id = `${HOSTILE_PREFIX}${round}.error`;
    await retryOnConnection(() => this.client.start(chaosHostileError, size, { id }));
    this.errorRuns.push({ id, size });
  }

  async #one(c: Case, id: string): Promise<HostileResult> {
    const rows = async () => Number((await retryOnConnection(() => this.admin.sql.all<{ n: unknown }>(
      // Not LIKE: MariaDB 10.11's index range for LIKE 'p.%' on a NO PAD key misses ids ending in spaces.
      'SELECT COUNT(*) AS n FROM workflow_executions WHERE LEFT(id, CHAR_LENGTH(?)) = ?', [id, id])))[0]?.n);
    if (c.label.startsWith('signal')) await retryOnConnection(() => this.client.start(UNSERVED, 1, { id: `${id}-target` }));
    const base = c.label.startsWith('signal') ? 1 : 0;
    try {
      await c.run(this.client, id);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const written = (await rows()) - base;
      const signals = base ? Number((await this.admin.sql.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM workflow_signals WHERE execution_id = ?', [`${id}-target`]))[0]?.n) : 0;
      if (base) await this.#cancel(`${id}-target`);
      return { label: c.label, expect: c.expect, outcome: typeof code === 'string' ? 'rejected' : 'untyped-error', code: typeof code === 'string' ? code : undefined,
        rowsWritten: written + signals, detail: `${(err as Error).name}: ${String((err as Error).message).slice(0, 200)}` };
    }
    // Accepted: the id and input must read back exactly; then it is cancelled (never served).
    const exactId = `${id}😀  `;
    const [row] = await this.admin.sql.all<{ id: string; input: string }>('SELECT id, input FROM workflow_executions WHERE LEFT(id, CHAR_LENGTH(?)) = ?', [id, id]);
    const roundTrip = row !== undefined && row.id === exactId && isDeepStrictEqual(JSON.parse(row.input), { s: '😀 \u0000 \uD800' });
    await this.#cancel(row?.id ?? exactId);
    return { label: c.label, expect: c.expect, outcome: 'accepted', rowsWritten: await rows(), roundTrip, detail: row ? `stored as ${createHash('sha1').update(row.id).digest('hex').slice(0, 8)}` : 'no row' };
  }

  async #cancel(id: string): Promise<void> {
    await retryOnConnection(() => this.client.getHandle(id).cancel('hostile probe done')).catch(() => undefined);
  }
}

/** The verdict on hostile inputs and huge errors (rows under HOSTILE_PREFIX, loaded separately). */
export function checkHostile(results: readonly HostileResult[], errorRows: readonly { id: string; status: string; error: string | null; failedPayloads: number[] }[]): CheckResult {
  const violations: string[] = [];
  for (const r of results) {
    if (r.expect === 'reject') {
      if (r.outcome !== 'rejected') violations.push(`${r.label}: ${r.outcome === 'accepted' ? 'accepted' : `untyped error (${r.detail})`}, expected a typed rejection`);
      if (r.rowsWritten !== 0) violations.push(`${r.label}: rejected, but wrote ${r.rowsWritten} row(s)`);
    } else if (r.outcome !== 'accepted' || !r.roundTrip) {
      violations.push(`${r.label}: ${r.outcome}${r.outcome === 'accepted' ? ', but did not read back exactly' : ` (${r.detail})`}`);
    }
  }
  for (const e of errorRows) {
    const err = e.error ? (JSON.parse(e.error) as { name?: string; code?: string }) : null;
    if (e.status !== 'failed' || err?.name !== 'HostileError' || err.code !== 'HOSTILE') violations.push(`${e.id}: ${e.status} with ${err?.name}/${err?.code}, expected failed HostileError/HOSTILE`);
    const sizes = [Buffer.byteLength(e.error ?? ''), ...e.failedPayloads];
    if (sizes.some((n) => n > PAYLOAD_LIMIT)) violations.push(`${e.id}: stored error of ${Math.max(...sizes)} bytes, over the ${PAYLOAD_LIMIT}-byte limit`);
  }
  return {
    name: 'hostile input: typed rejection without writes, or exact round-trip; huge errors bounded',
    ok: violations.length === 0,
    counts: { inputs: results.length, rejected: results.filter((r) => r.outcome === 'rejected').length, accepted: results.filter((r) => r.outcome === 'accepted').length, huge_errors: errorRows.length },
    violations: violations.slice(0, 20),
  };
}

/** The huge-error executions' rows, for `checkHostile`. */
export async function loadHostileErrors(db: Database, runs: readonly HostileErrorRun[]): Promise<{ id: string; status: string; error: string | null; failedPayloads: number[] }[]> {
  const out = [];
  for (const r of runs) {
    const [row] = await db.sql.all<{ status: string; error: string | null }>('SELECT status, error FROM workflow_executions WHERE id = ?', [r.id]);
    const ev = await db.sql.all<{ n: unknown }>("SELECT LENGTH(payload) AS n FROM workflow_events WHERE execution_id = ? AND status = 'failed'", [r.id]);
    out.push({ id: r.id, status: row?.status ?? 'missing', error: row?.error ?? null, failedPayloads: ev.map((e) => Number(e.n)) });
  }
  return out;
}
