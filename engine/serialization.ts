/**
 * JSON-safe encoding of inputs, outputs, step results and signal payloads, with a size limit.
 * `undefined` is stored as SQL NULL and `null` as "null", so both round-trip exactly. Dates become
 * ISO strings (as JSON.stringify does); values JSON cannot represent faithfully (functions,
 * symbols, bigints, NaN/Infinity, Map/Set, cycles — also when a toJSON() returns them) are rejected with a SerializationError
 * that names the path, before anything is written.
 */
import { SerializationError } from './errors';

/** Default limit for one stored value (input, output, step result, signal payload). */
export const DEFAULT_PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;

/** Encode for storage: `undefined` → null (SQL NULL), anything else → JSON text. */
export function encodeValue(value: unknown, what: string, limitBytes = DEFAULT_PAYLOAD_LIMIT_BYTES): string | null {
  if (value === undefined) return null;
  try {
    check(value, '$', new Set());
  } catch (err) {
    if (err instanceof SerializationError) throw new SerializationError(`${what} is not JSON-serializable: ${err.message}`, err.path);
    throw err;
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new SerializationError(`${what} is not JSON-serializable: ${(err as Error).message}`);
  }
  // A top-level toJSON() that returns undefined (or a function): JSON has no text for it.
  if (typeof text !== 'string') throw new SerializationError(`${what} is not JSON-serializable: its toJSON() returned nothing JSON can represent`, '$');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limitBytes) throw new SerializationError(`${what} is ${bytes} bytes, over the limit of ${limitBytes} bytes`);
  return text;
}

/** Decode a stored value: SQL NULL → undefined. */
export function decodeValue<T = unknown>(text: unknown): T {
  if (text === null || text === undefined) return undefined as T;
  return JSON.parse(String(text)) as T;
}

function check(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new SerializationError(`${path} is ${value}, which JSON cannot represent`, path);
      return;
    case 'undefined':
      return; // dropped inside objects (JSON semantics), null inside arrays
    case 'bigint':
      throw new SerializationError(`${path} is a bigint, which JSON cannot represent (convert it to a string)`, path);
    case 'function':
    case 'symbol':
      throw new SerializationError(`${path} is a ${typeof value}, which JSON cannot represent`, path);
  }
  if (value === null) return;
  const obj = value as object;
  if (obj instanceof Date) {
    if (Number.isNaN(obj.getTime())) throw new SerializationError(`${path} is an invalid Date`, path);
    return; // documented: stored as its ISO string
  }
  if (obj instanceof Map || obj instanceof Set || obj instanceof WeakMap || obj instanceof WeakSet || obj instanceof Promise) {
    throw new SerializationError(`${path} is a ${obj.constructor.name}, which JSON would silently turn into {} (convert it first)`, path);
  }
  if (seen.has(obj)) throw new SerializationError(`${path} contains a circular reference`, path);
  seen.add(obj);
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    // Check what JSON.stringify will really write: NaN from toJSON must not silently become null.
    let replaced: unknown;
    try {
      replaced = (toJSON as (key: string) => unknown).call(obj, path.slice(path.lastIndexOf('.') + 1));
    } catch (err) {
      throw new SerializationError(`${path}.toJSON() threw: ${(err as Error)?.message ?? String(err)}`, path);
    }
    if (replaced !== obj) check(replaced, `${path}.toJSON()`, seen);
    seen.delete(obj);
    return;
  }
  if (Array.isArray(obj)) obj.forEach((v, i) => check(v, `${path}[${i}]`, seen));
  else for (const [k, v] of Object.entries(obj)) check(v, `${path}.${k}`, seen);
  seen.delete(obj);
}
