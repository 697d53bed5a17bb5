/**
 * The payload door: the one place a stored payload is encoded (JSON, then the codec chain, then
 * the size limit — measured on what is stored) and decoded. Every Database has one
 * (`openDatabase(url, { codecs })`); runners, clients, handles, the inspector, schedules and
 * replay all go through it. Without codecs a payload is its JSON text, as before.
 *
 * Stored form of an encoded payload: `~lf1 <stage>… <base64>`, one stage per applied codec in
 * the order applied, `id` or `id/tag`. JSON text never starts with `~`, so plain rows (written
 * before codecs were configured, or by a stage that declined) stay readable and need no marker.
 */
import { encodeRecordedError, ERROR_HARD_LIMIT_BYTES } from '../error-size';
import { PayloadCodecError, SerializationError, ValidationError, type RecordedError } from '../errors';
import { encodeValue } from '../serialization';
import { TOKEN, UndecodablePayload, type PayloadCodec } from './types';

const MARK = '~lf1 ';

export class PayloadDoor {
  readonly #codecs: readonly PayloadCodec[];
  readonly #byId: Map<string, PayloadCodec>;

  constructor(codecs: readonly PayloadCodec[] = []) {
    if (!Array.isArray(codecs)) throw new ValidationError('codecs must be an array of payload codecs', 'codecs');
    this.#byId = new Map();
    for (const c of codecs) {
      if (!c || typeof c.encode !== 'function' || typeof c.decode !== 'function' || typeof c.id !== 'string' || !TOKEN.test(c.id) || c.id.length > 32) {
        throw new ValidationError('each codec needs an id (1–32 letters, digits, ".", "_", "-") and encode/decode functions', 'codecs');
      }
      if (this.#byId.has(c.id)) throw new ValidationError(`codec "${c.id}" appears twice in the chain`, 'codecs');
      this.#byId.set(c.id, c);
    }
    this.#codecs = [...codecs];
  }

  /** True when a chain is configured. */
  get active(): boolean {
    return this.#codecs.length > 0;
  }

  /** JSON-encode `value` (SerializationError on what JSON cannot hold), run the chain, check the stored size. */
  async encodeValue(value: unknown, what: string, limitBytes: number): Promise<string | null> {
    if (!this.active) return encodeValue(value, what, limitBytes);
    return this.encodeJson(encodeValue(value, what, Number.POSITIVE_INFINITY), what, limitBytes);
  }

  /** Run the chain over JSON text already made; the stored size must be within `limitBytes`. */
  async encodeJson(json: string | null, what: string, limitBytes: number): Promise<string | null> {
    if (json === null || !this.active) return checkSize(json, what, limitBytes, null);
    let data: Buffer = Buffer.from(json, 'utf8');
    const stages: string[] = [];
    for (const c of this.#codecs) {
      let out: Awaited<ReturnType<PayloadCodec['encode']>>;
      try {
        out = await c.encode(data);
      } catch (err) {
        if (err instanceof ValidationError) throw err;
        throw new PayloadCodecError(`codec "${c.id}" failed to encode ${what}: ${(err as Error)?.message ?? String(err)}`, c.id, null, { cause: err });
      }
      if (out === null) continue;
      if (out.tag !== undefined && !TOKEN.test(out.tag)) throw new PayloadCodecError(`codec "${c.id}" returned an invalid tag`, c.id);
      stages.push(out.tag === undefined ? c.id : `${c.id}/${out.tag}`);
      data = out.data;
    }
    const stored = stages.length ? `${MARK}${stages.join(' ')} ${data.toString('base64')}` : json;
    return checkSize(stored, what, limitBytes, Buffer.byteLength(json, 'utf8'));
  }

  /** An error record, cut so that its encoded form fits `limitBytes`. */
  async encodeError(rec: RecordedError, limit: number): Promise<string> {
    if (!this.active) return encodeRecordedError(rec, limit);
    // The store's safety net re-cuts error JSON over ERROR_HARD_LIMIT_BYTES; encoded text must never reach it.
    const limitBytes = Math.min(limit, ERROR_HARD_LIMIT_BYTES);
    // Encoding grows a payload (base64: 4/3, plus IV/tag/header); start from a budget that fits.
    for (let budget = Math.floor(limitBytes * 0.7) - 128; ; budget = Math.floor(budget / 2)) {
      const stored = await this.encodeJson(encodeRecordedError(rec, budget), 'error', Number.POSITIVE_INFINITY);
      if (stored === null || Buffer.byteLength(stored, 'utf8') <= limitBytes || budget < 1024) return stored as string;
    }
  }

  /** Stored text → JSON text (plain rows pass through). PayloadCodecError when it cannot. */
  async decodeJson(stored: string | null | undefined): Promise<string | null> {
    if (stored === null || stored === undefined) return null;
    if (!stored.startsWith(MARK)) return stored;
    const { stages, body } = parse(stored);
    let data: Buffer = Buffer.from(body, 'base64');
    for (let i = stages.length - 1; i >= 0; i--) {
      const { id, tag } = stages[i];
      const codec = this.#byId.get(id);
      if (!codec) {
        throw new PayloadCodecError(`the payload was encoded by codec "${id}"${tag ? ` (${tag})` : ''}, which is not in this process's codec chain`, id, tag ?? null);
      }
      if (codec.canDecode && !codec.canDecode(tag)) {
        throw new PayloadCodecError(`the payload is ${codec.describe?.(tag) ?? `encoded by "${id}"`}; this process does not have that key`, id, tag ?? null);
      }
      try {
        data = Buffer.from(await codec.decode(data, tag));
      } catch (err) {
        throw new PayloadCodecError(`codec "${id}" could not decode the payload${tag ? ` (${tag})` : ''}: ${(err as Error)?.message ?? String(err)}`, id, tag ?? null, { cause: err });
      }
    }
    return data.toString('utf8');
  }

  /** Stored text → value (SQL NULL → undefined). PayloadCodecError when it cannot. */
  async decodeValue<T = unknown>(stored: string | null | undefined): Promise<T> {
    const json = await this.decodeJson(stored);
    return (json === null ? undefined : JSON.parse(json)) as T;
  }

  /** For display (describe, history, CLI, dashboard): the value, or an UndecodablePayload that says why. Never throws. */
  async decodeForDisplay(stored: string | null | undefined): Promise<unknown> {
    try {
      return await this.decodeValue(stored);
    } catch (err) {
      return this.undecodable(stored as string, err);
    }
  }

  #describe(stored: string): UndecodablePayload {
    let stages: { id: string; tag?: string }[] = [];
    try { stages = parse(stored).stages; } catch { /* malformed: generic text below */ }
    for (let i = stages.length - 1; i >= 0; i--) {
      const { id, tag } = stages[i];
      const codec = this.#byId.get(id);
      if (codec && (!codec.canDecode || codec.canDecode(tag))) continue;
      if (id === 'aes-256-gcm' || codec?.describe) {
        return new UndecodablePayload(codec?.describe?.(tag) ?? `encrypted (key ${tag ?? '?'})`, id, tag ?? null);
      }
      return new UndecodablePayload(`encoded (codec ${id}${tag ? ` ${tag}` : ''})`, id, tag ?? null);
    }
    return new UndecodablePayload('undecodable payload', stages[0]?.id ?? null, stages[0]?.tag ?? null);
  }

  /** The display placeholder for `stored` after a failed decode. */
  undecodable(stored: string, err?: unknown): UndecodablePayload {
    const d = this.#describe(stored);
    if (d.description === 'undecodable payload' && err instanceof Error) return new UndecodablePayload(`undecodable payload (${err.message})`, d.codecId, d.keyId);
    return d;
  }
}

function parse(stored: string): { stages: { id: string; tag?: string }[]; body: string } {
  const parts = stored.slice(MARK.length).split(' ');
  const body = parts.pop() ?? '';
  const stages = parts.map((p) => {
    const slash = p.indexOf('/');
    return slash < 0 ? { id: p } : { id: p.slice(0, slash), tag: p.slice(slash + 1) };
  });
  if (stages.length === 0) throw new PayloadCodecError('malformed encoded payload (no codec stage)', null);
  return { stages, body };
}

function checkSize(stored: string | null, what: string, limitBytes: number, plainBytes: number | null): string | null {
  if (stored === null || stored.length * 3 <= limitBytes) return stored;
  const bytes = Buffer.byteLength(stored, 'utf8');
  if (bytes <= limitBytes) return stored;
  if (plainBytes === null) throw new SerializationError(`${what} is ${bytes} bytes, over the limit of ${limitBytes} bytes`);
  throw new SerializationError(`${what} is ${bytes} bytes after encoding by the codec chain (${plainBytes} bytes of JSON before), over the limit of ${limitBytes} bytes; the limit applies to the stored, encoded size`);
}

/** The door of a store without codecs (plain JSON). */
export const PLAIN_DOOR = new PayloadDoor();
