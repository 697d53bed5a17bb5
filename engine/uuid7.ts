/**
 * UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then randomness. Generated execution ids
 * are time-ordered, so new rows land at the right edge of the primary keys (executions and
 * their events) instead of in random, uncached leaves of a large table. Pure but for the clock
 * and the random source.
 */
import { randomBytes } from 'node:crypto';

/** A new UUIDv7 string. */
export function uuidv7(now: number = Date.now()): string {
  const b = randomBytes(16);
  const ms = BigInt(now);
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70; // version 7
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
