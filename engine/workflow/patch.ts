/**
 * Patch markers (`ctx.patched`, `ctx.deprecatePatch`): versioning a change to a workflow body.
 * A marker takes a position like any command, synchronously, so its place is as deterministic
 * as the commands around it (concurrent branches included). At position `seq`:
 * - the history has this change's marker → the execution took the new branch before: true;
 * - the history has something else there, or the position is inside the recorded history with
 *   nothing recorded (a command of the old code still in flight) → the history was written by
 *   code without the change: false, and the position is left to the old branch's command;
 * - past the recorded history → new code runs live: record the marker (once), true.
 * A deprecated patch consumes a marker found there and never records one. Pure but for the buffer.
 */
import { EventKind } from '../store/types';
import { eventAt, checkName } from './names';
import type { ExecutionSession } from './session';

/** See the module comment; `deprecated` for ctx.deprecatePatch. */
export function patchMarker(s: ExecutionSession, changeId: string, deprecated: boolean): boolean {
  const id = checkName(changeId, 'patch change id');
  const seq = s.scheduler.seq;
  const ev = s.history.get(seq);
  if (ev) {
    if (ev.kind !== EventKind.patch || ev.name !== id) return false;
    s.scheduler.seq++;
    return true;
  }
  if (seq < s.replayEnd || deprecated) return false;
  s.scheduler.seq++;
  s.buffer(eventAt(seq, EventKind.patch, id, 'recorded', null, 1));
  return true;
}
