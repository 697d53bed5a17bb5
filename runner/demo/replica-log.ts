/**
 * Reads a replica's structured log lines (pino JSON) for the few facts the demo reports:
 * which replica finished which execution, which watchdog presumed a dead runner and released
 * its leases, lost leases and errors. Pure: one line in, one event (or null) out.
 */

/** What a replica's log line says, when it matters to the demo. */
export type ReplicaLogEvent =
  | { kind: 'finished'; outcome: 'completed' | 'failed' | 'cancelled'; executionId: string; time: number }
  | { kind: 'presumed-dead'; deadRunner: string; leases: number; time: number }
  | { kind: 'lease-lost'; executionId: string; time: number }
  | { kind: 'error'; message: string; time: number };

const FINISHED: Record<string, 'completed' | 'failed' | 'cancelled'> = {
  'execution completed': 'completed', 'execution failed': 'failed', 'execution cancelled': 'cancelled',
};

/** Parse one line; null for anything that is not a log line the demo cares about. */
export function parseReplicaLine(line: string, now = Date.now()): ReplicaLogEvent | null {
  if (!line.startsWith('{')) return null;
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  const time = typeof rec.time === 'number' ? rec.time : now;
  const msg = typeof rec.msg === 'string' ? rec.msg : '';
  const executionId = typeof rec.execution_id === 'string' ? rec.execution_id : undefined;
  if (FINISHED[msg] && executionId) return { kind: 'finished', outcome: FINISHED[msg], executionId, time };
  if (typeof rec.dead_runner === 'string') return { kind: 'presumed-dead', deadRunner: rec.dead_runner, leases: Number(rec.leases_released ?? 0), time };
  if (msg.startsWith('lease lost') && executionId) return { kind: 'lease-lost', executionId, time };
  if (typeof rec.level === 'number' && rec.level >= 50) {
    const err = rec.err as { message?: unknown } | undefined;
    return { kind: 'error', message: `${msg}${err && typeof err.message === 'string' ? `: ${err.message}` : ''}`, time };
  }
  return null;
}
