/**
 * Schedules under chaos: the harness creates an every-second schedule of `chaos-steps` for the
 * main phase (allow_all, a catch-up window longer than any outage the run makes) and pauses it
 * before the drain. Its executions join the submissions (so every history check applies to them),
 * and `checkSchedule` proves the schedule's own guarantee from the rows: every fire between the
 * first and the last started exactly one execution `{schedule}:{fire time}`, none skipped or missed.
 */
import type { Client, ScheduleDescription } from '../../engine';
import { Verdict } from './check-helpers';
import type { CheckResult, ExecRow, ScheduleFact, Submission } from './check-types';
import { ChaosWorkflow, type StepsInput } from './shapes';

/** The chaos schedule's id. */
export const CHAOS_SCHEDULE_ID = 'chaos-tick';
const PERIOD_MS = 1000;
/** Input of every fire: two short steps. */
const INPUT: StepsInput = { work: [20, 20] };

/** Create the schedule; returns its first fire time (epoch ms). */
export async function startChaosSchedule(client: Client): Promise<number> {
  const d = await client.schedules.create({
    id: CHAOS_SCHEDULE_ID, workflow: ChaosWorkflow.steps, input: INPUT, every: PERIOD_MS, overlap: 'allow_all', catchupWindow: '1h',
  });
  return d.nextFireTimes[0].getTime();
}

/** Pause the schedule and read what it did. */
export async function stopChaosSchedule(client: Client, firstFireMs: number): Promise<ScheduleFact> {
  await client.schedules.pause(CHAOS_SCHEDULE_ID);
  const d: ScheduleDescription = await client.schedules.describe(CHAOS_SCHEDULE_ID);
  return { id: d.id, firstFireMs, lastFireMs: d.lastFireAt?.getTime() ?? null, ...d.counts };
}

/** The schedule's executions as submissions (each fire is one start). */
export function scheduleSubmissions(fact: ScheduleFact | null, executions: readonly ExecRow[]): Submission[] {
  if (!fact) return [];
  return executions.filter((e) => e.id.startsWith(`${fact.id}:`)).map((e) => ({ id: e.id, workflow: e.workflow, input: e.input, starts: 1 }));
}

/** Exactly one execution per fire from the first to the last, none skipped or missed. */
export function checkSchedule(fact: ScheduleFact | null, executions: readonly ExecRow[]): CheckResult {
  const v = new Verdict('schedule: one execution per fire');
  if (!fact) return v.done({ fires: 0 }, 'no schedule in this run');
  const prefix = `${fact.id}:`;
  const got = executions.filter((e) => e.id.startsWith(prefix)).map((e) => e.id).sort();
  const expected: string[] = [];
  if (fact.lastFireMs !== null) for (let t = fact.firstFireMs; t <= fact.lastFireMs; t += PERIOD_MS) expected.push(`${prefix}${new Date(t).toISOString()}`);
  const gotSet = new Set(got);
  const expectedSet = new Set(expected);
  for (const id of expected) if (!gotSet.has(id)) v.fail(`fire ${id.slice(prefix.length)} started no execution`);
  for (const id of got) if (!expectedSet.has(id)) v.fail(`execution ${id} is not a fire between the first and the last`);
  if (fact.fired !== expected.length) v.fail(`the schedule counts ${fact.fired} fires, the rows show ${expected.length}`);
  if (fact.skipped || fact.missed) v.fail(`the schedule skipped ${fact.skipped} and missed ${fact.missed} fires (allow_all, 1 h catch-up window)`);
  if (expected.length === 0) v.fail('the schedule never fired');
  return v.done({ fires: expected.length, executions: got.length, skipped: fact.skipped, missed: fact.missed });
}
