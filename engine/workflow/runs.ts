/**
 * Pure naming rules that depend on which run of an id is executing (run numbers grow with the
 * reuse policy and continue-as-new). No IO.
 */
import type { ExecutionRecord } from '../store/types';

/**
 * Default id of the child a run starts at position `seq`: `{id}/{seq}` in an id's first run (as
 * before run numbers existed), `{id}/{run}.{seq}` in later runs, whose positions start at 0
 * again and would otherwise collide with the children of the earlier runs.
 */
export function defaultChildId(run: Pick<ExecutionRecord, 'id' | 'runNumber'>, seq: number): string {
  return run.runNumber > 1 ? `${run.id}/${run.runNumber}.${seq}` : `${run.id}/${seq}`;
}
