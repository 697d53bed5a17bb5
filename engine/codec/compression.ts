/**
 * Optional compression (node:zlib, raw DEFLATE) as a codec stage. Put it before encryption in the
 * chain (ciphertext does not compress). Payloads under `minBytes`, or that do not shrink, are
 * stored uncompressed (the stage is not recorded for them).
 */
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import { ValidationError } from '../errors';
import type { PayloadCodec } from './types';

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

export const DEFLATE_CODEC_ID = 'deflate';
/** A stored payload never inflates past this (a corrupt or hostile row cannot exhaust memory). */
const MAX_INFLATED_BYTES = 256 * 1024 * 1024;

/** Options of `compressionCodec`. */
export interface CompressionCodecOptions {
  /** Smallest payload (bytes) worth compressing. @default 256 */
  minBytes?: number;
  /** zlib level 1–9. @default 6 */
  level?: number;
}

/** The built-in compression codec. */
export function compressionCodec(options: CompressionCodecOptions = {}): PayloadCodec {
  const minBytes = options.minBytes ?? 256;
  const level = options.level ?? 6;
  if (!Number.isInteger(minBytes) || minBytes < 0) throw new ValidationError('compressionCodec minBytes must be a non-negative integer', 'minBytes');
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new ValidationError('compressionCodec level must be an integer 1–9', 'level');
  return {
    id: DEFLATE_CODEC_ID,
    async encode(data) {
      if (data.length < minBytes) return null;
      const out = await deflate(data, { level });
      return out.length < data.length ? { data: out } : null;
    },
    decode: (data) => inflate(data, { maxOutputLength: MAX_INFLATED_BYTES }),
    describe: () => 'compressed',
  };
}
