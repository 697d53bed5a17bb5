/**
 * The live workflow context of one execution run. Each command takes the next sequence number;
 * a recorded event there is replayed (its effect is not re-run), otherwise the command runs live
 * and commits through the session's fenced commit. Waits too long to hold a slot suspend the
 * run: the command never resolves and the session ends with a `suspended` outcome.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { toMs, type Duration } from '../duration';
import { CancelledError, LeaseflowError, recordError, reviveError, TimeoutError, ValidationError, WorkflowIdConflictError, type RecordedError } from '../errors';
import { silentLogger } from '../logger';
import { decodeValue, encodeValue } from '../serialization';
import { isDuplicateKeyError } from '../store/executions';
import { EventKind, type NewEvent, type NewExecution, type WaitFor } from '../store/types';
import { MAX_EXECUTION_ID_LENGTH, MAX_NAME_LENGTH } from '../store/entities';
import { nextRetryDelay, resolveRetryPolicy } from './retry';
import type { ChildHandle, ChildOptions, StepContext, StepOptions, WorkflowContext } from './context-types';
import type { WorkflowDefinition } from './define-workflow';
import type { ExecutionSession } from './session';
import { defaultChildId } from './runs';
import { Compensations, compensationStepName } from './saga';
import { continueAsNew, prepareContinuation } from './continue-as-new';

const silent = silentLogger();

/**
 * A promise that never settles: what a command returns once the run has ended. A fresh one each
 * time — a shared one would keep every suspended workflow's async frame reachable forever.
 */
const never = (): Promise<never> => new Promise<never>(() => undefined);

function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(`${what} name must be a non-empty string`, 'name');
  if ([...name].length > MAX_NAME_LENGTH) throw new ValidationError(`${what} name is longer than ${MAX_NAME_LENGTH} characters`, 'name');
  return name;
}

/** The WorkflowContext implementation bound to one session. */
export class LiveContext implements WorkflowContext {
  #s: ExecutionSession;
  #seq = 0;
  #logger: Logger;
  #saga = new Compensations();

  constructor(session: ExecutionSession, logger: Logger) {
    this.#s = session;
    this.#logger = logger;
  }

  get executionId(): string { return this.#s.record.id; }
  get runId(): string { return this.#s.record.runId; }
  get workflowName(): string { return this.#s.record.workflowName; }
  get attempt(): number { return this.#s.record.attempt; }
  get signal(): AbortSignal { return this.#s.abort.signal; }
  /** Silent while the next command is still answered from history. */
  get log(): Logger { return this.#seq < this.#s.replayEnd ? silent : this.#logger; }

  // ── steps ──────────────────────────────────────────────────────────────────────────────
  async step<T>(name: string, fn: (step: StepContext) => Promise<T> | T, options: StepOptions<T> = {}): Promise<T> {
    checkName(name, 'step');
    if (options.compensate !== undefined) compensationStepName(name, options.compensate);
    const seq = this.#seq++;
    const ev = this.#s.match(seq, EventKind.step, name);
    if (ev) return this.#saga.add(seq, name, options, this.#replayed<T>(ev));
    const policy = resolveRetryPolicy(options.retry, this.#s.definition.retry, `step "${name}" retry`);
    const timeoutMs = options.timeout === undefined ? undefined : toMs(options.timeout, `step "${name}" timeout`);
    await this.#enterLive(seq);
    return this.#s.track(async () => {
      let attempt = this.#s.record.nextSeq === seq ? this.#s.record.stepAttempt + 1 : 1;
      for (;;) {
        const outcome = await this.#runAttempt(seq, name, attempt, fn, timeoutMs);
        if (outcome.ok) {
          await this.#s.commit({ events: [this.#event(seq, EventKind.step, name, 'completed', outcome.payload, attempt)] });
          this.#s.emit('step:completed', { step: name, seq, attempt });
          return this.#saga.add(seq, name, options, decodeValue<T>(outcome.payload));
        }
        const delay = nextRetryDelay(policy, attempt, outcome.error, Math.random());
        if (delay === null) {
          await this.#s.commit({ events: [this.#event(seq, EventKind.step, name, 'failed', JSON.stringify(outcome.error), attempt)] });
          this.#s.emit('step:failed', { step: name, seq, attempt, error: outcome.error });
          throw reviveError(outcome.error);
        }
        this.#s.emit('step:retrying', { step: name, seq, attempt, delayMs: delay, error: outcome.error });
        if (delay <= this.#s.holdWaitsUpToMs) {
          await this.#s.commit({ events: [], stepAttempt: attempt, keepSeq: seq });
          await this.#s.wait(delay);
          attempt++;
          continue;
        }
        const dueAt = this.#s.dbNowMs() + delay;
        return this.#s.suspend({ waitFor: { kind: 'retry', seq, name, dueAt }, dueInMs: delay, stepAttempt: attempt, keepSeq: seq });
      }
    });
  }

  async #runAttempt<T>(seq: number, name: string, attempt: number, fn: (step: StepContext) => Promise<T> | T, timeoutMs?: number): Promise<{ ok: true; payload: string | null } | { ok: false; error: RecordedError }> {
    const ac = new AbortController();
    const outer = this.#s.stepSignal();
    const onOuter = () => ac.abort(outer.reason);
    if (outer.aborted) ac.abort(outer.reason);
    else outer.addEventListener('abort', onOuter, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const body = Promise.resolve().then(() => fn({ idempotencyKey: `${this.executionId}:${seq}:${name}`, attempt, signal: ac.signal, leaseToken: this.#s.lease.token }));
      const raced = timeoutMs === undefined ? body : Promise.race([body, new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new TimeoutError(`step "${name}" timed out after ${timeoutMs} ms (attempt ${attempt})`);
          ac.abort(err);
          reject(err);
        }, timeoutMs);
      })]);
      const value = await raced;
      try {
        return { ok: true, payload: encodeValue(value, `result of step "${name}"`, this.#s.payloadLimitBytes) };
      } catch (err) {
        return { ok: false, error: { ...recordError(err), nonRetryable: true } };
      }
    } catch (err) {
      if (this.#s.dead) await never();
      // A step that failed because the workflow is being cancelled records no failure:
      // the cancellation is delivered at this position instead.
      await this.#s.deliverCancelAt(seq);
      return { ok: false, error: recordError(err) };
    } finally {
      if (timer) clearTimeout(timer);
      outer.removeEventListener('abort', onOuter);
    }
  }

  // ── timers ─────────────────────────────────────────────────────────────────────────────
  sleep(nameOrDuration: string | Duration, duration?: Duration): Promise<void> {
    if (duration === undefined) return this.#timer('sleep', toMs(nameOrDuration, 'sleep duration'), undefined);
    return this.#timer(checkName(nameOrDuration, 'timer'), toMs(duration, `sleep "${String(nameOrDuration)}" duration`), undefined);
  }

  sleepUntil(name: string, until: Date | number): Promise<void> {
    const at = until instanceof Date ? until.getTime() : until;
    if (typeof at !== 'number' || !Number.isFinite(at)) throw new ValidationError(`sleepUntil "${name}": until must be a Date or epoch milliseconds`, 'until');
    return this.#timer(checkName(name, 'timer'), undefined, at);
  }

  async #timer(name: string, durationMs: number | undefined, untilMs: number | undefined): Promise<void> {
    const seq = this.#seq++;
    const ev = this.#s.match(seq, EventKind.timer, name);
    let dueAt: number;
    if (ev) {
      if (ev.kind === EventKind.cancel) return this.#replayed(ev);
      dueAt = (decodeValue<{ dueAt: number }>(ev.payload)).dueAt;
      // The execution row's available_at is the authoritative due time of the pending timer
      // (an operator may move it; tests simulate time this way).
      const pending = this.#s.record.waitFor;
      if (pending?.kind === 'timer' && pending.seq === seq && this.#s.record.availableAt) {
        dueAt = Math.min(dueAt, this.#s.record.availableAt.getTime());
      }
      // Cancelled while this timer was pending: the cancellation was recorded right after it.
      const next = this.#s.history.get(seq + 1);
      if (next?.kind === EventKind.cancel && decodeValue<{ during?: number }>(next.payload)?.during === seq) {
        this.#seq++;
        return this.#replayed(next);
      }
      if (dueAt > this.#s.dbNowMs() && this.#s.cancelPendingUndelivered) {
        await this.#s.deliverCancelAt(this.#seq++, { during: seq });
      }
    } else {
      await this.#enterLive(seq);
      dueAt = untilMs ?? this.#s.dbNowMs() + (durationMs as number);
    }
    return this.#s.track(async () => {
      const remaining = dueAt - this.#s.dbNowMs();
      const waitFor: WaitFor = { kind: 'timer', seq, name, dueAt };
      const events = ev ? [] : [this.#event(seq, EventKind.timer, name, 'scheduled', JSON.stringify({ dueAt }), 1)];
      if (remaining > this.#s.holdWaitsUpToMs) return this.#s.suspend({ waitFor, dueInMs: remaining, events });
      if (events.length) await this.#s.commit({ events });
      if (remaining > 0) await this.#s.wait(remaining);
    });
  }

  // ── signals ────────────────────────────────────────────────────────────────────────────
  async waitForSignal<T = unknown>(name: string, options: { timeout?: Duration } = {}): Promise<T | undefined> {
    checkName(name, 'signal');
    const timeoutMs = options.timeout === undefined ? undefined : toMs(options.timeout, `waitForSignal "${name}" timeout`);
    const seq = this.#seq++;
    const ev = this.#s.match(seq, EventKind.signal, name);
    if (ev) return ev.status === 'timeout' ? undefined : this.#replayed<T>(ev);
    await this.#enterLive(seq);
    return this.#s.track(async () => {
      const prior = this.#s.record.waitFor;
      const resumed = prior?.kind === 'signal' && prior.seq === seq && prior.deadline !== undefined;
      // As for timers, the row's available_at is the authoritative deadline of a pending wait.
      const deadline = timeoutMs === undefined ? undefined
        : resumed ? Math.min(prior.deadline as number, this.#s.record.availableAt?.getTime() ?? Infinity) : this.#s.dbNowMs() + timeoutMs;
      for (;;) {
        const sig = await this.#s.nextSignal(name);
        if (sig) {
          await this.#s.commit({ events: [this.#event(seq, EventKind.signal, name, 'delivered', sig.payload, 1)], consumeSignal: { id: sig.id, seq } });
          this.#s.emit('signal:delivered', { signal: name, seq });
          return decodeValue<T>(sig.payload);
        }
        const remaining = deadline === undefined ? null : deadline - this.#s.dbNowMs();
        if (remaining !== null && remaining <= 0) {
          await this.#s.commit({ events: [this.#event(seq, EventKind.signal, name, 'timeout', null, 1)] });
          return undefined;
        }
        await this.#s.suspend({
          waitFor: { kind: 'signal', seq, name, deadline },
          dueInMs: remaining,
          recheck: async (q) => (await this.#s.nextSignal(name, q)) === null,
        });
      }
    });
  }

  // ── children ───────────────────────────────────────────────────────────────────────────
  async child<I, O>(workflow: WorkflowDefinition<I, O>, input: I, options?: ChildOptions): Promise<O> {
    const handle = await this.startChild(workflow, input, options);
    return handle.result();
  }

  async startChild<I, O>(workflow: WorkflowDefinition<I, O>, input: I, options: ChildOptions = {}): Promise<ChildHandle<O>> {
    if (!workflow || typeof workflow.name !== 'string') throw new ValidationError('startChild needs a workflow definition', 'workflow');
    const seq = this.#seq++;
    const ev = this.#s.match(seq, EventKind.childStart, workflow.name);
    if (ev) {
      if (ev.kind === EventKind.cancel) return this.#replayed(ev);
      return this.#childHandle<O>(decodeValue<{ childId: string }>(ev.payload).childId);
    }
    const childId = options.id ?? defaultChildId(this.#s.record, seq);
    if (typeof childId !== 'string' || childId.length === 0 || [...childId].length > MAX_EXECUTION_ID_LENGTH) {
      throw new ValidationError(`child id must be a non-empty string of at most ${MAX_EXECUTION_ID_LENGTH} characters`, 'id');
    }
    const encoded = encodeValue(input, `input of child "${workflow.name}"`, this.#s.payloadLimitBytes);
    const templateKey = workflow.template ? String(workflow.template.key(input)) : null;
    await this.#enterLive(seq);
    const child: NewExecution = {
      id: childId, workflowName: workflow.name, workflowVersion: workflow.version, templateKey,
      templateLimit: workflow.template?.limit ?? null, input: encoded, parentId: this.executionId, parentSeq: seq, delayMs: 0,
    };
    await this.#s.track(async () => {
      try {
        await this.#s.commit({ events: [this.#event(seq, EventKind.childStart, workflow.name, 'started', JSON.stringify({ childId }), 1)], children: [child] });
      } catch (err) {
        if (isDuplicateKeyError(err)) throw new WorkflowIdConflictError(childId, 'an execution with this id already exists');
        throw err;
      }
    });
    this.#s.emit('child:started', { childId, workflow: workflow.name, seq });
    this.#s.nudge();
    return this.#childHandle<O>(childId);
  }

  #childHandle<O>(childId: string): ChildHandle<O> {
    return { executionId: childId, result: () => this.#childResult<O>(childId) };
  }

  async #childResult<O>(childId: string): Promise<O> {
    const seq = this.#seq++;
    const ev = this.#s.match(seq, EventKind.childResult, childId);
    if (ev) return this.#replayed<O>(ev);
    await this.#enterLive(seq);
    return this.#s.track(async () => {
      for (;;) {
        const child = await this.#s.findExecution(childId);
        if (!child) throw new LeaseflowError('CHILD_NOT_FOUND', `child execution "${childId}" not found`);
        if (child.status === 'completed' || child.status === 'failed' || child.status === 'cancelled') {
          const ok = child.status === 'completed';
          const payload = ok ? child.output : child.error;
          await this.#s.commit({ events: [this.#event(seq, EventKind.childResult, childId, ok ? 'completed' : 'failed', payload, 1)] });
          if (ok) return decodeValue<O>(payload);
          throw reviveError(decodeValue<RecordedError>(payload));
        }
        await this.#s.suspend({
          waitFor: { kind: 'child', seq, childId },
          dueInMs: null,
          recheck: async (q) => {
            const c = await this.#s.findExecution(childId, q);
            return !c || !['completed', 'failed', 'cancelled'].includes(c.status);
          },
        });
      }
    });
  }

  // ── sagas (see saga.ts) ────────────────────────────────────────────────────────────────
  async compensate(): Promise<void> {
    const plan = this.#value('compensations', () => this.#saga.plan());
    await this.#s.shielded(() => this.#saga.run(this, plan));
  }

  // ── continue-as-new (see continue-as-new.ts) ───────────────────────────────────────────
  async continueAsNew<I>(input: I): Promise<never> {
    const next = prepareContinuation(this.#s, input);
    const seq = this.#seq++;
    const ev = this.#s.match(seq, EventKind.value, 'continueAsNew'); // only a delivered cancellation can be recorded here
    if (ev) return this.#replayed(ev);
    await this.#enterLive(seq);
    return this.#s.track(() => continueAsNew(this.#s, seq, next));
  }

  // ── recorded values ────────────────────────────────────────────────────────────────────
  now(): Date {
    return new Date(this.#value('now', () => this.#s.dbNowMs()));
  }

  random(): number {
    return this.#value('random', () => Math.random());
  }

  uuid(): string {
    return this.#value('uuid', () => randomUUID());
  }

  #value<T>(name: string, make: () => T): T {
    const seq = this.#seq++;
    const ev = this.#s.match(seq, EventKind.value, name);
    if (ev) {
      if (ev.kind === EventKind.cancel) throw new CancelledError(this.#s.cancelReason ?? 'cancelled');
      return decodeValue<T>(ev.payload);
    }
    const v = make();
    this.#s.buffer(this.#event(seq, EventKind.value, name, 'recorded', JSON.stringify(v), 1));
    return v;
  }

  setStatus(status: unknown): void {
    this.#s.setCustomStatus(encodeValue(status, 'workflow status', this.#s.payloadLimitBytes));
  }

  // ── helpers ────────────────────────────────────────────────────────────────────────────
  /** Past this point the command runs live: deliver a pending cancellation first. */
  async #enterLive(seq: number): Promise<void> {
    await this.#s.deliverCancelAt(seq);
  }

  #replayed<T>(ev: { kind: string; status: string; payload: string | null }): T {
    if (ev.kind === EventKind.cancel) {
      this.#s.markCancelDelivered();
      throw new CancelledError(this.#s.cancelReason ?? 'cancelled');
    }
    if (ev.status === 'failed') throw reviveError(decodeValue<RecordedError>(ev.payload));
    return decodeValue<T>(ev.payload);
  }

  #event(seq: number, kind: NewEvent['kind'], name: string, status: string, payload: string | null, attempt: number): NewEvent {
    return { seq, kind, name, status, payload, attempt };
  }

  /** Position of the next command (the session checks history was fully consumed). */
  get position(): number {
    return this.#seq;
  }
}
