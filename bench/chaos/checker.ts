/**
 * The chaos checker: pure functions that prove, from the rows a chaos run left in the database
 * (executions, events, signals, the `chaos_attempts` side table) and from what the harness did
 * (submissions, signals sent, pauses, probes, failover samples), that every guarantee of SPEC §4
 * the run exercised held. Each check returns its counts and the first violations found; none of
 * them trusts a runner's word. Load the rows with loader.ts.
 */
import type { ChaosData, CheckResult } from './check-types';
import { Index } from './check-helpers';
import { checkAccounting, checkCommittedAttempts, checkNoStaleCommit, checkOutputs, checkStepsOnce, checkTerminal, checkTokenOrder } from './checks-history';
import { checkCrashes, checkFailover, checkPoison, checkProbes, checkQuiesce, checkSignals, checkTemplates, checkZombies } from './checks-faults';
import { checkSchedule } from './schedule';

export type * from './check-types';
export * from './checks-history';
export * from './checks-faults';

/** Every invariant, in report order. */
export function runChecks(d: ChaosData): CheckResult[] {
  const ix = new Index(d);
  return [
    checkAccounting(d, ix), checkTerminal(d, ix), checkStepsOnce(d, ix), checkOutputs(d, ix), checkTokenOrder(d, ix),
    checkCommittedAttempts(d, ix), checkNoStaleCommit(d, ix), checkTemplates(d, ix), checkSignals(d, ix), checkPoison(d, ix),
    checkCrashes(d, ix), checkZombies(d, ix), checkProbes(d), checkFailover(d), checkQuiesce(d),
    ...(d.harness.schedule ? [checkSchedule(d.harness.schedule, d.executions)] : []),
  ];
}
