/**
 * The chaos run's printed report: one line per invariant with its counts (and its violations
 * under it), the faults that fired, what the runners logged about leases, and the verdict with
 * the command that replays the seed. Pure formatting.
 */
import type { CheckResult } from './checker';
import type { FaultRecord } from './injector';

/** One line per invariant, violations indented under it. */
export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines: string[] = [];
  for (const r of results) {
    const counts = Object.entries(r.counts).map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(width)}  ${counts}`);
    for (const v of r.violations) lines.push(`        ✗ ${v}`);
    if (r.note) lines.push(`        note: ${r.note}`);
  }
  return lines.join('\n');
}

/** Faults by kind, e.g. `kill9=3 sigstop=4`. */
export function faultSummary(records: readonly FaultRecord[]): string {
  const by = new Map<string, number>();
  for (const r of records) {
    if (r.detail.startsWith('skipped')) continue;
    if (r.kind === 'db-restart' && r.detail === 'shutting down') continue;
    by.set(r.kind, (by.get(r.kind) ?? 0) + 1);
  }
  return [...by.entries()].map(([k, n]) => `${k}=${n}`).join(' ') || 'none';
}

/** Merge per-process message counts. */
export function mergeCounts(all: readonly Map<string, number>[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of all) for (const [k, n] of m) out.set(k, (out.get(k) ?? 0) + n);
  return out;
}

/** The runner log lines that tell the story of the faults (lease losses, dead peers, retries). */
export function runnerLogSummary(counts: Map<string, number>): string {
  const interesting = [...counts.entries()].filter(([k]) => /lease lost|presumed dead|failed|handed back|could not|requeued|forcing|error/i.test(k));
  interesting.sort((a, b) => b[1] - a[1]);
  return interesting.map(([k, n]) => `    ${String(n).padStart(5)}  ${k}`).join('\n') || '    (none)';
}
