/**
 * Which code runs inside a transactional step: an AsyncLocalStorage scope around the user's
 * function. Workflow commands refuse to run inside it (a step, timer or child inside a database
 * transaction would hold it open and could not be undone with it); the outbox commands refuse to
 * run outside it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { TransactionScopeError } from '../errors';
import type { SqlRunner, SqlStore } from '../store/sql';

/** The open transaction of one transactional step. */
export interface TxScope {
  /** The execution whose step this is (the session object). */
  readonly owner: object;
  /** Statements on the step's transaction. */
  readonly q: SqlRunner;
  readonly store: SqlStore;
  readonly name: string;
  /** Executions started or signalled: the runner is nudged after the commit. */
  touched: number;
}

const scopes = new AsyncLocalStorage<TxScope>();

/** Run `fn` inside `scope`. */
export function runInScope<T>(scope: TxScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/** Throw when called from inside a transactional step. */
export function refuseInTransaction(what: string): void {
  const scope = scopes.getStore();
  if (scope) {
    throw new TransactionScopeError(`${what} cannot be called inside ctx.transaction("${scope.name}"): only database work through its ` +
      'EntityManager, ctx.enqueue and ctx.signalExternal belong there (issue other commands before or after it)');
  }
}

/** The transactional step `owner` is running now; throws when there is none. */
export function currentScope(owner: object, what: string): TxScope {
  const scope = scopes.getStore();
  if (!scope || scope.owner !== owner) throw new TransactionScopeError(`${what} can only be called inside ctx.transaction (it is written in that transaction)`);
  return scope;
}
