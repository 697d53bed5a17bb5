/**
 * How the dev demo looks: the live screen (a TTY redraws it in place every ~500 ms), the plain
 * progress line (logs, CI), and the closing summary. Pure: a view model in, lines out.
 */
import { shortDuration, truncate } from '../format';

/** One replica as shown. */
export interface ReplicaView {
  index: number;
  pid: number;
  runnerId?: string;
  /** live / draining / stopped / presumed-dead / KILLED … */
  state: string;
  /** Executions it holds a lease on now (labels). */
  holding: string[];
  /** Executions of this run it finished (completed, failed or cancelled). */
  finished: number;
}

/** Everything the live views show. */
export interface DemoView {
  header: string;
  elapsedMs: number;
  submitted: number;
  totalStarts: number;
  expectedRows: number;
  /** Executions of this run by status. */
  counts: Record<string, number>;
  replicas: ReplicaView[];
  events: { atMs: number; text: string }[];
}

const at = (ms: number) => `${(ms / 1000).toFixed(1)}s`.padStart(6);

function totals(v: DemoView) {
  const c = (s: string) => v.counts[s] ?? 0;
  const done = c('completed') + c('failed') + c('cancelled');
  return { done, completed: c('completed'), failed: c('failed'), cancelled: c('cancelled'), running: c('running'), waiting: c('waiting'), queued: c('queued') };
}

function bar(done: number, total: number, width: number): string {
  const filled = total === 0 ? 0 : Math.min(width, Math.round((done / total) * width));
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

/** The live screen, each line cut to `width` columns. */
export function renderScreen(v: DemoView, width: number, maxEvents = 8): string[] {
  const t = totals(v);
  const lines = [
    `${v.header}   ${at(v.elapsedMs).trim()}`,
    `submitted ${v.submitted}/${v.totalStarts} executions; ${v.expectedRows} in all with children`,
    `${bar(t.done, v.expectedRows, 40)} ${t.done}/${v.expectedRows} finished`,
    `done ${t.done} (completed ${t.completed} · failed ${t.failed} · cancelled ${t.cancelled})   running ${t.running}   waiting ${t.waiting}   queued ${t.queued}`,
    '',
    `${'replica'.padEnd(8)}${'pid'.padEnd(8)}${'runner id'.padEnd(28)}${'state'.padEnd(16)}${'finished'.padEnd(10)}holding now`,
    ...v.replicas.map((r) => `${`r${r.index}`.padEnd(8)}${String(r.pid).padEnd(8)}${(r.runnerId ?? 'starting…').padEnd(28)}${r.state.padEnd(16)}` +
      `${String(r.finished).padEnd(10)}${r.holding.length ? `${r.holding.length}: ${r.holding.join(', ')}` : '—'}`),
    '',
    'events',
    ...(v.events.length ? v.events.slice(-maxEvents).map((e) => `${at(e.atMs)}  ${e.text}`) : ['     —']),
  ];
  return lines.map((l) => truncate(l, Math.max(20, width - 1)));
}

/** One progress line for a non-TTY. */
export function renderLine(v: DemoView): string {
  const t = totals(v);
  const reps = v.replicas.map((r) => `r${r.index} ${r.state === 'live' ? '' : `${r.state} `}holds ${r.holding.length}/done ${r.finished}`).join(' · ');
  return `${at(v.elapsedMs)}  finished ${t.done}/${v.expectedRows} (completed ${t.completed}, failed ${t.failed}, cancelled ${t.cancelled}) · ` +
    `running ${t.running} · waiting ${t.waiting} · queued ${t.queued} · submitted ${v.submitted}/${v.totalStarts} | ${reps}`;
}

/** What the summary reports. */
export interface DemoSummary {
  dbUrl: string;
  elapsedMs: number;
  expectedRows: number;
  counts: Record<string, number>;
  /** Per workflow: status → count. */
  byWorkflow: Record<string, Record<string, number>>;
  /** Notes per workflow (e.g. approval outcomes). */
  notes: Record<string, string>;
  /** Executions that ended otherwise than designed, or never finished. */
  unexpected: string[];
  takeover: {
    replica: number;
    atMs: number;
    orphans: number;
    resumed: number;
    releasedAfterMs?: number;
    releasedBy?: number;
    firstResumedAfterMs?: number;
    allResumedAfterMs?: number;
    resumedOn: number[];
    leaseTtl: string;
  } | null;
  replicas: { index: number; finished: number; killed: boolean; stop: string }[];
  logsDir: string;
}

/** The closing summary, ending with one machine-readable RESULT line. */
export function renderSummary(s: DemoSummary): string[] {
  const c = (st: string) => s.counts[st] ?? 0;
  const finished = c('completed') + c('failed') + c('cancelled');
  const total = Object.values(s.counts).reduce((a, b) => a + b, 0);
  const lost = Math.max(0, s.expectedRows - finished);
  const verdict = s.unexpected.length === 0 && lost === 0 ? 'all as designed, none lost' : `${s.unexpected.length} not as designed, ${lost} unfinished or missing`;
  const lines = [
    '',
    `summary — ${s.dbUrl}`,
    `  executions  ${finished} of ${s.expectedRows} finished in ${shortDuration(s.elapsedMs)}: completed ${c('completed')} · failed ${c('failed')} · cancelled ${c('cancelled')} — ${verdict}`,
  ];
  for (const [wf, byStatus] of Object.entries(s.byWorkflow).sort()) {
    const n = Object.values(byStatus).reduce((a, b) => a + b, 0);
    const parts = Object.entries(byStatus).sort().map(([st, k]) => `${k} ${st}`).join(', ');
    lines.push(`    ${wf.padEnd(13)} ${String(n).padStart(3)}: ${parts}${s.notes[wf] ? ` — ${s.notes[wf]}` : ''}`);
  }
  for (const u of s.unexpected.slice(0, 10)) lines.push(`    ✖ ${u}`);
  const tk = s.takeover;
  if (!tk) {
    lines.push('  takeover    no replica was killed');
  } else if (tk.orphans === 0) {
    lines.push(`  takeover    r${tk.replica} was killed at ${shortDuration(tk.atMs)} but held no leases at that instant: nothing to take over`);
  } else {
    const released = tk.releasedAfterMs === undefined ? '' : `; its leases expired and ${tk.releasedBy ? `r${tk.releasedBy}'s` : 'a'} watchdog released them ${shortDuration(tk.releasedAfterMs)} after the kill`;
    const resumed = tk.resumed === tk.orphans
      ? `all ${tk.orphans} resumed on ${tk.resumedOn.map((r) => `r${r}`).join(', ') || 'the other replicas'} within ${shortDuration(tk.allResumedAfterMs ?? 0)} (lease TTL ${tk.leaseTtl})`
      : `${tk.resumed} of ${tk.orphans} resumed`;
    lines.push(`  takeover    r${tk.replica} killed (SIGKILL) at ${shortDuration(tk.atMs)} holding ${tk.orphans} execution${tk.orphans === 1 ? '' : 's'}${released}; ${resumed}`);
  }
  lines.push(`  replicas    ${s.replicas.map((r) => `r${r.index}: ${r.finished} finished${r.killed ? ', then killed' : ''}`).join(' · ')}`);
  lines.push(`  shutdown    ${s.replicas.filter((r) => !r.killed).map((r) => `r${r.index} ${r.stop}`).join(' · ')}`);
  lines.push(`  logs        ${s.logsDir}/replica-N.log (pino JSON; the runner logs at debug level)`);
  lines.push(`RESULT ${s.unexpected.length === 0 && lost === 0 ? 'ok' : 'FAILED'} executions=${s.expectedRows} seen=${total} finished=${finished} lost=${lost} ` +
    `unexpected=${s.unexpected.length} orphaned=${tk?.orphans ?? 0} resumed=${tk?.resumed ?? 0} takeover_ms=${tk?.allResumedAfterMs ?? -1}`);
  return lines;
}
