/**
 * Parse Prometheus exposition text into samples keyed by `name{label="v",…}` with the labels
 * sorted, so a test can read one value whatever order the client printed the labels in.
 */

/** Samples of one scrape. */
export type Samples = Map<string, number>;

/** The canonical key of a sample. */
export function sampleKey(name: string, labels: Record<string, string> = {}): string {
  const parts = Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

/** Parse exposition text. */
export function parseProm(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.set(sampleKey(m[1], labels), Number(m[3]));
  }
  return out;
}

/** The value of a sample (0 when absent). */
export function sample(s: Samples, name: string, labels: Record<string, string> = {}): number {
  return s.get(sampleKey(name, labels)) ?? 0;
}
