/**
 * The runner: polls for due executions of the workflows it serves, claims only as many as its
 * p-queue has free slots, runs them, heartbeats all its leases in one statement per interval,
 * watches for dead peers, and on shutdown drains and hands its executions back at once.
 * States: created → running → draining → stopped. It never touches the process (signals,
 * exit, env): `runner/` does that.
 */
import { hostname } from 'node:os';
import EventEmitter from 'eventemitter3';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { recordError, ValidationError } from '../errors';
import { boundedLogSerializers } from '../error-size';
import { createInstanceId } from '../instance-id';
import type { Database } from '../store/database';
import { cancelRequests, claimExecutions, probeWork, heldLeases, releaseLeases } from '../store/claims';
import { StuckLeaseReporter } from './stuck-leases';
import { Watchdog } from './watchdog';
import { Sweeper } from './sweeper';
import { refreshOwnerLocks } from '../store/locks';
import { notifier } from '../store/notifier';
import { openRunnerWake, type RunnerWake } from '../wake/runner-wake';
import { registerRunner, stopRunner, touchRunner } from '../store/runners';
import { lostToUnavailable } from '../store/connect-errors';
import type { ClaimedExecution } from '../store/types';
import type { ReleasedLease } from '../store/expired-leases';
import type { ExecutionSession } from '../workflow/session';
import { executeClaimed, type ExecutionOutcome } from './executor';
import { CommitBatcher } from './commit-batcher';
import { FinishBatcher } from './finish-batcher';
import type { ResolvedRunnerOptions } from './options';
import { startPoller, type Poller, type TickResult } from './poller';
import { startScheduleTicker, type ScheduleTicker } from '../schedules/ticker';
import { claimedEvent, type RunnerEventName, type RunnerEvents } from './events';

/** First idle pause after a busy tick (doubles back up to pollInterval): see poller.ts. */
const FAST_IDLE_POLL_MS = 5;

/** Runner lifecycle states. */
export const RunnerState = { created: 'created', running: 'running', draining: 'draining', stopped: 'stopped' } as const;
export type RunnerState = (typeof RunnerState)[keyof typeof RunnerState];

/** One lease this runner holds. */
interface Held {
  execution: ClaimedExecution;
  /** Local monotonic deadline: no commit after it (the DB would expire the lease soon after). */
  validUntil: number;
  abort: AbortController;
  session?: ExecutionSession;
}

/** A runner replica (library side). Create with `createRunner`. */
export class Runner extends EventEmitter<RunnerEvents> {
  readonly id: string;
  readonly options: ResolvedRunnerOptions;
  #db: Database;
  #ownsDb: boolean;
  #log: Logger;
  #queue: PQueue;
  #held = new Map<string, Held>();
  #state: RunnerState = RunnerState.created;
  #poller?: Poller;
  #ticker?: ScheduleTicker;
  #timers: NodeJS.Timeout[] = [];
  #unsubscribe?: () => void;
  #stopping?: Promise<void>;
  #heartbeatBusy = false;
  #wake?: RunnerWake;
  /** A claim is in flight: its lease rows exist before they are tracked in #held. */
  #claiming = false;
  #lastTickBusy = false;
  /** When the poll probe last looked for expired leases (monotonic ms). */
  #expiryCheckedAt = -Infinity;
  #batcher: CommitBatcher;
  #finisher: FinishBatcher;
  #sweeper: Sweeper;
  #watchdogs: Watchdog;

  /** @internal use createRunner */
  constructor(db: Database, ownsDb: boolean, options: ResolvedRunnerOptions, logger: Logger) {
    super();
    [this.#db, this.#ownsDb, this.options] = [db, ownsDb, options];
    this.id = options.instanceId ?? createInstanceId();
    this.#log = logger.child({ component: 'runner', runner: this.id }, { serializers: boundedLogSerializers });
    this.#queue = new PQueue({ concurrency: options.concurrency });
    this.#batcher = new CommitBatcher(db.sql);
    this.#finisher = new FinishBatcher(db.sql);
    this.#sweeper = new Sweeper(db, this.id, options.leaseTtlMs, this.#log, (e) => this.#safeEmit('sweeper:changed', e));
    this.#watchdogs = new Watchdog({
      sql: db.sql, log: this.#log, leaseTtlMs: options.leaseTtlMs, runnerId: this.id, sweeper: this.#sweeper,
      backupAfterMs: options.pollIntervalMs + options.watchdogIntervalMs,
      stuck: new StuckLeaseReporter(db.sql, this.#log, options.leaseTtlMs),
      onStuck: (leases) => this.#safeEmit('lease:stuck', { leases }),
      onReleased: (released) => this.#onReleased(released),
    });
  }

  /** Checkpoint statements sent and checkpoints they carried (group commit). */
  get commitStats(): { statements: number; checkpoints: number; finishTransactions: number; finishes: number } {
    return { ...this.#batcher.stats, finishTransactions: this.#finisher.stats.transactions, finishes: this.#finisher.stats.finishes };
  }

  get state(): RunnerState { return this.#state; }
  get running(): number { return this.#held.size; } // executions held (running or queued locally)
  get db(): Database { return this.#db; }
  /** The doorbell (engine/wake), once started. */
  get doorbell(): RunnerWake | undefined { return this.#wake; }

  /** Register, then start polling, heartbeating and watching. */
  async start(): Promise<void> {
    if (this.#state !== RunnerState.created) throw new ValidationError(`runner ${this.id} cannot start from state ${this.#state}`, 'state');
    try {
      if (this.options.migrate) await this.#db.migrate();
      this.#wake = await openRunnerWake(this.#db, this.options.wakeHost, () => this.#poller?.ring(), this.#log);
      await registerRunner(this.#db.sql, {
        id: this.id, hostname: hostname(), pid: process.pid, workflows: [...this.options.workflows.keys()], concurrency: this.options.concurrency, builds: this.options.routing.compatible,
        namespace: this.options.namespace, wakeAddr: this.#wake.address,
      });
    } catch (err) {
      await this.#wake?.close();
      throw lostToUnavailable(err, this.#db.url); // a store that went away while joining: typed, so a process can wait for it
    }
    this.#state = RunnerState.running;
    const ch = notifier(this.#db.url);
    const onWork = () => this.#poller?.nudge();
    ch.on('work', onWork);
    this.#unsubscribe = () => ch.off('work', onWork);
    this.#poller = startPoller({
      intervalMs: this.options.pollIntervalMs,
      fastIdleMs: FAST_IDLE_POLL_MS,
      tick: () => this.#tick(),
      waitForCapacity: () => new Promise<void>((resolve) => this.#queue.once('next', () => resolve())),
      onError: (error) => {
        this.#log.warn({ err: error }, 'poll failed');
        this.#safeEmit('poll:error', { error });
      },
    });
    if (this.options.schedules) this.#ticker = startScheduleTicker({ db: this.#db, checkIntervalMs: this.options.scheduleCheckIntervalMs, logger: this.#log });
    this.#every(this.options.heartbeatIntervalMs, () => this.#heartbeat());
    this.#every(this.options.watchdogIntervalMs, () => this.#watchdog());
    this.#log.info({ workflows: [...this.options.workflows.keys()], concurrency: this.options.concurrency, lease_ttl_ms: this.options.leaseTtlMs }, 'runner started');
    this.#safeEmit('runner:started', { runnerId: this.id });
  }

  /** Cut the idle wait: something was submitted. */
  nudge(): void {
    this.#poller?.nudge();
  }

  /**
   * Graceful shutdown: stop claiming, let running steps finish (up to the drain timeout),
   * then hand every remaining execution back so a peer resumes it at once. `force` skips the
   * drain. Idempotent; a forced call during a drain cuts it short.
   */
  async shutdown(options: { force?: boolean } = {}): Promise<void> {
    if (options.force) for (const h of this.#held.values()) h.abort.abort('shutdown (forced)');
    if (this.#stopping) return this.#stopping;
    this.#stopping = this.#shutdown(options.force === true);
    return this.#stopping;
  }

  async #shutdown(force: boolean): Promise<void> {
    if (this.#state === RunnerState.created) {
      this.#state = RunnerState.stopped;
      if (this.#ownsDb) await this.#db.close();
      return;
    }
    this.#state = RunnerState.draining;
    // A draining runner no longer sweeps: hand the role over now, not after the drain.
    const resigned = this.#sweeper.resign().catch(() => undefined);
    this.#safeEmit('runner:stopping', { runnerId: this.id, running: this.#held.size });
    this.#log.info({ running: this.#held.size }, 'runner draining');
    await Promise.all([this.#poller?.stop(), this.#ticker?.stop()]);
    this.#unsubscribe?.();
    await this.#wake?.close();
    await touchRunner(this.#db.sql, this.id, 'draining').catch(() => undefined);
    for (const h of this.#held.values()) h.session?.drain();
    if (!force) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.#queue.onIdle(), new Promise<void>((r) => (timer = setTimeout(r, this.options.drainTimeoutMs)))]);
      clearTimeout(timer);
    }
    for (const h of this.#held.values()) h.abort.abort('shutdown');
    await this.#queue.onIdle();
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await resigned;
    await stopRunner(this.#db.sql, this.id).catch(() => undefined);
    this.#state = RunnerState.stopped;
    this.#log.info('runner stopped');
    this.#safeEmit('runner:stopped', { runnerId: this.id, released: this.#released });
    if (this.#ownsDb) await this.#db.close();
  }

  #released = 0;

  // ── poll & claim ─────────────────────────────────────────────────────────────────────────
  async #tick(): Promise<TickResult> {
    if (this.#state !== RunnerState.running) return 'idle';
    const free = this.options.concurrency - this.#held.size;
    if (free <= 0) return 'full';
    const names = [...this.options.workflows.keys()];
    // Idle, ask the one-statement probe first; busy (the last claim found work), claim directly.
    if (!this.#lastTickBusy) {
      // The same statement tells whether a lease expired, so an idle watchdog needs no query of its own.
      const probe = await probeWork(this.#db.sql, names, this.options.namespace);
      this.#expiryCheckedAt = performance.now();
      if (probe.expired) void this.#watchdog(true);
      if (!probe.due) return 'idle';
    }
    const startedAt = performance.now();
    this.#claiming = true;
    let claimed: ClaimedExecution[];
    try {
      claimed = await claimExecutions(this.#db.sql, { owner: this.id, workflows: names, limit: free, leaseTtlMs: this.options.leaseTtlMs, routing: this.options.routing, namespace: this.options.namespace,
        onTurn: (ms) => { setTimeout(() => this.#poller?.nudge(), ms).unref(); } });
    } finally {
      this.#claiming = false;
    }
    for (const execution of claimed) {
      const held: Held = { execution, validUntil: startedAt + this.#validityMs(), abort: new AbortController() };
      this.#held.set(execution.id, held);
      this.#safeEmit('execution:claimed', claimedEvent(execution, this.id));
      void this.#queue.add(() => this.#run(held));
    }
    this.#lastTickBusy = claimed.length > 0;
    return claimed.length > 0 ? 'busy' : 'idle';
  }

  /** How long after a lease was granted/refreshed we still trust it locally. */
  #validityMs(): number {
    return this.options.leaseTtlMs - Math.min(1000, this.options.leaseTtlMs / 5);
  }

  async #run(held: Held): Promise<void> {
    const { execution } = held;
    const ref = { executionId: execution.id, workflow: execution.workflowName };
    const definition = this.options.workflows.get(execution.workflowName);
    let outcome: ExecutionOutcome;
    try {
      if (!definition) throw new Error(`claimed unknown workflow ${execution.workflowName}`); // cannot happen: claims filter by name
      outcome = await executeClaimed({
        store: this.#db.sql, payloads: this.#db.payloads, execution, definition, owner: this.id,
        holdWaitsUpToMs: this.options.holdWaitsUpToMs, payloadLimitBytes: this.options.payloadLimitBytes,
        leaseValid: () => performance.now() < held.validUntil,
        commitEvents: (item) => this.#batcher.submit(item),
        commitFinish: (item) => this.#finisher.submit(item), orm: this.options.orm,
        signal: held.abort.signal,
        emit: (event, data) => this.#safeEmit(event as RunnerEventName, data as never),
        nudge: () => notifier(this.#db.url).emit('work'),
        logger: this.#log,
        onSession: (s) => { held.session = s; if (this.#state === RunnerState.draining) s.drain(); },
      });
    } catch (err) {
      this.#held.delete(execution.id);
      // The heartbeat extends every lock row this runner owns, so an abandoned lease would never
      // expire while the runner lives (bench/chaos: a killed connection during loadHistory left an
      // execution, and its template key, stuck): hand it back, fenced by its token.
      const handedBack = await this.#handBack(execution.id, execution.leaseToken);
      this.#log.error({ err, execution_id: execution.id, workflow: execution.workflowName, handed_back: handedBack },
        handedBack ? 'execution run failed; handed back' : 'execution run failed; could not hand it back');
      return;
    }
    this.#held.delete(execution.id);
    // A finish that freed a template slot or woke a parent made work due right now: look at once.
    if ((execution.templateKey || execution.parentId) && ['completed', 'failed', 'cancelled'].includes(outcome.kind)) this.#poller?.nudge();
    const log = this.#log.child({ execution_id: execution.id, workflow: execution.workflowName });
    switch (outcome.kind) {
      case 'completed':
        log.info('execution completed');
        notifier(this.#db.url).emit('finished', execution.id);
        this.#safeEmit('execution:completed', { ...ref, output: outcome.output });
        break;
      case 'failed':
        log.info({ error: outcome.error.message, error_name: outcome.error.name }, 'execution failed');
        notifier(this.#db.url).emit('finished', execution.id);
        this.#safeEmit('execution:failed', { ...ref, error: outcome.error });
        break;
      case 'cancelled':
        log.info({ reason: outcome.reason }, 'execution cancelled');
        notifier(this.#db.url).emit('finished', execution.id);
        this.#safeEmit('execution:cancelled', { ...ref, reason: outcome.reason });
        break;
      case 'suspended':
        this.#safeEmit('execution:suspended', { ...ref, waitFor: outcome.waitFor });
        break;
      case 'continued':
        notifier(this.#db.url).emit('work');
        this.#safeEmit('execution:continued', { ...ref, runId: outcome.runId });
        break;
      case 'lease-lost':
        log.warn({ lease_token: execution.leaseToken, detail: outcome.detail }, 'lease lost; local run aborted');
        this.#safeEmit('lease:lost', { ...ref, leaseToken: execution.leaseToken, detail: outcome.detail, cause: 'fence' });
        break;
      case 'aborted':
        if (outcome.reason.startsWith('lease lost')) {
          // Found by the heartbeat or the watchdog rather than by a fence: say so just the same.
          log.warn({ lease_token: execution.leaseToken, detail: outcome.reason }, 'lease lost; local run aborted');
          this.#safeEmit('lease:lost', { ...ref, leaseToken: execution.leaseToken, detail: outcome.reason, cause: 'expired' });
          break;
        }
        // Shutdown or drain: hand it back at once so a peer need not wait for the TTL.
        try {
          this.#released += await releaseLeases(this.#db.sql, this.id, [{ executionId: execution.id, token: execution.leaseToken }]);
          log.info({ reason: outcome.reason }, 'execution handed back');
          this.#safeEmit('execution:released', { ...ref, reason: outcome.reason });
        } catch (err) {
          log.warn({ err }, 'could not hand execution back; its lease will expire');
        }
        break;
    }
  }

  /** Release one lease after a failed run; retried until it surely expired on its own. */
  async #handBack(executionId: string, token: number): Promise<boolean> {
    const deadline = performance.now() + this.options.leaseTtlMs * 2;
    for (let i = 0; ; i++) {
      try {
        await releaseLeases(this.#db.sql, this.id, [{ executionId, token }]);
        return true;
      } catch {
        if (performance.now() > deadline) return false;
        await new Promise<void>((r) => setTimeout(r, Math.min(1000, 100 * 2 ** i)));
      }
    }
  }

  // ── heartbeat ────────────────────────────────────────────────────────────────────────────
  async #heartbeat(): Promise<void> {
    if (this.#heartbeatBusy || this.#state === RunnerState.stopped) return;
    this.#heartbeatBusy = true;
    try {
      const sentAt = performance.now();
      const before = [...this.#held.values()];
      const refreshed = await refreshOwnerLocks(this.#db.sql, this.id, this.options.leaseTtlMs);
      await touchRunner(this.#db.sql, this.id, this.#state === RunnerState.draining ? 'draining' : 'live');
      this.#safeEmit('heartbeat:sent', { runnerId: this.id, leases: refreshed, durationMs: performance.now() - sentAt });
      // The sweeper grant (when elected) is this runner's too: refreshed with its leases.
      const extra = this.#sweeper.elected ? 1 : 0;
      if (before.length === 0 && refreshed <= extra) return;
      let confirmed: Set<string>;
      if (refreshed === before.length + extra) {
        confirmed = new Set(before.map((h) => h.execution.id));
      } else {
        const leases = await heldLeases(this.#db.sql, this.id);
        confirmed = new Set(leases.filter((l) => this.#held.get(l.executionId)?.execution.leaseToken === l.token).map((l) => l.executionId));
        // Rows we own but no longer track (a run that failed and could not hand back): the
        // heartbeat would keep them alive forever, so hand them back now, fenced by token.
        const strays = this.#claiming ? [] : leases.filter((l) => this.#held.get(l.executionId)?.execution.leaseToken !== l.token);
        if (strays.length) {
          const n = await releaseLeases(this.#db.sql, this.id, strays);
          this.#log.warn({ count: strays.length, requeued: n }, 'released lease rows this runner no longer tracks');
        }
      }
      for (const h of before) {
        if (confirmed.has(h.execution.id)) h.validUntil = Math.max(h.validUntil, sentAt + this.#validityMs());
        else if (this.#held.get(h.execution.id) === h) h.abort.abort('lease lost: not refreshed by the heartbeat');
      }
      if (before.length) for (const c of await cancelRequests(this.#db.sql, this.id)) this.#held.get(c.executionId)?.session?.requestCancel(c.reason);
    } catch (error) {
      this.#log.warn({ err: error }, 'heartbeat failed');
      this.#safeEmit('heartbeat:error', { error });
    } finally {
      this.#heartbeatBusy = false;
    }
  }

  // ── watchdog ─────────────────────────────────────────────────────────────────────────────
  async #watchdog(expiredSeen = false): Promise<void> {
    if (this.#state !== RunnerState.running) return;
    // While idle the poll probe already looked for expired leases this interval.
    await this.#watchdogs.tick(expiredSeen, performance.now() - this.#expiryCheckedAt < this.options.watchdogIntervalMs);
  }

  #onReleased(released: ReleasedLease[]): void {
    const byOwner = new Map<string, number>();
    for (const r of released) {
      byOwner.set(r.owner, (byOwner.get(r.owner) ?? 0) + 1);
      if (r.owner === this.id) this.#held.get(r.executionId)?.abort.abort('lease lost: expired and released by a watchdog');
    }
    for (const [owner, n] of byOwner) {
      this.#log.warn({ dead_runner: owner, leases_released: n }, `runner ${owner} presumed dead, ${n} leases released`);
      this.#safeEmit('runner:presumed-dead', { runnerId: owner, leasesReleased: n });
    }
    this.#poller?.nudge();
  }

  #every(ms: number, fn: () => Promise<void>): void {
    this.#timers.push(setInterval(() => void fn(), ms).unref());
  }

  /** Emit without letting a throwing listener break the runner. */
  #safeEmit<E extends RunnerEventName>(event: E, ...args: RunnerEvents[E]): void {
    try {
      (this.emit as (e: E, ...a: RunnerEvents[E]) => boolean)(event, ...args);
    } catch (err) {
      this.#log.error({ err: recordError(err), event }, 'event listener threw');
    }
  }
}
