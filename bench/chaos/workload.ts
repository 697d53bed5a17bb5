/**
 * The seeded chaos workload: which executions are submitted when, with which input, how many
 * concurrent duplicate starts each gets, and which signals the harness sends to them (in bursts,
 * some of two identical values sent at once). Pure: a seed and a duration give one plan.
 */
import type { Rng } from './random';
import {
  ChaosWorkflow, SIGNAL_NAME,
  type CrasherInput, type ParentInput, type PoisonInput, type SerialInput, type SignalPayload, type SignalsInput, type SleeperInput, type StepsInput,
} from './shapes';

/** A burst of signals sent concurrently, `afterMs` after the execution was submitted. */
export interface SignalBurst { afterMs: number; name: string; payloads: SignalPayload[] }

/** One planned top-level execution. */
export interface PlannedSubmission {
  atMs: number;
  id: string;
  workflow: ChaosWorkflow;
  input: unknown;
  /** Concurrent start calls (same id, same input). */
  starts: number;
  signals: SignalBurst[];
}

/** The workload of one run. */
export interface WorkloadPlan {
  submissions: PlannedSubmission[];
  /** Submitted after the main phase drained, then hit by the last fault (quiesce measurement). */
  finalBatch: PlannedSubmission[];
}

/** Settings of a plan. */
export interface WorkloadOptions {
  durationMs: number;
  quick: boolean;
}

const WEIGHTS: [ChaosWorkflow, number][] = [
  [ChaosWorkflow.steps, 0.27], [ChaosWorkflow.sleeper, 0.14], [ChaosWorkflow.signals, 0.16], [ChaosWorkflow.parent, 0.1],
  [ChaosWorkflow.serial, 0.2], [ChaosWorkflow.poison, 0.07], [ChaosWorkflow.crasher, 0.06],
];

/** The longest step body of the workload (a graceful hand-off waits for one in flight). */
export const MAX_STEP_WORK_MS = 300;

/** Per-step body duration of the final batch, and its step count (the quiesce bound adds their product). */
export const FINAL_STEP_WORK_MS = 80;
export const FINAL_STEPS = 4;

function pickWorkflow(rng: Rng): ChaosWorkflow {
  let r = rng.next();
  for (const [w, p] of WEIGHTS) {
    if (r < p) return w;
    r -= p;
  }
  return ChaosWorkflow.steps;
}

const work = (rng: Rng, n: number, min: number, max: number): number[] => Array.from({ length: n }, () => rng.int(min, max));

function inputFor(rng: Rng, w: ChaosWorkflow, keys: number): unknown {
  switch (w) {
    case ChaosWorkflow.steps: return { work: work(rng, rng.int(2, 8), 20, MAX_STEP_WORK_MS) } satisfies StepsInput;
    case ChaosWorkflow.sleeper: return { naps: work(rng, rng.int(1, 3), 200, 2000), work: rng.int(20, 150) } satisfies SleeperInput;
    case ChaosWorkflow.signals: return { count: rng.int(1, 4), work: rng.int(20, 150), timeoutProbe: rng.chance(0.3) } satisfies SignalsInput;
    case ChaosWorkflow.parent:
      return {
        children: Array.from({ length: rng.int(1, 3) }, () => ({ work: work(rng, rng.int(1, 3), 20, 200) })), parallel: rng.chance(0.5), work: rng.int(20, 100),
      } satisfies ParentInput;
    case ChaosWorkflow.serial: return { key: `k${rng.int(0, keys - 1)}`, work: rng.int(50, 250) } satisfies SerialInput;
    case ChaosWorkflow.poison: return { work: rng.int(20, 100) } satisfies PoisonInput;
    case ChaosWorkflow.crasher: return { work: rng.int(20, 150) } satisfies CrasherInput;
    default: throw new Error(`no input for ${w}`);
  }
}

/** Signal bursts for `count` deliveries: some bursts carry two identical values at once. */
function signalBursts(rng: Rng, id: string, count: number): SignalBurst[] {
  const bursts: SignalBurst[] = [];
  let k = 0;
  while (k < count) {
    const size = count - k >= 2 && rng.chance(0.5) ? 2 : 1;
    const v = `g${bursts.length}`;
    const payloads = Array.from({ length: size }, (_, i) => ({ v, nonce: `${id}-n${k + i}` }));
    bursts.push({ afterMs: rng.int(0, 3000), name: SIGNAL_NAME, payloads });
    k += size;
  }
  return bursts.sort((a, b) => a.afterMs - b.afterMs);
}

/** Plan the workload of one run. */
export function planWorkload(rng: Rng, o: WorkloadOptions): WorkloadPlan {
  const meanGapMs = o.quick ? 520 : 650;
  const keys = o.quick ? 3 : 4;
  const maxCrashers = o.quick ? 3 : 12;
  const submissions: PlannedSubmission[] = [];
  const mandatory = WEIGHTS.map(([w]) => w);
  let crashers = 0;
  let at = 500;
  for (let i = 0; at < o.durationMs - 3000; i++) {
    // The first few submissions cover every workflow, so a short run still exercises them all.
    let w = i < mandatory.length ? mandatory[i] : pickWorkflow(rng);
    if (w === ChaosWorkflow.crasher && crashers >= maxCrashers) w = ChaosWorkflow.steps;
    if (w === ChaosWorkflow.crasher) crashers++;
    const id = `c${String(i).padStart(4, '0')}-${w.replace('chaos-', '')}`;
    const input = inputFor(rng, w, keys);
    const starts = i === 0 || rng.chance(0.25) ? rng.int(2, 3) : 1;
    const signals = w === ChaosWorkflow.signals ? signalBursts(rng, id, (input as SignalsInput).count) : [];
    submissions.push({ atMs: at, id, workflow: w, input, starts, signals });
    at += Math.round(-Math.log(1 - rng.next()) * meanGapMs);
  }
  if (!submissions.some((s) => s.signals.some((b) => b.payloads.length > 1))) {
    // Make sure concurrent duplicate signals happen at least once.
    const s = submissions.find((x) => x.workflow === ChaosWorkflow.signals) as PlannedSubmission;
    (s.input as SignalsInput).count = 2;
    s.signals = [{ afterMs: 100, name: SIGNAL_NAME, payloads: [{ v: 'g0', nonce: `${s.id}-n0` }, { v: 'g0', nonce: `${s.id}-n1` }] }];
  }
  const finalBatch = Array.from({ length: 6 }, (_, i): PlannedSubmission => ({
    atMs: 0, id: `final-${i}`, workflow: ChaosWorkflow.steps, input: { work: Array(FINAL_STEPS).fill(FINAL_STEP_WORK_MS) } satisfies StepsInput, starts: 1, signals: [],
  }));
  return { submissions, finalBatch };
}
