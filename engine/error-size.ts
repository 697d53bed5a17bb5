/**
 * Size bounds for errors: a recorded error (stored in history or as an execution's outcome) gets
 * the payload limit — its message and stack are cut with a visible marker, its name and code are
 * kept — and every error or string a runner logs is cut to a few KiB, so one huge `message`
 * never becomes a multi-MB event, SQL statement or log line. Pure; never throws.
 */
import type { RecordedError } from './errors';

/** Longest string field in a log line, in UTF-8 bytes. */
export const LOG_FIELD_MAX_BYTES = 8 * 1024;
/** Store-side cap of one error record when no tighter limit is known (the default payload limit). */
export const ERROR_HARD_LIMIT_BYTES = 2 * 1024 * 1024;
/** Smallest limit an error record is cut to (name, code and a marked message always fit). */
const MIN_ERROR_BYTES = 1024;

/**
 * Cut `text` to at most `maxBytes` UTF-8 bytes (marker included), on a character boundary. Cheap
 * on multi-MB strings: it never measures or copies more than `maxBytes` characters of them.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text; // a UTF-16 unit is at most 3 UTF-8 bytes
  if (text.length <= maxBytes && Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const marker = `…[truncated: ${text.length} characters in all]`;
  const room = Math.max(0, maxBytes - Buffer.byteLength(marker, 'utf8'));
  // Each unit is at least one byte: the first `room` units hold every byte that can fit.
  let cut = Buffer.from(text.slice(0, room), 'utf8').subarray(0, room).toString('utf8');
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1); // a character split in half
  return cut + marker;
}

/** The record with message and stack cut so that its JSON is at most `limitBytes`. */
export function boundRecordedError(rec: RecordedError, limitBytes: number): RecordedError {
  const limit = Math.max(MIN_ERROR_BYTES, limitBytes);
  const safe = (v: unknown, max: number) => truncateUtf8(typeof v === 'string' ? v : String(v), max);
  const out: RecordedError = { ...rec, name: safe(rec.name, 256), message: rec.message, stack: rec.stack };
  if (rec.code !== undefined) out.code = safe(rec.code, 256);
  if (rec.stack === undefined) delete out.stack;
  // Small errors (the usual case) are measured once and kept whole.
  const small = (rec.message?.length ?? 0) + (rec.stack?.length ?? 0) < limit / 8;
  if (small && jsonBytes(out) <= limit) return out;
  if (out.details !== undefined) {
    out.details = '[details dropped: over the size limit]';
    if (jsonBytes(out) <= limit) return out;
  }
  // Share the room (message first, then stack); JSON escaping may still overflow: halve and re-measure.
  let budget = Math.floor(limit / 2);
  for (let i = 0; i < 8; i++) {
    out.message = safe(rec.message, budget);
    if (rec.stack !== undefined) out.stack = safe(rec.stack, Math.floor(budget / 2));
    if (jsonBytes(out) <= limit) return out;
    budget = Math.floor(budget / 2);
  }
  delete out.stack;
  out.message = safe(rec.message, MIN_ERROR_BYTES / 4);
  return out;
}

/** JSON of a recorded error within `limitBytes`. */
export function encodeRecordedError(rec: RecordedError, limitBytes: number): string {
  return JSON.stringify(boundRecordedError(rec, limitBytes));
}

/** Store-side safety net: an error record's JSON over `limitBytes` is re-encoded within it. */
export function boundErrorJson(text: string | null, limitBytes = ERROR_HARD_LIMIT_BYTES): string | null {
  if (text === null || text.length * 3 <= limitBytes || Buffer.byteLength(text, 'utf8') <= limitBytes) return text;
  let rec: RecordedError;
  try {
    const parsed = JSON.parse(text) as unknown;
    rec = parsed && typeof parsed === 'object' && 'message' in parsed ? (parsed as RecordedError) : { name: 'Error', message: text };
  } catch {
    rec = { name: 'Error', message: text };
  }
  return encodeRecordedError(rec, limitBytes);
}

function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v), 'utf8');
}

/** A log-safe view of any thrown value: name, code, errno, message and stack, each cut. */
export function logSafeError(err: unknown): unknown {
  if (err === null || typeof err !== 'object') return typeof err === 'string' ? truncateUtf8(err, LOG_FIELD_MAX_BYTES) : err;
  const e = err as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown; errno?: unknown; sqlState?: unknown };
  const cut = (v: unknown) => (typeof v === 'string' ? truncateUtf8(v, LOG_FIELD_MAX_BYTES) : undefined);
  return {
    type: cut((err as object).constructor?.name),
    name: cut(e.name),
    code: typeof e.code === 'string' || typeof e.code === 'number' ? e.code : undefined,
    errno: typeof e.errno === 'number' ? e.errno : undefined,
    message: cut(e.message),
    stack: cut(e.stack),
  };
}

/** pino serializers that bound the error and payload fields leaseflow logs. */
export const boundedLogSerializers = {
  err: logSafeError,
  error: logSafeError,
};
