/**
 * AES-256-GCM payload encryption (node:crypto) with key rotation: every payload records the id of
 * the key that encrypted it; new payloads use `currentKeyId`, and every key still listed can read
 * what it wrote. Rotate by adding a key and making it current; drop an old key only when no stored
 * payload uses it. Layout of the encoded bytes: 12-byte random IV, 16-byte auth tag, ciphertext;
 * the key id is authenticated as associated data, so a payload cannot be relabelled.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ValidationError } from '../errors';
import { TOKEN, type PayloadCodec } from './types';

export const AES_GCM_CODEC_ID = 'aes-256-gcm';

/** Options of `aesGcmCodec`. */
export interface AesGcmCodecOptions {
  /** Key id → 32-byte key (a Buffer, or its base64 / 64-hex-digit text). */
  keys: Record<string, Buffer | string>;
  /** Id of the key new payloads are encrypted with. Omit for a read-only (decode-only) codec. */
  currentKeyId?: string;
}

/** Parse a key given as a Buffer, 64 hex digits or base64 of 32 bytes. */
export function parseAesKey(key: Buffer | string, keyId: string): Buffer {
  let buf: Buffer | undefined;
  if (Buffer.isBuffer(key)) buf = key;
  else if (typeof key === 'string') buf = /^[0-9a-fA-F]{64}$/.test(key) ? Buffer.from(key, 'hex') : Buffer.from(key, 'base64');
  if (!buf || buf.length !== 32) throw new ValidationError(`AES-256-GCM key "${keyId}" must be 32 bytes (a Buffer, 64 hex digits or base64)`, 'keys');
  return buf;
}

/** The built-in AES-256-GCM codec. */
export function aesGcmCodec(options: AesGcmCodecOptions): PayloadCodec {
  if (!options || typeof options.keys !== 'object' || options.keys === null) throw new ValidationError('aesGcmCodec needs { keys: { id: key } }', 'keys');
  const keys = new Map<string, Buffer>();
  for (const [id, key] of Object.entries(options.keys)) {
    if (!TOKEN.test(id)) throw new ValidationError(`AES key id "${id}" must be 1–64 letters, digits, ".", "_" or "-"`, 'keys');
    keys.set(id, parseAesKey(key, id));
  }
  const current = options.currentKeyId;
  if (current !== undefined && !keys.has(current)) throw new ValidationError(`currentKeyId "${current}" is not one of the keys`, 'currentKeyId');
  return {
    id: AES_GCM_CODEC_ID,
    encode(data) {
      if (current === undefined) throw new ValidationError('this AES-256-GCM codec has no currentKeyId: it can only decode', 'currentKeyId');
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', keys.get(current) as Buffer, iv);
      cipher.setAAD(Buffer.from(current, 'utf8'));
      const body = Buffer.concat([cipher.update(data), cipher.final()]);
      return { data: Buffer.concat([iv, cipher.getAuthTag(), body]), tag: current };
    },
    decode(data, tag) {
      const key = tag === undefined ? undefined : keys.get(tag);
      if (!key) throw new Error(`no key "${tag ?? '?'}"`);
      if (data.length < 28) throw new Error('encrypted payload is truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      decipher.setAAD(Buffer.from(tag as string, 'utf8'));
      decipher.setAuthTag(data.subarray(12, 28));
      return Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]);
    },
    describe: (tag) => `encrypted (key ${tag ?? '?'})`,
    canDecode: (tag) => tag !== undefined && keys.has(tag),
  };
}
