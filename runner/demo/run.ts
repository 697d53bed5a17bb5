/**
 * The dev demo (`npm start`, `leaseflow dev`): migrate the store, fork runner replicas, submit
 * the example workflows on a schedule, signal and cancel some partway, SIGKILL one replica and
 * watch the others take over its executions after the lease TTL, then stop the rest with
 * SIGTERM and print a summary. Bounded by a global timeout; Ctrl-C stops every child.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createClient, DEFAULT_DB_URL, DistributedLockManager, openDatabase, type Client, type Database, type ExecutionSummary } from '../../engine';
import { dbNow, findExecution } from '../../engine/store/executions';
import { listRunners } from '../../engine/store/runners';
import type { Io } from '../commands/command';
import { startReplicas, stopReplicas, type Replica } from '../replicas';
import { buildPlan, type DemoPlan, type PlannedStart } from './plan';
import { parseReplicaLine } from './replica-log';
import { renderLine, renderScreen, renderSummary, type DemoSummary, type DemoView } from './render';

/** Options of `runDemo`. */
export interface DemoOptions {
  dbUrl: string;
  /** Create the store when missing (always for the embedded default). */
  create?: boolean;
  quick: boolean;
  /** @default 3 */
  replicas: number;
  /** @default the plan's (60 s quick, 120 s full) */
  timeoutMs?: number;
  /** Where the replicas' logs go. @default ./.leaseflow/logs */
  logsDir?: string;
}

const EXECUTION_PREFIX = 'workflow_execution:';
const FINISHED = ['completed', 'failed', 'cancelled'];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** An orphan of the killed replica, followed until a survivor resumes it. */
interface Orphan { id: string; token: number; releasedAtMs?: number; resumedAtMs?: number; by?: number }

interface Kill { replica: Replica; runnerId: string; atMs: number; orphans: Orphan[]; releasedAtMs?: number; releasedBy?: number }

class Interrupted extends Error {}

/** Run the demo; resolves to the exit code. */
export async function runDemo(opts: DemoOptions, io: Io): Promise<number> {
  const prefix = `dev-${randomUUID().slice(0, 6)}-`;
  const plan = buildPlan(prefix, opts.quick);
  const timeoutMs = opts.timeoutMs ?? plan.timeoutMs;
  const logsDir = opts.logsDir ?? join('.leaseflow', 'logs');
  const label = (id: string) => (id.startsWith(prefix) ? id.slice(prefix.length) : id);
  const events: { atMs: number; text: string }[] = [];
  let t0 = Date.now();
  const event = (text: string, atMs = Date.now() - t0) => {
    events.push({ atMs, text });
    if (!io.isTTY) io.out(`${`${(atMs / 1000).toFixed(1)}s`.padStart(6)}  ${text}\n`);
  };

  // The demo creates the embedded default store; any other URL must exist, or be asked for (--create).
  const db = await openDatabase(opts.dbUrl, { createDatabase: opts.create === true || opts.dbUrl === DEFAULT_DB_URL });
  let client: Client | undefined;
  let replicas: Replica[] = [];
  const logs: WriteStream[] = [];
  let interrupted: NodeJS.Signals | undefined;
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) { for (const r of replicas) if (!r.hasExited) r.child.kill('SIGKILL'); return; }
    interrupted = sig;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let lastHeight = 0;
  const draw = (view: DemoView) => {
    if (!io.isTTY) return;
    const lines = renderScreen(view, process.stdout.columns || 120);
    io.out(`${lastHeight ? `\x1b[${lastHeight}F\x1b[J` : ''}${lines.join('\n')}\n`);
    lastHeight = lines.length;
  };

  try {
    await db.migrate();
    client = await createClient({ db });
    const locks = new DistributedLockManager(db);
    const since = new Date((await dbNow(db.sql, db.sql)).getTime() - 1000);
    mkdirSync(logsDir, { recursive: true });
    const header = `leaseflow dev — ${opts.replicas} replicas · ${db.url} · lease TTL ${plan.leaseTtl} · poll ${plan.pollInterval}`;
    if (!io.isTTY) io.out(`${header}\n`);
    io.out(`${io.isTTY ? '\x1b[?25l' : ''}starting ${opts.replicas} runner replicas serving ./workflows …\n`);

    const finishedBy = new Map<number, number>();
    /** Which replica logged the end of an execution (to name who resumed an orphan that ended between two looks). */
    const finisher = new Map<string, number>();
    let kill: Kill | undefined;
    for (let i = 1; i <= opts.replicas; i++) logs.push(createWriteStream(join(logsDir, `replica-${i}.log`)));
    replicas = startReplicas({
      count: opts.replicas,
      env: {
        ...io.env, LEASEFLOW_DB_URL: opts.dbUrl, LEASEFLOW_WORKFLOWS: resolve(__dirname, '..', '..', 'workflows'),
        LEASEFLOW_CONCURRENCY: String(plan.concurrency), LEASEFLOW_LEASE_TTL: String(plan.leaseTtl),
        LEASEFLOW_POLL_INTERVAL: String(plan.pollInterval), LEASEFLOW_DRAIN_TIMEOUT: '5s', LOG_LEVEL: 'debug',
      },
      onLine: (r, stream, line) => {
        logs[r.index - 1]?.write(`${stream === 'stderr' ? '[stderr] ' : ''}${line}\n`);
        const ev = parseReplicaLine(line);
        if (stream === 'stderr' && !ev && line.trim()) event(`r${r.index} stderr: ${line.trim()}`);
        if (!ev) return;
        if (ev.kind === 'finished') finisher.set(ev.executionId, r.index);
        if (ev.kind === 'finished' && ev.executionId.startsWith(prefix)) finishedBy.set(r.index, (finishedBy.get(r.index) ?? 0) + 1);
        if (ev.kind === 'presumed-dead') {
          const dead = replicas.find((x) => x.runnerId === ev.deadRunner);
          event(`↻ r${r.index}'s watchdog presumed ${dead ? `r${dead.index}` : ev.deadRunner} dead and released ${ev.leases} expired lease${ev.leases === 1 ? '' : 's'}`, ev.time - t0);
          if (kill && dead === kill.replica && kill.releasedAtMs === undefined) { kill.releasedAtMs = ev.time - t0; kill.releasedBy = r.index; }
        }
        if (ev.kind === 'lease-lost') event(`r${r.index} lost the lease of ${label(ev.executionId)} (its commit was fenced off)`, ev.time - t0);
        if (ev.kind === 'error') event(`r${r.index} error: ${ev.message}`, ev.time - t0);
      },
    });

    const checkAlive = () => {
      if (interrupted) throw new Interrupted(`interrupted (${interrupted})`);
      const gone = replicas.find((r) => r.hasExited && r !== kill?.replica && !stopping);
      if (gone) throw new Error(`replica r${gone.index} exited unexpectedly; see ${join(logsDir, `replica-${gone.index}.log`)}`);
    };
    const readyBy = Date.now() + 45_000;
    while (replicas.some((r) => !r.runnerId)) {
      checkAlive();
      if (Date.now() > readyBy) throw new Error('the runner replicas did not start within 45s');
      await sleep(100);
    }

    t0 = Date.now();
    event(`${opts.replicas} replicas ready: ${replicas.map((r) => `r${r.index}=${r.runnerId} (pid ${r.pid})`).join(', ')}`, 0);
    const pendingStarts = [...plan.starts];
    const pendingActions = [...plan.actions];
    let rows: ExecutionSummary[] = [];
    let holdings = new Map<string, string[]>();
    let runnerStates = new Map<string, string>();
    let lastDraw = 0;

    const view = (): DemoView => ({
      header, elapsedMs: Date.now() - t0, submitted: plan.starts.length - pendingStarts.length, totalStarts: plan.starts.length,
      expectedRows: plan.expectedRows, counts: countBy(rows, (r) => r.status), events,
      replicas: replicas.map((r) => ({
        index: r.index, pid: r.pid, runnerId: r.runnerId, finished: finishedBy.get(r.index) ?? 0,
        state: r === kill?.replica ? `KILLED at ${((kill.atMs) / 1000).toFixed(1)}s` : r.hasExited ? 'exited' : runnerStates.get(r.runnerId ?? '') ?? 'live',
        holding: r === kill?.replica
          ? kill.orphans.filter((o) => o.resumedAtMs === undefined).map((o) => `${label(o.id)} (orphaned)`)
          : (holdings.get(r.runnerId ?? '') ?? []).map(label),
      })),
    });

    for (;;) {
      checkAlive();
      const elapsed = Date.now() - t0;
      if (elapsed > timeoutMs) {
        const open = rows.filter((r) => !FINISHED.includes(r.status)).map((r) => `${label(r.id)} (${r.status})`);
        throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s: ${rows.length} of ${plan.expectedRows} executions seen, unfinished: ${open.slice(0, 8).join(', ') || 'none'}`);
      }
      while (pendingStarts.length && pendingStarts[0].atMs <= elapsed) await submit(client, pendingStarts.shift() as PlannedStart);
      while (pendingActions.length && pendingActions[0].atMs <= elapsed) {
        const a = pendingActions.shift()!; // eslint-disable-line @typescript-eslint/no-non-null-assertion
        const h = client.getHandle(a.id);
        if (a.kind === 'cancel') {
          await h.cancel(a.reason);
          event(`✋ cancel ${a.label} (“${a.reason}”): it compensates, then ends cancelled`);
        } else if (a.signal) {
          await h.signal(a.signal.name, a.signal.payload);
          event(`✉ signal ${a.signal.name} ${JSON.stringify(a.signal.payload)} → ${a.label}`);
        }
      }

      rows = (await client.list({ from: since, limit: 1000 })).executions.filter((e) => e.id.startsWith(prefix));
      holdings = new Map();
      for (const g of await locks.list({ limit: 10_000 })) {
        if (!g.lockKey.startsWith(EXECUTION_PREFIX)) continue;
        holdings.set(g.owner, [...(holdings.get(g.owner) ?? []), g.lockKey.slice(EXECUTION_PREFIX.length)]);
      }
      const ours = new Set(replicas.map((r) => r.runnerId));
      runnerStates = new Map((await listRunners(db.sql)).filter((r) => ours.has(r.id)).map((r) => [r.id, r.status]));

      if (!kill && elapsed >= plan.killAfterMs) {
        const alive = replicas.filter((r) => !r.hasExited);
        const [best] = alive.map((r) => ({ r, n: holdings.get(r.runnerId ?? '')?.length ?? 0 })).sort((a, b) => b.n - a.n || b.r.index - a.r.index);
        const want = elapsed < plan.killAfterMs + 2000 ? 2 : 1;
        if (best && (best.n >= want || elapsed > plan.killAfterMs + 10_000)) kill = await killReplica(best.r, Date.now() - t0);
      }
      if (kill) await followOrphans(db, kill, replicas, Date.now() - t0);

      const now = Date.now();
      if (now - lastDraw >= (io.isTTY ? 450 : 2000)) {
        lastDraw = now;
        if (io.isTTY) draw(view());
        else io.out(`${renderLine(view())}\n`);
      }
      const allIn = pendingStarts.length === 0 && rows.length >= plan.expectedRows;
      if (allIn && rows.every((r) => FINISHED.includes(r.status)) && (!kill || kill.orphans.every((o) => o.resumedAtMs !== undefined))) break;
      await sleep(250);
    }

    const elapsedMs = Date.now() - t0;
    if (io.isTTY) draw(view());
    else io.out(`${renderLine(view())}\n`);
    stopping = true;
    const survivors = replicas.filter((r) => r !== kill?.replica);
    const forced = await stopReplicas(survivors, 15_000);
    const summary = await summarize(client, plan, rows, kill, replicas, finishedBy, forced, { dbUrl: db.url, elapsedMs, logsDir, label });
    io.out(`${renderSummary(summary).join('\n')}\n`);
    if (summary.unexpected.length === 0) return 0;
    io.err(`leaseflow: ${summary.unexpected.length} execution${summary.unexpected.length === 1 ? '' : 's'} did not end as designed (see the summary)\n`);
    return 1;

    async function killReplica(r: Replica, atMs: number): Promise<Kill> {
      r.child.kill('SIGKILL');
      await r.exited;
      const runnerId = r.runnerId as string;
      const grants = (await locks.list({ owner: runnerId, limit: 10_000 })).filter((g) => g.lockKey.startsWith(EXECUTION_PREFIX));
      const orphans = grants.map((g) => ({ id: g.lockKey.slice(EXECUTION_PREFIX.length), token: g.token }));
      event(orphans.length
        ? `✖ killed r${r.index} (pid ${r.pid}) with SIGKILL while it held ${orphans.length}: ${orphans.map((o) => label(o.id)).join(', ')}`
        : `✖ killed r${r.index} (pid ${r.pid}) with SIGKILL; it held no leases at that instant`, atMs);
      return { replica: r, runnerId, atMs, orphans };
    }

    async function followOrphans(store: Database, k: Kill, all: Replica[], nowMs: number): Promise<void> {
      for (const o of k.orphans) {
        if (o.resumedAtMs !== undefined) continue;
        const rec = await findExecution(store.sql, store.sql, o.id);
        if (!rec) { o.resumedAtMs = nowMs; continue; }
        if (rec.status === 'queued' && o.releasedAtMs === undefined) o.releasedAtMs = nowMs;
        if (rec.leaseToken !== o.token || FINISHED.includes(rec.status) || rec.status === 'waiting') {
          o.resumedAtMs = nowMs;
          o.by = all.find((x) => x.runnerId === rec.runnerId)?.index ?? finisher.get(o.id);
          event(`↻ ${label(o.id)} resumed${o.by ? ` on r${o.by}` : ''} (${rec.status}) ${((nowMs - k.atMs) / 1000).toFixed(1)}s after the kill`, nowMs);
        }
      }
    }
  } catch (err) {
    if (lastHeight && io.isTTY) io.out('\n');
    if (err instanceof Interrupted) {
      io.err('leaseflow dev: interrupted; stopping the replicas …\n');
      return 130;
    }
    throw err;
  } finally {
    stopping = true;
    if (io.isTTY) io.out('\x1b[?25h');
    await stopReplicas(replicas.filter((r) => !r.hasExited), 5000).catch(() => undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client?.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    await Promise.all(logs.map((l) => new Promise<void>((r) => l.end(() => r()))));
  }
}

async function submit(client: Client, s: PlannedStart): Promise<void> {
  await client.start(s.workflow, s.input, { id: s.id });
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
}

async function summarize(
  client: Client, plan: DemoPlan, rows: ExecutionSummary[], kill: Kill | undefined, replicas: Replica[], finishedBy: Map<number, number>,
  forced: number[], ctx: { dbUrl: string; elapsedMs: number; logsDir: string; label: (id: string) => string },
): Promise<DemoSummary> {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const unexpected: string[] = [];
  for (const s of plan.starts) {
    const got = byId.get(s.id)?.status ?? 'missing';
    if (got !== s.expected) unexpected.push(`${s.label}: ${got}, expected ${s.expected}`);
  }
  for (const r of rows) if (r.parentId && r.status !== 'completed') unexpected.push(`${ctx.label(r.id)}: ${r.status}, expected completed`);
  const byWorkflow: Record<string, Record<string, number>> = {};
  for (const r of rows) (byWorkflow[r.workflowName] ??= {})[r.status] = (byWorkflow[r.workflowName][r.status] ?? 0) + 1;
  const outcomes: Record<string, number> = {};
  for (const s of plan.starts.filter((x) => x.workflow.name === 'approval')) {
    const out = await client.getHandle<{ outcome: string }>(s.id).result({ timeout: '1s' }).catch(() => undefined);
    if (out) outcomes[out.outcome] = (outcomes[out.outcome] ?? 0) + 1;
  }
  const notes: Record<string, string> = {
    order: 'declined cards and cancellations ran their compensations (refund/release)',
    approval: Object.entries(outcomes).map(([k, n]) => `${n} ${k}`).join(', '),
  };
  const orphans = kill?.orphans ?? [];
  const resumed = orphans.filter((o) => o.resumedAtMs !== undefined);
  const released = kill?.releasedAtMs ?? Math.min(...orphans.map((o) => o.releasedAtMs ?? Infinity));
  return {
    dbUrl: ctx.dbUrl, elapsedMs: ctx.elapsedMs, expectedRows: plan.expectedRows, counts: countBy(rows, (r) => r.status), byWorkflow, notes, unexpected,
    takeover: kill ? {
      replica: kill.replica.index, atMs: kill.atMs, orphans: orphans.length, resumed: resumed.length,
      releasedAfterMs: Number.isFinite(released) ? Math.max(0, released - kill.atMs) : undefined, releasedBy: kill.releasedBy,
      firstResumedAfterMs: resumed.length ? Math.min(...resumed.map((o) => (o.resumedAtMs as number) - kill.atMs)) : undefined,
      allResumedAfterMs: resumed.length ? Math.max(...resumed.map((o) => (o.resumedAtMs as number) - kill.atMs)) : undefined,
      resumedOn: [...new Set(resumed.map((o) => o.by).filter((b): b is number => b !== undefined))].sort(),
      leaseTtl: String(plan.leaseTtl),
    } : null,
    replicas: replicas.map((r) => ({
      index: r.index, finished: finishedBy.get(r.index) ?? 0, killed: r === kill?.replica,
      stop: forced.includes(r.index) ? 'killed after the grace period' : 'stopped gracefully (SIGTERM)',
    })),
    logsDir: ctx.logsDir,
  };
}
