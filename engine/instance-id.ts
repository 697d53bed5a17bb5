/**
 * Replica identity: `{hostname}-{first 8 hex chars of a random UUID}` (e.g. `web-server-1-a1b2c3d4`),
 * fresh per process, so a restarted runner never inherits the leases of its former self.
 * The result always fits a lock owner (at most 255 code points).
 */
import { randomUUID } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { MAX_OWNER_LENGTH } from './store/entities';

/**
 * A new instance id for this process.
 * @param hostname the host part. @default os.hostname()
 */
export function createInstanceId(hostname: string = osHostname()): string {
  const suffix = randomUUID().slice(0, 8);
  // Host names may be up to 253 characters; keep the random suffix whole so the id stays unique.
  const host = [...(hostname || 'localhost')].slice(0, MAX_OWNER_LENGTH - suffix.length - 1).join('');
  return `${host}-${suffix}`;
}
