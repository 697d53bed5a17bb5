/**
 * The compound wait of a run whose every live branch is blocked: the earliest due time, the
 * awaited signal names and children, and the `wait_for` record describing them (kept short
 * enough for its column; the detail is informative, waking never depends on it). Pure.
 */
import type { WaitFor } from '../store/types';
import type { Block } from './command';

/** Longest `wait_for` JSON written. */
const MAX_WAIT_FOR_CHARS = 500;

/** Combine the blocks of every blocked command (sorted by position). */
export function compoundWait(blocks: readonly Block[]): { waitFor: WaitFor; dueAt?: number; signals: string[]; children: string[] } {
  let due: Block | undefined;
  for (const b of blocks) if (b.dueAt !== undefined && (due === undefined || b.dueAt < (due.dueAt as number))) due = b;
  const signals = [...new Set(blocks.flatMap((b) => (b.signal === undefined ? [] : [b.signal])))];
  const children = [...new Set(blocks.flatMap((b) => (b.childId === undefined ? [] : [b.childId])))];
  if (blocks.length === 1) return { waitFor: blocks[0].waitFor, dueAt: due?.dueAt, signals, children };
  const all = blocks.map((b) => b.waitFor);
  const waits = due ? [due.waitFor, ...all.filter((w) => w !== due?.waitFor)] : all;
  const dueSeq = due && 'seq' in due.waitFor ? due.waitFor.seq : undefined;
  const waitFor: WaitFor & { kind: 'any' } = { kind: 'any', waits, dueSeq, dueAt: due?.dueAt };
  // Keep the due entry (first); drop others from the end until it fits.
  while (JSON.stringify(waitFor).length > MAX_WAIT_FOR_CHARS && waitFor.waits.length > 1) {
    waitFor.waits.pop();
    waitFor.more = (waitFor.more ?? 0) + 1;
  }
  if (JSON.stringify(waitFor).length > MAX_WAIT_FOR_CHARS) waitFor.waits = [];
  return { waitFor, dueAt: due?.dueAt, signals, children };
}

/** The entry of `waitFor` (single or compound) recorded for the command at `seq`. */
export function waitEntry(waitFor: WaitFor | null, seq: number): WaitFor | undefined {
  if (!waitFor) return undefined;
  if (waitFor.kind === 'any') return waitFor.waits.find((w) => 'seq' in w && w.seq === seq);
  return 'seq' in waitFor && waitFor.seq === seq ? waitFor : undefined;
}

/** True when the row's available_at was the due time of the command at `seq` (it is authoritative then). */
export function dueWasFor(waitFor: WaitFor | null, seq: number): boolean {
  if (!waitFor) return false;
  if (waitFor.kind === 'any') return waitFor.dueSeq === seq;
  return 'seq' in waitFor && waitFor.seq === seq;
}
