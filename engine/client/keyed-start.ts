/**
 * How a start is written when its workflow declares a key-based flow rule: a dedup window (the
 * key's holder within the window stands for the start) or a trailing debounce (a never-claimed
 * execution of the key takes the new input and waits another window). Each is ONE transaction
 * that first takes the key's row lock, so concurrent starters of one key queue on it.
 */
import { claimDedupKey } from '../store/dedup';
import { lockDebounceKey, rewriteUnstarted, setDebounceExecution } from '../store/debounce';
import { insertExecution } from '../store/executions';
import { retryStatement, type SqlStore } from '../store/sql';
import type { NewExecution } from '../store/types';
import { debounceKeyOf, dedupKeyOf, type WorkflowDefinition } from '../workflow/define-workflow';

/** A start, prepared: validated row plus the keys its rules computed from the input. */
export interface PreparedStart {
  row: NewExecution;
  dedup: { key: string; windowMs: number } | null;
  debounce: { key: string; windowMs: number } | null;
}

/** Compute (and validate) the flow keys of a start before anything is written. */
export function prepareStart(def: WorkflowDefinition<unknown, unknown> | undefined, input: unknown, row: NewExecution): PreparedStart {
  const dedupKey = dedupKeyOf(def, input);
  const debounceKey = debounceKeyOf(def, input);
  return {
    row,
    dedup: dedupKey !== null && def?.dedup ? { key: dedupKey, windowMs: def.dedup.windowMs } : null,
    debounce: debounceKey !== null && def?.debounce ? { key: debounceKey, windowMs: def.debounce.windowMs } : null,
  };
}

/**
 * Write the start; returns the id of the execution that now stands for it (the row's own id, or
 * the dedup holder / the debounced execution). A duplicate row id throws, as a plain insert does.
 */
export async function writeStart(sql: SqlStore, p: PreparedStart, insertPlain?: (row: NewExecution) => Promise<void>): Promise<string> {
  const { row } = p;
  if (p.dedup) {
    const { key, windowMs } = p.dedup;
    return sql.tx(async (q) => {
      const holder = await claimDedupKey(q, sql, { workflow: row.workflowName, key, executionId: row.id, windowMs });
      if (holder === row.id) await insertExecution(q, sql, row);
      return holder;
    });
  }
  if (p.debounce) {
    const { key } = p.debounce;
    const delayMs = Math.max(row.delayMs, p.debounce.windowMs);
    return sql.tx(async (q) => {
      const current = await lockDebounceKey(q, sql, row.workflowName, key, row.id);
      if (current !== row.id) {
        if (await rewriteUnstarted(q, sql, current, { input: row.input, templateKey: row.templateKey, delayMs })) return current;
        await setDebounceExecution(q, row.workflowName, key, row.id);
      }
      await insertExecution(q, sql, { ...row, delayMs });
      return row.id;
    });
  }
  // A template member takes its key's admission sequence in the same transaction as its insert.
  // One autocommit INSERT (shared with concurrent plain starts by `insertPlain`, start-batcher.ts):
  // a deadlock or lock-wait timeout rolled it back, so it is run again.
  if (row.templateKey === null) await (insertPlain ? insertPlain(row) : retryStatement(() => insertExecution(sql, sql, row)));
  else await sql.tx((q) => insertExecution(q, sql, row));
  return row.id;
}
