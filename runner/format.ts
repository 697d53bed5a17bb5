/**
 * Plain-text formatting for the command line: aligned tables, ages and countdowns, JSON
 * previews cut to a width. Pure: strings in, strings out.
 */

/** Cut `text` to `max` characters (an ellipsis marks the cut); newlines become spaces. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  const chars = [...flat];
  return chars.length <= max ? flat : `${chars.slice(0, Math.max(1, max - 1)).join('')}…`;
}

/** A value as one line of JSON (undefined → '—'), cut to `max`. */
export function preview(value: unknown, max = 60): string {
  if (value === undefined || value === null) return '—';
  let text: string;
  try { text = JSON.stringify(value) ?? String(value); } catch { text = String(value); }
  return truncate(text, max);
}

/** Render rows under headers, columns padded to their widest cell (each cell cut to `maxCell`). */
export function table(headers: string[], rows: string[][], maxCell = 60): string {
  const cells = [headers, ...rows].map((r) => r.map((c) => truncate(c, maxCell)));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => [...(r[i] ?? '')].length)));
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i] - [...c].length))).join('  ').trimEnd())
    .join('\n');
}

/** 1234 → '1.2s', 61000 → '1m01s', 3_700_000 → '1h01m'. */
export function shortDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)}ms`;
  if (abs < 60_000) return `${(abs / 1000).toFixed(1)}s`;
  if (abs < 3_600_000) return `${Math.floor(abs / 60_000)}m${String(Math.floor((abs % 60_000) / 1000)).padStart(2, '0')}s`;
  if (abs < 86_400_000) return `${Math.floor(abs / 3_600_000)}h${String(Math.floor((abs % 3_600_000) / 60_000)).padStart(2, '0')}m`;
  return `${Math.floor(abs / 86_400_000)}d${String(Math.floor((abs % 86_400_000) / 3_600_000)).padStart(2, '0')}h`;
}

/** How long ago `then` was, seen from `now`: '3.2s ago' (or 'in 1.0s' when in the future). */
export function age(then: Date | null | undefined, now: Date): string {
  if (!then) return '—';
  const d = now.getTime() - then.getTime();
  return d >= 0 ? `${shortDuration(d)} ago` : `in ${shortDuration(d)}`;
}

/** How long until `then`, seen from `now`: 'in 2.1s' (or 'expired 1.0s ago'). */
export function countdown(then: Date | null | undefined, now: Date): string {
  if (!then) return '—';
  const d = then.getTime() - now.getTime();
  return d >= 0 ? `in ${shortDuration(d)}` : `expired ${shortDuration(d)} ago`;
}

/** An instant as `YYYY-MM-DD HH:MM:SS.mmm` (UTC). */
export function timestamp(d: Date | null | undefined): string {
  return d ? d.toISOString().replace('T', ' ').replace('Z', '') : '—';
}

/** Key/value lines with aligned keys. */
export function fields(pairs: [string, string][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
