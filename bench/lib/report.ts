/**
 * The bench's result: the JSON shape printed on stdout, the targets checked against it, and
 * the readable table written to stderr. Pure formatting: it never measures anything.
 */
import type { LimitResult } from '../limit';
import type { FailoverResult } from './failover';
import type { IdleResult } from './idle';
import type { LatencyResult } from './latency';
import type { MemoryResult } from './memory';
import type { ScaleResult } from './scale';
import type { ClaimResult, ScalingResult } from './scaling';
import type { ProfileSummary } from './profile';
import { verdict, type TargetCheck } from './stats';
import type { WorkloadResult } from './workload';
import type { PrioritizedResult, RateLimitedResult } from './flow-workloads';

/** The template workload adds a serialization check. */
export type TemplateResult = WorkloadResult & { keys: number; limit: number; overlapping_pairs: number };

/** Everything one run measured (null/absent: section not run or failed; see `errors`). */
export interface BenchResult {
  started_at: string;
  duration_s: number;
  db: string;
  server: string | null;
  quick: boolean;
  config: Record<string, number | string | boolean>;
  /** Main workload's steps/s (W × S through R runner processes). */
  steps_per_s: number | null;
  limit_steps_per_s: number | null;
  /** steps_per_s / limit_steps_per_s. */
  ratio: number | null;
  workflows_per_s: number | null;
  /** Median kill -9 → first survivor commit, lease TTL 3 s. */
  failover_ms: number | null;
  /** Idle statements per second per runner (4 idle runners; counted in the runners, server figure in idle). */
  idle_queries_per_s: number | null;
  limit: LimitResult | null;
  workloads: {
    steps?: WorkloadResult; one_step?: WorkloadResult; sleep?: WorkloadResult; template?: TemplateResult;
    rate_limited?: RateLimitedResult; priority?: PrioritizedResult;
  };
  /** cross_process_sparse: one submit every 1.5 s (runners backed off to their poll interval: the doorbell's case). */
  latency: { in_process?: LatencyResult; cross_process?: LatencyResult; cross_process_sparse?: LatencyResult };
  idle: IdleResult | null;
  failover: { ttl_3s?: FailoverResult; ttl_default?: FailoverResult };
  memory: MemoryResult | null;
  scale: ScaleResult | null;
  /** The main workload through 1, 2, 4 runner processes. */
  runner_scaling: ScalingResult | null;
  /** Claim latency with a deep queue. */
  claim: ClaimResult | null;
  /** Top self-time functions of the fleet's CPU profiles (--profile). */
  profile: (ProfileSummary & { dir: string; windows_us: [number, number][] }) | null;
  targets: (TargetCheck & { verdict: string })[];
  errors: { section: string; message: string }[];
  machine: { cpus: number; loadavg_start: number[]; loadavg_end: number[] };
  notes: string[];
}

/** The targets, from the figures (SKIP when a figure is missing). */
export function targets(r: BenchResult, pollIntervalMs: number): (TargetCheck & { verdict: string })[] {
  const list: TargetCheck[] = [
    { name: 'default workload workflows/s', value: r.workflows_per_s, kind: 'min', bound: 1000, unit: 'wf/s' },
    { name: 'CPU per committed step (runners + mariadbd)', value: r.workloads.steps?.cpu.total_us_per_step ?? null, kind: 'max', bound: 300, unit: 'µs' },
    { name: 'steps/s vs raw limit', value: r.ratio, kind: 'min', bound: 0.6, unit: '×' },
    { name: 'submit→first-step p50, in-process', value: r.latency.in_process?.first_step_ms.p50 ?? null, kind: 'max', bound: 20, unit: 'ms' },
    { name: 'submit→first-step p50, across processes', value: r.latency.cross_process?.first_step_ms.p50 ?? null, kind: 'max', bound: Math.min(20, pollIntervalMs), unit: 'ms' },
    { name: 'submit→first-step p50, across processes, one submit per 1.5 s', value: r.latency.cross_process_sparse?.first_step_ms.p50 ?? null, kind: 'max', bound: 20, unit: 'ms' },
    { name: 'failover (TTL 3 s) ≤ TTL + poll + 1 s', value: r.failover.ttl_3s?.median_ms ?? null, kind: 'max', bound: r.failover.ttl_3s?.bound_ms ?? 4500, unit: 'ms' },
  ];
  if (r.workloads.template && r.workloads.one_step) {
    // Issue 13: template-serialized work at least half the unserialized figure of the same run.
    const t = r.workloads.template.workflows_per_s;
    const u = r.workloads.one_step.workflows_per_s;
    list.push({ name: 'template-serialized wf/s vs one-step (unserialized)', value: t === null || !u ? null : t / u, kind: 'min', bound: 0.5, unit: '×' });
  }
  if (r.workloads.rate_limited) {
    list.push({ name: 'rate limit: most starts of one key in any 1 s (limit + 1)', value: r.workloads.rate_limited.worst_key_1s_window,
      kind: 'max', bound: r.workloads.rate_limited.limit_per_key_per_s + 1, unit: 'starts' });
  }
  if (r.failover.ttl_default) {
    list.push({ name: 'failover (TTL 15 s) ≤ TTL + poll + 1 s', value: r.failover.ttl_default.median_ms, kind: 'max', bound: r.failover.ttl_default.bound_ms, unit: 'ms' });
  }
  list.push(
    { name: `${r.scale ? r.scale.large.finished_executions : '1M'}/10k finished: steps/s slowdown`, value: r.scale?.slowdown ?? null, kind: 'max', bound: 1.3, unit: '×' },
    { name: 'runners 1→2→4 (each C slots): throughput never falls (min next/previous)', value: r.runner_scaling?.min_step_ratio ?? null, kind: 'min', bound: 0.95, unit: '×' },
    { name: `claim p99 with ${r.claim?.queued ?? 10000} queued`, value: r.claim?.claim_ms.p99 ?? null, kind: 'max', bound: 50, unit: 'ms' },
    { name: 'idle queries/s per runner', value: r.idle_queries_per_s, kind: 'max', bound: 5, unit: 'q/s' },
    { name: `runner RSS with ${r.memory?.waiting ?? 1000} waiting executions`, value: r.memory?.peak_rss_mb ?? null, kind: 'max', bound: 200, unit: 'MB' },
  );
  return list.map((t) => ({ ...t, verdict: verdict(t) }));
}

const f = (v: number | null | undefined, unit = ''): string => (v === null || v === undefined ? '—' : `${v}${unit}`);

function workloadLines(label: string, w: WorkloadResult): string[] {
  const ps = w.per_step;
  const pw = w.per_workflow;
  const perStep = w.steps_per_workflow > 0
    ? `per step: ${f(ps.Questions)} statements, ${f(ps.Handler_commit)} handler commits, ${f(ps.Innodb_log_writes)} log writes`
    : '';
  return [
    `${label.padEnd(10)} ${w.completed}/${w.executions} wf × ${w.steps_per_workflow} steps in ${f(w.elapsed_ms, ' ms')}: ` +
      `${f(w.workflows_per_s)} wf/s, ${f(w.steps_per_s)} steps/s${w.failed ? `, ${w.failed} NOT COMPLETED` : ''}`,
    `${''.padEnd(10)} complete p50/p99 ${f(w.complete_ms.p50)}/${f(w.complete_ms.p99)} ms (backlog); submit ${w.submit_ms} ms`,
    `${''.padEnd(10)} exact statements: runners ${f(w.statements.runners_per_workflow)}/wf` +
      `${w.steps_per_workflow > 0 ? ` (${f(w.statements.runners_per_step)}/step)` : ''}, submit ${f(w.statements.submit_per_workflow)}/wf, total ${f(w.statements.total_per_step)}/step; ` +
      `commits ${f(w.statements.commits_per_step)}/step (runners ${f(w.statements.runner_commits_per_step)})`,
    `${''.padEnd(10)} server: ${perStep}${perStep ? '; ' : ''}per workflow: ${f(pw.Questions)} statements, ${f(pw.Handler_commit)} handler commits`,
    `${''.padEnd(10)} CPU (% of one core): runners ${f(w.cpu.runners_pct)}, mariadbd ${f(w.cpu.server_pct)}, bench ${f(w.cpu.bench_pct)}, ` +
      `other processes ${f(w.cpu.others_pct)}${(w.cpu.others_pct ?? 0) > 20 ? ' (BUSY MACHINE: unreliable)' : ''}; ` +
      `CPU µs/step runners ${f(w.cpu.runner_us_per_step)} + mariadbd ${f(w.cpu.server_us_per_step)} = ${f(w.cpu.total_us_per_step)}; runner peak RSS ${f(w.runner_peak_rss_mb, ' MB')}`,
    ...Object.entries(w.runner_statement_kinds_per_workflow ?? {}).slice(0, 12).map(([k, v]) => `${''.padEnd(10)} sql/wf ${String(v).padStart(6)}  ${k}`),
  ];
}

function latencyLine(label: string, l: LatencyResult): string {
  return `${label.padEnd(10)} ${l.samples} wf × ${l.steps_per_workflow} steps at ${l.rate_per_s}/s: first step p50/p99 ${f(l.first_step_ms.p50)}/${f(l.first_step_ms.p99)} ms, ` +
    `complete p50/p99 ${f(l.complete_ms.p50)}/${f(l.complete_ms.p99)} ms`;
}

/** The readable report (stderr). */
export function formatReport(r: BenchResult): string {
  const out: string[] = [];
  out.push(`leaseflow bench — ${r.db} (${r.server ?? '?'}), ${r.config.runners} runners × ${r.config.per_runner_concurrency} (C=${r.config.concurrency})` +
    `${r.quick ? ', QUICK' : ''}, ${r.duration_s} s, load ${r.machine.loadavg_start.join(' ')} → ${r.machine.loadavg_end.join(' ')}`);
  if (r.limit) out.push(`${'limit'.padEnd(10)} insert event + update row, one commit, ${r.limit.concurrency} clients: ${f(r.limit.steps_per_s)} txn/s (${f(r.limit.per_txn.Questions)} statements/txn)`);
  const w = r.workloads;
  if (w.steps) out.push(...workloadLines('steps', w.steps), `${''.padEnd(10)} ratio to limit: ${f(r.ratio)}`);
  if (w.one_step) out.push(...workloadLines('one-step', w.one_step));
  if (w.sleep) out.push(...workloadLines('sleep', w.sleep));
  if (w.template) out.push(...workloadLines('template', w.template), `${''.padEnd(10)} ${w.template.keys} keys, limit ${w.template.limit}: ${w.template.overlapping_pairs} overlapping runs of one key`);
  if (w.rate_limited) {
    out.push(...workloadLines('rate-lim', w.rate_limited), `${''.padEnd(10)} ${w.rate_limited.keys} keys × ${w.rate_limited.limit_per_key_per_s}/s ` +
      `(${w.rate_limited.allowed_per_s}/s allowed): most starts of one key in any 1 s: ${w.rate_limited.worst_key_1s_window}`);
  }
  if (w.priority) {
    out.push(...workloadLines('priority', w.priority), `${''.padEnd(10)} complete p50 by priority: ` +
      Object.entries(w.priority.complete_ms_by_priority).sort(([a], [b]) => Number(b) - Number(a)).map(([p, s]) => `${p}: ${f(s.p50, ' ms')}`).join(', '));
  }
  if (r.latency.in_process) out.push(latencyLine('in-proc', r.latency.in_process));
  if (r.latency.cross_process) out.push(latencyLine('x-proc', r.latency.cross_process));
  if (r.latency.cross_process_sparse) out.push(latencyLine('x-sparse', r.latency.cross_process_sparse));
  if (r.idle) {
    out.push(`${'idle'.padEnd(10)} ${r.idle.runners} idle runners: ${f(r.idle.per_runner_client_qps)} statements/s each (counted in the runners); ` +
      `server view ${f(r.idle.per_runner_qps)}/s each (${f(r.idle.with_runners_qps)}/s with them, baseline ${r.idle.baseline_qps.map((v) => f(v)).join(' / ')}/s)`);
  }
  for (const [k, v] of Object.entries(r.failover)) {
    if (v) out.push(`${'failover'.padEnd(10)} TTL ${v.lease_ttl_ms} ms: median ${f(v.median_ms, ' ms')} (trials ${v.trials_ms.map((x) => f(x)).join(', ')}; bound ${v.bound_ms} ms) [${k}]`);
  }
  if (r.memory) {
    out.push(`${'memory'.padEnd(10)} ${r.memory.waiting} waiting: RSS ${f(r.memory.rss_mb, ' MB')}, peak ${f(r.memory.peak_rss_mb, ' MB')} ` +
      `(at start ${f(r.memory.rss_at_start_mb, ' MB')}; after completing them ${f(r.memory.peak_rss_after_completion_mb, ' MB')}; ` +
      `V8 heap retained ${f(r.memory.heap_at_start_mb)} → ${f(r.memory.heap_used_mb)} → ${f(r.memory.heap_used_after_completion_mb, ' MB')}) ` +
      `(${f(r.memory.leases_held_while_waiting)} leases held; ${r.memory.completed_after_signal} completed after signal)`,
      `${''.padEnd(10)} heap retained per finished execution: ${f(r.memory.retained_kb_per_execution, ' KB')}` +
      `${(r.memory.retained_kb_per_execution ?? 0) > 2 ? ' (GROWS WITH EXECUTIONS: a leak)' : ''}`);
  }
  if (r.scale) {
    for (const p of [r.scale.small, r.scale.large]) {
      out.push(`${'scale'.padEnd(10)} ${p.finished_executions} finished (seeded in ${p.seed_ms} ms): claim p50/p99 ${f(p.claim_ms.p50)}/${f(p.claim_ms.p99)} ms, ` +
        `idle poll p50 ${f(p.idle_poll_ms.p50)} ms, ${f(p.workload.steps_per_s)} steps/s`);
    }
    out.push(`${''.padEnd(10)} slowdown ${f(r.scale.slowdown)}×, claim p50 ratio ${f(r.scale.claim_p50_ratio)}×, CPU/step ratio runners ` +
      `${f(r.scale.runner_cpu_per_step_ratio)}× mariadbd ${f(r.scale.server_cpu_per_step_ratio)}×; buffer pool disk reads/step ` +
      `${f(r.scale.small.workload.per_step.Innodb_buffer_pool_reads)} → ${f(r.scale.large.workload.per_step.Innodb_buffer_pool_reads)}`);
  }
  if (r.runner_scaling) {
    const line = (points: ScalingResult['points']) => points.map((p) => `${p.runners}×${p.per_runner_concurrency}: ${f(p.workflows_per_s)} wf/s (${f(p.total_us_per_step)} µs, ${f(p.statements_per_step)} statements/step)`).join(', ');
    out.push(`${'runners'.padEnd(10)} scale-out ${line(r.runner_scaling.points)}; min next/previous ${f(r.runner_scaling.min_step_ratio)}×`);
    out.push(`${''.padEnd(10)} C split  ${line(r.runner_scaling.split)}; min next/previous ${f(r.runner_scaling.split_min_step_ratio)}×`);
  }
  if (r.claim) {
    out.push(`${'claim'.padEnd(10)} ${r.claim.queued} queued: ${r.claim.claims} claims of ${r.claim.per_claim}, p50/p99 ${f(r.claim.claim_ms.p50)}/${f(r.claim.claim_ms.p99)} ms`);
  }
  for (const e of r.errors) out.push(`ERROR     [${e.section}] ${e.message}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  out.push('');
  for (const t of r.targets) out.push(`${t.verdict.padEnd(5)} ${t.name}: ${f(t.value === null ? null : Math.round(t.value * 1000) / 1000)} ${t.unit} (${t.kind === 'min' ? '≥' : '≤'} ${t.bound})`);
  return `${out.join('\n')}\n`;
}
