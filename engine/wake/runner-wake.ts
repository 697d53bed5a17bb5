/**
 * A runner's side of the doorbell: listen (rings nudge its poller) and ring the others when it
 * makes work due itself (a child start, a continue-as-new). A doorbell that cannot bind is not
 * an error: the runner polls, and says so once.
 */
import type { Logger } from 'pino';
import type { Database } from '../store/database';
import { autoWakeHost, listenDoorbell, startRinging, type DoorbellListener, type RingStats } from './doorbell';

/** An open runner doorbell. */
export interface RunnerWake {
  /** `host:port` to store in the runner row, or null (off or not bound). */
  readonly address: string | null;
  readonly listener: DoorbellListener | null;
  readonly rings: RingStats;
  close(): Promise<void>;
}

/** Open the doorbell of a runner on `host` ('auto' or an address; null: listen nowhere, still ring). */
export async function openRunnerWake(db: Database, host: string | null, nudge: () => void, log: Logger): Promise<RunnerWake> {
  const ringing = startRinging(db.url, db.sql);
  let listener: DoorbellListener | null = null;
  if (host !== null) {
    const bindTo = host === 'auto' ? autoWakeHost() : host;
    try {
      listener = await listenDoorbell(bindTo, nudge);
    } catch (err) {
      log.warn({ err, wake_host: bindTo }, 'doorbell could not listen; this runner polls only');
    }
  }
  return {
    address: listener?.address ?? null, listener, rings: ringing.stats,
    async close() { ringing.stop(); await listener?.close(); },
  };
}
