/**
 * The client side of the chaos workload: submits each planned execution with its concurrent
 * duplicate starts (one start per client, each client on its own pool, so the starts really
 * race), then sends its signal bursts. Every call survives a lost connection (a MariaDB restart,
 * a killed connection): starts are idempotent on the id, and a signal whose outcome is unknown is
 * looked up by its nonce before it is sent again, so nothing is stored twice by the harness.
 */
import { isConnectionError } from '../../engine/store/sql';
import type { Client, Database, WorkflowDefinition, WorkflowHandle } from '../../engine';
import type { SentSignal, StartFailure, Submission } from './checker';
import type { SignalPayload } from './shapes';
import type { PlannedSubmission } from './workload';
import { chaosCrasher, chaosParent, chaosPoison, chaosSerial, chaosSignals, chaosSleeper, chaosSteps } from './workflows';

const DEFINITIONS = new Map<string, WorkflowDefinition<any, any>>( // eslint-disable-line @typescript-eslint/no-explicit-any
  [chaosSteps, chaosSleeper, chaosSignals, chaosParent, chaosSerial, chaosPoison, chaosCrasher].map((d) => [d.name, d]),
);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How long a harness call keeps retrying across lost connections. */
const RETRY_MS = 180_000;

/** Run `fn` again while it fails with a connection error (up to RETRY_MS). */
export async function retryOnConnection<T>(fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isConnectionError(err) || Date.now() - started > RETRY_MS) throw err;
      await sleep(Math.min(1000, 20 * 2 ** i));
    }
  }
}

/** Submits planned executions and their signals; remembers what it did for the checker. */
export class Submitter {
  readonly submissions: Submission[] = [];
  readonly startFailures: StartFailure[] = [];
  readonly sentSignals: SentSignal[] = [];
  readonly signalFailures: StartFailure[] = [];
  readonly pending = new Set<Promise<void>>();

  constructor(private readonly clients: readonly Client[], private readonly admin: Database) {}

  /** Start `p` (with its duplicate starts) now; its signals follow in the background. */
  submit(p: PlannedSubmission): void {
    const task = this.#run(p).finally(() => this.pending.delete(task));
    this.pending.add(task);
  }

  /** Wait for every submission and signal in flight. */
  async settle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  async #run(p: PlannedSubmission): Promise<void> {
    const def = DEFINITIONS.get(p.workflow);
    if (!def) throw new Error(`no definition for ${p.workflow}`);
    const submittedAt = Date.now();
    this.submissions.push({ id: p.id, workflow: p.workflow, input: p.input, starts: p.starts });
    const results = await Promise.allSettled(Array.from({ length: p.starts }, (_, k) =>
      retryOnConnection(() => this.clients[k % this.clients.length].start(def, p.input, { id: p.id }))));
    const handles: WorkflowHandle<unknown>[] = [];
    for (const r of results) {
      if (r.status === 'fulfilled') handles.push(r.value);
      else this.startFailures.push({ id: p.id, error: `${(r.reason as Error).name}: ${(r.reason as Error).message}` });
    }
    if (handles.length === 0) return;
    for (const burst of p.signals) {
      const wait = submittedAt + burst.afterMs - Date.now();
      if (wait > 0) await sleep(wait);
      await Promise.all(burst.payloads.map((payload, i) => this.#signal(this.clients[i % this.clients.length].getHandle(p.id), burst.name, payload)));
    }
  }

  /** Send one signal exactly once, even when a connection is lost mid-send. */
  async #signal(handle: WorkflowHandle<unknown>, name: string, payload: SignalPayload): Promise<void> {
    const started = Date.now();
    for (let i = 1; ; i++) {
      try {
        await handle.signal(name, payload);
        this.sentSignals.push({ executionId: handle.executionId, name, payload });
        return;
      } catch (err) {
        if (!isConnectionError(err) || Date.now() - started > RETRY_MS) {
          this.signalFailures.push({ id: handle.executionId, error: `${(err as Error).name}: ${(err as Error).message}` });
          return;
        }
      }
      await sleep(Math.min(1000, 20 * 2 ** i));
      const landed = await retryOnConnection(() => this.admin.sql.all<{ n: unknown }>(
        'SELECT COUNT(*) AS n FROM workflow_signals WHERE execution_id = ? AND LOCATE(?, payload) > 0', [handle.executionId, `"${payload.nonce}"`],
      ));
      if (Number(landed[0]?.n) > 0) {
        this.sentSignals.push({ executionId: handle.executionId, name, payload });
        return;
      }
    }
  }
}
