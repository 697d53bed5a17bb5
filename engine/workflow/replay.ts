/**
 * Replay bookkeeping: which recorded event answers a command at a sequence number, and the
 * determinism check. Pure: no IO.
 */
import { NonDeterminismError } from '../errors';
import type { EventKind, HistoryEvent } from '../store/types';

/** The recorded event at `seq` for a command of `kind`/`name`, or undefined (run live). */
export function matchEvent(history: ReadonlyMap<number, HistoryEvent>, seq: number, kind: EventKind, name: string): HistoryEvent | undefined {
  const ev = history.get(seq);
  if (!ev) return undefined;
  if (ev.kind !== kind || ev.name !== name) {
    throw new NonDeterminismError(
      `history has ${ev.kind} "${ev.name}" at position ${seq}, but the workflow now issued ${kind} "${name}": ` +
        'the workflow code changed in a way that is incompatible with this execution',
      { seq, expected: { kind: ev.kind, name: ev.name }, actual: { kind, name } },
    );
  }
  return ev;
}

/** After the body finished: positions recorded but never reached again mean the code changed. */
export function checkNothingLeft(history: ReadonlyMap<number, HistoryEvent>, reached: number): void {
  for (const [seq, ev] of history) {
    if (seq >= reached) {
      throw new NonDeterminismError(
        `the workflow finished at position ${reached}, but history continues with ${ev.kind} "${ev.name}" at ${seq}: ` +
          'the workflow code changed in a way that is incompatible with this execution',
        { seq, expected: { kind: ev.kind, name: ev.name }, actual: null },
      );
    }
  }
}
