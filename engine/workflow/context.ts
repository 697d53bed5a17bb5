/**
 * The live workflow context of one execution run. Each command takes the next position; a
 * recorded result there is replayed (its effect is not re-run), otherwise the command runs live
 * and commits through the session's fenced commit. Commands may run concurrently (Promise.all,
 * race, …): scheduler.ts keeps that deterministic. The commands live in their own modules.
 */
import { localKey, namespaceOf } from '../namespace/keys';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Duration } from '../duration';
import { NonDeterminismError } from '../errors';
import { silentLogger } from '../logger';
import { decodeValue, encodeValue } from '../serialization';
import { EventKind } from '../store/types';
import { startChildCommand } from './child-commands';
import type { ChildHandle, ChildOptions, StepContext, StepOptions, WorkflowContext } from './context-types';
import type { WorkflowDefinition } from './define-workflow';
import { eventAt } from './names';
import type { ExecutionSession } from './session';
import { stepCommand } from './step-command';
import { signalCommand, sleepCommand, sleepUntilCommand } from './wait-commands';
import { compensationsOf } from './saga';
import { continueAsNew, prepareContinuation } from './continue-as-new';
import { patchMarker } from './patch';
import type { EntityManager } from '@mikro-orm/core';
import { transactionCommand, type TransactionContext, type TransactionOptions } from '../transactions/transaction-command';
import { currentScope, refuseInTransaction } from '../transactions/scope';
import { enqueueInScope, outboxRow, signalInScope, type EnqueueOptions } from '../transactions/outbox';

const silent = silentLogger();

/** The WorkflowContext implementation bound to one session (shielded: inside nonCancellable). */
export class LiveContext implements WorkflowContext {
  #s: ExecutionSession;
  #logger: Logger;
  #shielded: boolean;

  constructor(session: ExecutionSession, logger: Logger, shielded = false) {
    this.#s = session;
    this.#logger = logger;
    this.#shielded = shielded;
  }

  get executionId(): string { return localKey(this.#s.record.id); }
  get runId(): string { return this.#s.record.runId; }
  get workflowName(): string { return this.#s.record.workflowName; }
  get attempt(): number { return this.#s.record.attempt; }
  get signal(): AbortSignal { return this.#s.abort.signal; }
  /** Silent while replaying. */
  get log(): Logger { return this.#s.scheduler.replaying ? silent : this.#logger; }

  step<T>(name: string, fn: (step: StepContext) => Promise<T> | T, options?: StepOptions<T>): Promise<T> {
    return this.#guard(() => stepCommand(this.#s, this.#shielded, name, fn, options));
  }

  sleep(nameOrDuration: string | Duration, duration?: Duration): Promise<void> {
    return this.#guard(() => sleepCommand(this.#s, this.#shielded, nameOrDuration, duration));
  }

  sleepUntil(name: string, until: Date | number): Promise<void> {
    return this.#guard(() => sleepUntilCommand(this.#s, this.#shielded, name, until));
  }

  waitForSignal<T = unknown>(name: string, options?: { timeout?: Duration }): Promise<T | undefined> {
    return this.#guard(() => signalCommand<T>(this.#s, this.#shielded, name, options));
  }

  transaction<T, EM extends EntityManager = EntityManager>(name: string, fn: (em: EM, tx: TransactionContext) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    return this.#guard(() => transactionCommand(this.#s, this.#shielded, name, fn, options));
  }

  async enqueue<I, O>(workflow: WorkflowDefinition<I, O> | string, input: I, options: EnqueueOptions = {}): Promise<string> {
    const scope = currentScope(this.#s, 'ctx.enqueue');
    const t = this.#outboxTarget();
    return localKey(await enqueueInScope(scope, t, await outboxRow(t, workflow as WorkflowDefinition<unknown, unknown>, input, options, this.#s.payloadLimitBytes, this.#s.record.traceContext)));
  }

  async signalExternal(executionId: string, name: string, payload?: unknown): Promise<void> {
    return signalInScope(currentScope(this.#s, 'ctx.signalExternal'), this.#outboxTarget(), executionId, name, payload, this.#s.payloadLimitBytes);
  }

  /** The outbox writes in this execution's namespace, through the store's payload door. */
  #outboxTarget() {
    return { payloads: this.#s.payloads, namespace: namespaceOf(this.#s.record.id) };
  }

  async child<I, O>(workflow: WorkflowDefinition<I, O>, input: I, options?: ChildOptions): Promise<O> {
    const handle = await this.startChild(workflow, input, options);
    return handle.result();
  }

  startChild<I, O>(workflow: WorkflowDefinition<I, O>, input: I, options?: ChildOptions): Promise<ChildHandle<O>> {
    return this.#guard(() => startChildCommand(this.#s, this.#shielded, workflow, input, options));
  }

  nonCancellable<T>(fn: (ctx: WorkflowContext) => Promise<T>): Promise<T> {
    return Promise.resolve().then(() => fn(new LiveContext(this.#s, this.#logger, true)));
  }

  /** Sagas (saga.ts): the plan is recorded; the compensations run shielded from cancellation. */
  compensate(): Promise<void> {
    const saga = compensationsOf(this.#s);
    const plan = this.#value('compensations', () => saga.plan());
    return this.nonCancellable((ctx) => saga.run(ctx, plan));
  }

  /** See continue-as-new.ts. */
  continueAsNew<I>(input: I): Promise<never> {
    return this.#guard(() => continueAsNew(this.#s, this.#s.scheduler.seq, prepareContinuation(this.#s, input)));
  }

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
    refuseInTransaction(`ctx.${name}()`);
    const seq = this.#s.scheduler.seq++;
    const ev = this.#s.match(seq, EventKind.value, name);
    if (ev) return decodeValue<T>(ev.payload);
    const v = make();
    this.#s.buffer(eventAt(seq, EventKind.value, name, 'recorded', JSON.stringify(v), 1));
    return v;
  }

  /** See patch.ts. */
  patched(changeId: string): boolean {
    refuseInTransaction('ctx.patched');
    return patchMarker(this.#s, changeId, false);
  }

  deprecatePatch(changeId: string): void {
    refuseInTransaction('ctx.deprecatePatch');
    patchMarker(this.#s, changeId, true);
  }

  setStatus(status: unknown): void {
    refuseInTransaction('ctx.setStatus');
    this.#s.setCustomStatus(encodeValue(status, 'workflow status', this.#s.payloadLimitBytes));
  }

  /** Bad arguments reject the command's promise (like any async API); non-determinism ends the run. */
  #guard<T>(issue: () => Promise<T>): Promise<T> {
    try {
      refuseInTransaction('a workflow command (ctx.step, sleep, waitForSignal, child, transaction, …)');
      return issue();
    } catch (err) {
      if (err instanceof NonDeterminismError) return new Promise<T>(() => undefined);
      return Promise.reject(err);
    }
  }

  /** Position of the next command (the session checks history was fully consumed). */
  get position(): number {
    return this.#s.scheduler.seq;
  }
}
