/**
 * Deterministic concurrency for one run. Commands take positions (seq) in the order workflow
 * code issues them; their results are delivered one at a time, in the order they completed
 * (recorded as each event's `order`, replayed in that order), with the workflow's microtasks
 * drained between two deliveries — so concurrent branches see the same interleaving live and on
 * replay. Commands without a record issued during replay start only once replay is over. The run
 * suspends only when every live branch is blocked (a compound wait: earliest due time, awaited
 * signal names, awaited children) and is woken by the first of them.
 */
import { CancelledError, NonDeterminismError, WaitSupersededError } from '../errors';
import { EventKind, type HistoryEvent, type WaitFor } from '../store/types';
import { Command, never, type Block, type Outcome, type RunInterruption } from './command';
import { compoundWait } from './suspension';
import type { CommitRequest } from './commit-request';

/** What the scheduler needs from its session. */
export interface SchedulerHost {
  readonly dead: boolean;
  readonly draining: boolean;
  readonly holdWaitsUpToMs: number;
  /** Replay testing: called with the first command that would run live; the run ends there instead (nothing runs or is written). */
  readonly replayOnly?: (first: { seq: number; kind: EventKind; name: string }) => void;
  dbNowMs(): number;
  leaseValid(): boolean;
  die(reason: RunInterruption): void;
  match(seq: number, kind: EventKind, name: string): HistoryEvent | undefined;
  commit(req: CommitRequest): Promise<unknown>;
  /** Commit the suspension; 'arrived' when a awaited signal/child is there, 'cancel' when one was requested. */
  suspend(waitFor: WaitFor, dueInMs: number | null, signals: string[], children: string[]): Promise<'suspended' | 'arrived' | 'cancel'>;
  /** Record a cancellation delivered at `seq` (and cancel the children). */
  commitCancel(seq: number, order: number): Promise<void>;
  cancelReason: string | null;
}

/** Why a replay-only run ended: it reached the first command past the recorded history. */
export const REPLAY_END = 'replay reached the end of the history';

/** How often blocked signal/child waits re-read while another branch keeps the run busy. */
const POLL_MS = 1000;

const settleTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** True for an event that delivers a command's result. */
function isDelivery(ev: HistoryEvent): boolean {
  return ev.kind === EventKind.cancel || ev.kind === EventKind.childStart || ev.kind === EventKind.childResult || ev.kind === EventKind.step ||
    (ev.kind === EventKind.signal) || (ev.kind === EventKind.timer && ev.status === 'fired');
}

const keyOf = (ev: HistoryEvent): number => ev.order ?? ev.seq;

/** The scheduler of one run. */
export class Scheduler {
  /** Next position. */
  seq = 0;
  replaying = true;
  cancelState: 'none' | 'delivering' | 'delivered' = 'none';
  #host: SchedulerHost;
  #cmds = new Map<number, Command>();
  #replay: HistoryEvent[];
  #deferred: { cmd: Command; start: () => Promise<void> }[] = [];
  #deliveries = 0;
  #nextOrder: number;
  #nextDeliver: number;
  #ready = new Map<number, () => Promise<void> | void>();
  #pumping = false;
  #active = 0;
  #blocked = new Set<Command>();
  #checkQueued = false;
  #suspending = false;
  #poll: NodeJS.Timeout | null = null;
  #signalQueues = new Map<string, Command[]>();
  #timers = new Set<NodeJS.Timeout>();
  #halted = false;

  constructor(host: SchedulerHost, history: readonly HistoryEvent[]) {
    this.#host = host;
    this.#replay = history.filter(isDelivery).sort((a, b) => keyOf(a) - keyOf(b) || a.seq - b.seq);
    const top = history.reduce((m, e) => Math.max(m, e.seq, e.order ?? -1), -1);
    this.#nextOrder = this.#nextDeliver = top + 1;
    // Nothing to deliver from history: commands run live from the first one (no extra turn).
    this.replaying = this.#replay.length > 0;
  }

  /** Results delivered so far. */
  get deliveries(): number { return this.#deliveries; }

  /** Begin: replay the recorded deliveries, then run live. Call right after the body started. */
  start(): void {
    if (!this.replaying) {
      // After the body's first synchronous turn, so a cancellation takes the next free position.
      setImmediate(() => {
        if (this.#host.cancelReason !== null) this.requestCancel();
        this.#checkSoon();
      });
      return;
    }
    void this.#replayAll().catch((err) => {
      if (err instanceof NonDeterminismError) this.#host.die({ kind: 'fatal', error: err });
      else this.#host.die({ kind: 'aborted', reason: `replay failed: ${String(err)}` });
    });
  }

  /**
   * Issue a command at the next position. `start` runs it live (never during replay); a
   * `supersedes` command (timer, signal wait) supersedes older unclaimed pending commands of
   * the same kind and name issued in an earlier activation.
   */
  issue(kind: EventKind, name: string, o: { shielded: boolean; supersedes?: boolean; fromRecord: (ev: HistoryEvent) => Outcome; start: (cmd: Command) => Promise<void> }): Command {
    if (!this.#host.dead && !this.#host.leaseValid()) this.#host.die({ kind: 'aborted', reason: 'lease lost: local lease deadline passed before a command' });
    const seq = this.seq++;
    const ev = this.#host.match(seq, kind, name);
    const cmd = new Command(seq, kind, name, o.shielded, this.#deliveries, ev, o.fromRecord);
    this.#cmds.set(seq, cmd);
    if (o.supersedes) this.#supersede(cmd);
    if (this.#host.dead) return cmd;
    if (ev && isDelivery(ev)) return cmd; // the replay delivers it
    if (this.replaying) this.#deferred.push({ cmd, start: () => o.start(cmd) });
    else this.#startLive(cmd, () => o.start(cmd));
    return cmd;
  }

  /**
   * A live command's result is ready: take the next delivery order, commit `req` (its events
   * carry the order), then deliver in order. A settled command (cancelled meanwhile) commits nothing.
   */
  async complete(cmd: Command, req: CommitRequest | null, outcome: Outcome, onCommitted?: () => void, onError?: (err: unknown) => Outcome): Promise<void> {
    if (cmd.settled || this.#host.dead) return;
    const order = this.#nextOrder++;
    cmd.claimed = true;
    if (req) {
      for (const e of req.events) if (e.seq === cmd.seq) e.order = order;
      if (req.fireTimer) req.fireTimer.order = order;
      try {
        await this.#host.commit(req);
      } catch (err) {
        // Only an error the request lets through (a child id taken) gets here: deliver it in turn.
        this.#ready.set(order, () => cmd.settle(onError ? onError(err) : { ok: false, error: err }));
        void this.#pump();
        return;
      }
    }
    onCommitted?.();
    this.#ready.set(order, () => cmd.settle(outcome));
    void this.#pump();
  }

  /** A live command that commits itself (ctx.transaction) takes its delivery order inside its transaction… */
  reserveOrder(cmd: Command): number { cmd.claimed = true; return this.#nextOrder++; }
  /** …and delivers its outcome in that order once committed. */
  deliverAt(cmd: Command, order: number, outcome: Outcome): void { this.#ready.set(order, () => cmd.settle(outcome)); void this.#pump(); }

  /** Block a live command until woken (its due time, a poll, or a re-check after a suspension attempt). */
  block(cmd: Command, b: Block): Promise<void> {
    if (this.#host.dead || cmd.settled) return never();
    cmd.block = b;
    this.#blocked.add(cmd);
    this.#active--;
    let timer: NodeJS.Timeout | undefined;
    const p = new Promise<void>((resolve) => {
      cmd.wake = () => {
        if (timer) { clearTimeout(timer); this.#timers.delete(timer); }
        if (!this.#blocked.delete(cmd)) return;
        cmd.block = null;
        cmd.wake = null;
        this.#active++;
        resolve();
      };
    });
    if (b.dueAt !== undefined) {
      const ms = b.dueAt - this.#host.dbNowMs();
      if (ms < 2 ** 31 - 1) {
        timer = setTimeout(() => { this.#timers.delete(timer as NodeJS.Timeout); cmd.wake?.(); }, Math.max(0, ms) + 1);
        this.#timers.add(timer);
      }
    }
    this.#checkSoon();
    return p.then(() => (this.#host.dead ? never() : undefined));
  }

  /** In-memory wait of a live command that stays active (retry backoff); ends the run if drained. */
  async hold(ms: number): Promise<void> {
    await new Promise<void>((r) => setTimeout(r, ms));
    if (this.#host.draining && !this.#host.dead) this.#host.die({ kind: 'aborted', reason: 'draining' });
    if (this.#host.dead) return never();
  }

  /** Signal waits of one name are served FIFO: only the head reads the inbox. */
  joinSignalQueue(cmd: Command): void {
    const q = this.#signalQueues.get(cmd.name) ?? [];
    q.push(cmd);
    this.#signalQueues.set(cmd.name, q);
  }

  isSignalHead(cmd: Command): boolean {
    return this.#signalQueues.get(cmd.name)?.[0] === cmd;
  }

  leaveSignalQueue(cmd: Command): void {
    const q = this.#signalQueues.get(cmd.name);
    if (!q) return;
    const i = q.indexOf(cmd);
    if (i < 0) return;
    q.splice(i, 1);
    if (i === 0 && q[0]) q[0].wake?.();
  }

  /** A cancellation was requested: deliver it (in order) as soon as replay is over. */
  requestCancel(): void {
    if (this.cancelState !== 'none' || this.replaying || this.#host.dead) return;
    this.cancelState = 'delivering';
    const order = this.#nextOrder++;
    this.#ready.set(order, async () => {
      const seq = this.seq++;
      await this.#host.commitCancel(seq, order);
      this.#rejectForCancel();
    });
    void this.#pump();
  }

  /** The runner asked to hand the execution back: end at the next quiet point. */
  drain(): void {
    this.#checkSoon();
  }

  /** The body settled: nothing suspends any more (the executor finishes the execution). */
  halt(): void {
    this.#halted = true;
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = null;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  /** The run ended: drop timers. */
  stop(): void {
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = null;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const c of this.#cmds.values()) if (!c.settled && !c.abort.aborted) c.abort.abortWith(() => new Error('run ended'));
  }

  // ── internals ──────────────────────────────────────────────────────────────────────────
  #startLive(cmd: Command, start: () => Promise<void>): void {
    // Replay testing (engine/replay): history is exhausted; the code would continue live here.
    if (this.#host.replayOnly) { this.#host.replayOnly(cmd); this.#host.die({ kind: 'aborted', reason: REPLAY_END }); return; }
    if (this.#host.draining) { this.#checkSoon(); return; }
    // A cancellation being delivered right now rejects this command anyway: do not start it.
    if (!cmd.shielded && this.cancelState === 'delivering') return;
    this.#active++;
    void (async () => {
      try {
        await start();
      } catch (err) {
        cmd.settle({ ok: false, error: err });
      } finally {
        this.#active--;
        if (cmd.kind === EventKind.signal) this.leaveSignalQueue(cmd);
        this.#checkSoon();
      }
    })();
  }

  async #replayAll(): Promise<void> {
    await settleTurn();
    for (const ev of this.#replay) {
      if (this.#host.dead) return;
      if (ev.kind === EventKind.cancel) {
        const seq = this.seq++;
        if (seq !== ev.seq) {
          throw new NonDeterminismError(`history has the cancellation delivered at position ${ev.seq}, but the workflow reached position ${seq} there`,
            { seq: ev.seq, expected: { kind: ev.kind, name: ev.name }, actual: null });
        }
        this.cancelState = 'delivered';
        this.#rejectForCancel();
      } else {
        let cmd = this.#cmds.get(ev.seq);
        for (let i = 0; !cmd && i < 3; i++) { await settleTurn(); cmd = this.#cmds.get(ev.seq); }
        if (!cmd) {
          throw new NonDeterminismError(`history has ${ev.kind} "${ev.name}" at position ${ev.seq}, but the workflow did not issue it: ` +
            'the workflow code changed in a way that is incompatible with this execution', { seq: ev.seq, expected: { kind: ev.kind, name: ev.name }, actual: null });
        }
        cmd.claimed = true;
        cmd.settle(cmd.fromRecord(ev));
      }
      this.#deliveries++;
      await settleTurn();
    }
    if (this.#host.dead) return;
    this.replaying = false;
    if (this.#host.cancelReason !== null && this.cancelState === 'none') this.requestCancel();
    for (const d of this.#deferred.splice(0)) if (!d.cmd.settled) this.#startLive(d.cmd, d.start);
    this.#checkSoon();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        if (this.#host.dead) return;
        const fn = this.#ready.get(this.#nextDeliver);
        if (!fn) return;
        this.#ready.delete(this.#nextDeliver);
        this.#nextDeliver++;
        await fn();
        this.#deliveries++;
        await settleTurn();
      }
    } finally {
      this.#pumping = false;
      this.#checkSoon();
    }
  }

  #supersede(cmd: Command): void {
    for (const old of this.#cmds.values()) {
      if (old === cmd || old.settled || old.claimed || old.kind !== cmd.kind || old.name !== cmd.name || old.activation >= cmd.activation) continue;
      if (old.recorded && isDelivery(old.recorded)) continue; // it was claimed before this wait was issued
      this.#blocked.delete(old);
      old.settle({ ok: false, error: new WaitSupersededError(old.kind, old.name, old.seq, cmd.seq) });
      if (old.kind === EventKind.signal) this.leaveSignalQueue(old);
    }
  }

  #rejectForCancel(): void {
    this.cancelState = 'delivered';
    const reason = this.#host.cancelReason ?? 'cancelled';
    for (const c of [...this.#cmds.values()].sort((a, b) => a.seq - b.seq)) {
      if (c.settled || c.shielded) continue;
      this.#blocked.delete(c);
      c.settle({ ok: false, error: new CancelledError(reason) });
      if (c.kind === EventKind.signal && !c.claimed) this.leaveSignalQueue(c);
    }
  }

  #quiet(): boolean {
    return !this.replaying && this.#active <= 0 && !this.#pumping && this.#ready.size === 0;
  }

  #checkSoon(): void {
    if (this.#checkQueued || this.#host.dead) return;
    this.#checkQueued = true;
    setImmediate(() => {
      this.#checkQueued = false;
      void this.#check();
    });
  }

  async #check(): Promise<void> {
    const host = this.#host;
    if (host.dead || this.#suspending || this.#halted) return;
    this.#managePoll();
    if (!this.#quiet()) return;
    if (host.draining) { host.die({ kind: 'aborted', reason: 'draining' }); return; }
    if (this.#blocked.size === 0) return;
    const blocked = [...this.#blocked].sort((a, b) => a.seq - b.seq);
    const w = compoundWait(blocked.map((c) => c.block as Block));
    const now = host.dbNowMs();
    // Short waits stay in memory (each blocked command's own timer wakes it).
    if (w.dueAt !== undefined && w.dueAt - now <= host.holdWaitsUpToMs) return;
    this.#suspending = true;
    let res: 'suspended' | 'arrived' | 'cancel';
    try {
      res = await host.suspend(w.waitFor, w.dueAt === undefined ? null : w.dueAt - now, w.signals, w.children);
    } finally {
      this.#suspending = false;
    }
    if (res === 'suspended' || host.dead) return;
    if (res === 'cancel') this.requestCancel();
    else for (const c of [...this.#blocked]) if (c.block?.signal !== undefined || c.block?.childId !== undefined) c.wake?.();
    this.#checkSoon();
  }

  /** While a branch is busy, blocked signal/child waits re-read now and then. */
  #managePoll(): void {
    const want = !this.#host.dead && [...this.#blocked].some((c) => c.block?.signal !== undefined || c.block?.childId !== undefined);
    if (want && !this.#poll) {
      this.#poll = setInterval(() => {
        if (this.#suspending) return;
        for (const c of [...this.#blocked]) if (c.block?.signal !== undefined || c.block?.childId !== undefined) c.wake?.();
      }, Math.max(POLL_MS, this.#host.holdWaitsUpToMs));
      this.#poll.unref?.();
    } else if (!want && this.#poll) {
      clearInterval(this.#poll);
      this.#poll = null;
    }
  }
}
