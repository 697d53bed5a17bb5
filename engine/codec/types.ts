/**
 * Payload codecs: byte transforms applied to every stored payload (inputs, outputs, step results,
 * signal payloads, errors, custom status) after JSON encoding and undone on read. A chain runs in
 * order on write and in reverse on read; each stage may record a short tag with the payload (the
 * AES codec stores its key id there) and may decline (return null: the stage is not recorded).
 */

/** One stage of the chain. Both methods may be async. */
export interface PayloadCodec {
  /** Stable id stored with each payload it encoded: letters, digits, `.`, `_`, `-` (1–32). */
  readonly id: string;
  /** Encode; `tag` (same alphabet, ≤ 64) is stored with the payload and handed back to `decode`. Null: not applied. */
  encode(data: Buffer): Promise<{ data: Buffer; tag?: string } | null> | { data: Buffer; tag?: string } | null;
  /** Undo `encode`. Throw (any error) when it cannot: the door turns it into a PayloadCodecError. */
  decode(data: Buffer, tag: string | undefined): Promise<Buffer> | Buffer;
  /** For display without the means to decode: e.g. "encrypted (key k2)". */
  describe?(tag: string | undefined): string;
  /** True when `decode` would fail for want of a key or setting this process lacks (display only). */
  canDecode?(tag: string | undefined): boolean;
}

/** What `describe()` / `history()` show for a payload this process cannot decode (the CLI and dashboard print it). */
export class UndecodablePayload {
  constructor(readonly description: string, readonly codecId: string | null, readonly keyId: string | null) {}
  toJSON(): string {
    return this.description;
  }
  toString(): string {
    return this.description;
  }
}

export const TOKEN = /^[A-Za-z0-9._-]{1,64}$/;
