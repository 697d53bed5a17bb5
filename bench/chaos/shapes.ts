/**
 * The chaos workload's vocabulary, shared by the workflows (what they do) and the checker (what
 * a correct run must have left in the database): workflow names, their inputs, and for each
 * input the expected shape of a finished execution — final status, the step names committed
 * exactly once, how many signals and children, and the output. Pure: no engine, no IO.
 */

/** Names of the chaos workflows. */
export const ChaosWorkflow = {
  steps: 'chaos-steps',
  sleeper: 'chaos-sleeper',
  signals: 'chaos-signals',
  parent: 'chaos-parent',
  child: 'chaos-child',
  serial: 'chaos-serial',
  poison: 'chaos-poison',
  crasher: 'chaos-crasher',
} as const;
export type ChaosWorkflow = (typeof ChaosWorkflow)[keyof typeof ChaosWorkflow];

/** `chaos-steps` / `chaos-child`: one step per entry (`s0`, `s1`, …), each body sleeps `work[i]` ms. */
export interface StepsInput { work: number[] }
/** `chaos-sleeper`: step `before`, durable sleeps `nap0`… of `naps[i]` ms, step `after`. */
export interface SleeperInput { naps: number[]; work: number }
/** `chaos-signals`: step `ready`, `count` × waitForSignal('go'), optionally a wait that times out, step `done`. */
export interface SignalsInput { count: number; work: number; timeoutProbe: boolean }
/** `chaos-parent`: step `plan`, one child per entry (all started first when `parallel`), step `sum`. */
export interface ParentInput { children: StepsInput[]; parallel: boolean; work: number }
/** `chaos-serial` (template key `key`, limit 1): steps `enter` and `exit`. */
export interface SerialInput { key: string; work: number }
/** `chaos-poison`: step `ok`, then step `poison` that always throws PoisonError. */
export interface PoisonInput { work: number }
/** `chaos-crasher`: steps `pre`, `boom` (SIGKILLs its own process under the first claim), `post`. */
export interface CrasherInput { work: number }

/** Retry policy of the poison step: bounded attempts, one backoff held in memory, one suspended. */
export const POISON_RETRY = { maxAttempts: 3, initialIntervalMs: 300, backoffCoefficient: 4 } as const;
/** The largest retry backoff in the workload (the poison step's last delay). */
export const MAX_RETRY_BACKOFF_MS = POISON_RETRY.initialIntervalMs * POISON_RETRY.backoffCoefficient ** (POISON_RETRY.maxAttempts - 2);
/** Name of the poison step's error. */
export const POISON_ERROR = 'PoisonError';
/** Signal name the harness sends and `chaos-signals` waits for. */
export const SIGNAL_NAME = 'go';
/** Signal name nobody sends (the timeout probe). */
export const NEVER_SIGNAL = 'never';

/** A signal's payload: `v` is the logical value (duplicates share it), `nonce` is unique per send. */
export interface SignalPayload { v: string; nonce: string }

/** What a finished execution must look like. */
export interface Shape {
  status: 'completed' | 'failed';
  /** Step names, each committed exactly once (completed, except `failedStep`). */
  steps: string[];
  /** The step whose committed event is a failure (poison). */
  failedStep?: string;
  errorName?: string;
  /** waitForSignal('go') deliveries. */
  signals: number;
  /** Inputs of the children, in start order. */
  children: StepsInput[];
  /**
   * The exact output, when it follows from the input alone. `chaos-signals` returns the payloads
   * it received (checked against what was sent); parents return their children's outputs.
   */
  output?: unknown;
}

const stepNames = (n: number, prefix: string): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** The expected shape of a finished execution of `workflow` with `input`. */
export function expectedShape(workflow: string, input: unknown): Shape {
  const base = { signals: 0, children: [] as StepsInput[] };
  switch (workflow) {
    case ChaosWorkflow.steps:
    case ChaosWorkflow.child: {
      const names = stepNames((input as StepsInput).work.length, 's');
      return { ...base, status: 'completed', steps: names, output: names };
    }
    case ChaosWorkflow.sleeper:
      return { ...base, status: 'completed', steps: ['before', 'after'], output: ['before', 'after'] };
    case ChaosWorkflow.signals:
      return { ...base, status: 'completed', steps: ['ready', 'done'], signals: (input as SignalsInput).count };
    case ChaosWorkflow.parent: {
      const p = input as ParentInput;
      return {
        ...base, status: 'completed', steps: ['plan', 'sum'], children: p.children,
        output: p.children.map((c) => stepNames(c.work.length, 's')),
      };
    }
    case ChaosWorkflow.serial:
      return { ...base, status: 'completed', steps: ['enter', 'exit'], output: (input as SerialInput).key };
    case ChaosWorkflow.poison:
      return { ...base, status: 'failed', steps: ['ok', 'poison'], failedStep: 'poison', errorName: POISON_ERROR };
    case ChaosWorkflow.crasher:
      return { ...base, status: 'completed', steps: ['pre', 'boom', 'post'], output: ['pre', 'boom', 'post'] };
    default:
      throw new Error(`unknown chaos workflow ${workflow}`);
  }
}
