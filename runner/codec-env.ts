/**
 * The payload codec chain of a leaseflow process, from its environment (runner processes, the
 * CLI and the dashboard it starts):
 *   LEASEFLOW_PAYLOAD_KEYS        `k1=<key>,k2=<key>` (each key 32 bytes: base64 or 64 hex digits)
 *   LEASEFLOW_PAYLOAD_KEY_ID      the key new payloads are encrypted with (default: the last listed)
 *   LEASEFLOW_PAYLOAD_COMPRESSION `1` compresses payloads (before encryption)
 * Without keys nothing is encrypted, and encrypted payloads show as "encrypted (key k2)".
 */
import { aesGcmCodec, compressionCodec, ValidationError, type PayloadCodec } from '../engine';

/** The codec chain the environment asks for (empty: plain JSON). ValidationError for a malformed setting. */
export function codecsFromEnv(env: NodeJS.ProcessEnv): PayloadCodec[] {
  const codecs: PayloadCodec[] = [];
  const compression = env.LEASEFLOW_PAYLOAD_COMPRESSION;
  if (compression !== undefined && compression !== '' && compression !== '0') {
    if (compression !== '1') throw new ValidationError('LEASEFLOW_PAYLOAD_COMPRESSION must be 0 or 1', 'LEASEFLOW_PAYLOAD_COMPRESSION');
    codecs.push(compressionCodec());
  }
  const list = env.LEASEFLOW_PAYLOAD_KEYS?.trim();
  if (list) {
    const keys: Record<string, string> = {};
    for (const item of list.split(',').map((s) => s.trim()).filter(Boolean)) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new ValidationError('LEASEFLOW_PAYLOAD_KEYS must look like k1=<base64>,k2=<base64>', 'LEASEFLOW_PAYLOAD_KEYS');
      keys[item.slice(0, eq)] = item.slice(eq + 1);
    }
    const ids = Object.keys(keys);
    codecs.push(aesGcmCodec({ keys, currentKeyId: env.LEASEFLOW_PAYLOAD_KEY_ID || ids[ids.length - 1] }));
  } else if (env.LEASEFLOW_PAYLOAD_KEY_ID) {
    throw new ValidationError('LEASEFLOW_PAYLOAD_KEY_ID is set but LEASEFLOW_PAYLOAD_KEYS is empty', 'LEASEFLOW_PAYLOAD_KEY_ID');
  }
  return codecs;
}
