/**
 * `--profile`: runner processes run with `node --cpu-prof --cpu-prof-dir DIR` and write one
 * `.cpuprofile` each when they exit; this summarises them: self time per function (and per
 * module: a package under node_modules, an engine file, node internals, GC), over the samples
 * taken inside the measured windows only. V8 stamps samples with the monotonic clock
 * (CLOCK_MONOTONIC, µs), the same clock as `process.hrtime`, so the bench marks its windows
 * with `monoUs()` and start-up (tsx compiling the sources, migrations) is left out.
 * Pure apart from reading the files; `summariseProfiles` is exported for the unit tests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The parts of a V8 `.cpuprofile` this reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** One row of the summary. */
export interface ProfileRow {
  name: string;
  self_ms: number;
  /** Share of all sampled time in the windows (idle excluded), %. */
  pct: number;
}

/** The summary of one or more profiles. */
export interface ProfileSummary {
  files: number;
  /** Sampled busy time inside the windows (all profiles), ms. */
  busy_ms: number;
  /** Sampled idle time inside the windows, ms. */
  idle_ms: number;
  top_functions: ProfileRow[];
  by_module: ProfileRow[];
}

/** The monotonic clock in µs (the clock of `.cpuprofile` timestamps). */
export function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Where a function lives: a package, an engine/bench/runner file, node internals or V8 itself. */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const m = /\/(engine|runner|bench|workflows|testing)\/(.*)$/.exec(url.replace(/^file:\/\//, ''));
  return m ? `${m[1]}/${m[2]}` : url.replace(/^file:\/\//, '');
}

function label(f: CpuProfile['nodes'][number]['callFrame']): string {
  const fn = f.functionName || '(anonymous)';
  if (!f.url) return fn;
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/(engine|runner|bench|workflows)\//, '$1/');
  return `${fn} ${file}:${f.lineNumber + 1}`;
}

/**
 * Self time per function and per module over the samples inside `windows` ([fromUs, toUs] on
 * the monotonic clock; all samples when empty). Time of a sample = the delta to the next one.
 */
export function summariseProfiles(profiles: readonly CpuProfile[], windows: readonly [number, number][] = [], top = 25): ProfileSummary {
  const byFn = new Map<string, number>();
  const byMod = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    let t = p.startTime;
    for (let i = 0; i < samples.length; i++) {
      t += deltas[i] ?? 0;
      if (windows.length && !windows.some(([a, b]) => t >= a && t <= b)) continue;
      const dt = (deltas[i + 1] ?? 0) / 1000;
      const node = nodes.get(samples[i]);
      if (!node || dt <= 0) continue;
      const f = node.callFrame;
      if (f.functionName === '(idle)') { idle += dt; continue; }
      busy += dt;
      const l = label(f);
      byFn.set(l, (byFn.get(l) ?? 0) + dt);
      const m = moduleOf(f.url, f.functionName);
      byMod.set(m, (byMod.get(m) ?? 0) + dt);
    }
  }
  const rows = (m: Map<string, number>, n: number): ProfileRow[] => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([name, ms]) => ({ name, self_ms: Math.round(ms * 10) / 10, pct: busy > 0 ? Math.round((ms / busy) * 1000) / 10 : 0 }));
  return {
    files: profiles.length, busy_ms: Math.round(busy), idle_ms: Math.round(idle),
    top_functions: rows(byFn, top), by_module: rows(byMod, 15),
  };
}

/** Read every `.cpuprofile` in `dir` and summarise them. */
export function summariseProfileDir(dir: string, windows: readonly [number, number][] = [], top = 25): ProfileSummary {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const profiles = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
  return summariseProfiles(profiles, windows, top);
}

/** The readable summary (stderr). */
export function formatProfile(s: ProfileSummary, dir: string): string {
  const out = [`profile   ${s.files} runner profiles in ${dir}: ${s.busy_ms} ms busy, ${s.idle_ms} ms idle inside the measured windows`];
  out.push('  by module (self time):');
  for (const r of s.by_module) out.push(`    ${String(r.pct).padStart(5)} %  ${String(r.self_ms).padStart(8)} ms  ${r.name}`);
  out.push('  top functions (self time):');
  for (const r of s.top_functions) out.push(`    ${String(r.pct).padStart(5)} %  ${String(r.self_ms).padStart(8)} ms  ${r.name}`);
  return `${out.join('\n')}\n`;
}

if (require.main === module) {
  // npx tsx bench/lib/profile.ts DIR — summarise a directory of .cpuprofile files (whole runs).
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: npx tsx bench/lib/profile.ts DIR [top]\n');
    process.exitCode = 2;
  } else {
    process.stdout.write(formatProfile(summariseProfileDir(dir, [], Number(process.argv[3] ?? 25)), dir));
  }
}
